"""An inbound customer text, and the account request it becomes once the sender is known."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.models import Account
from app.messaging.consent import masked_phone
from sms_flows.keywords import Keyword


@dataclass(frozen=True)
class Text:
    """One text as Twilio delivered it (already verified and claimed once)."""

    message_sid: str
    #: The customer's number (E.164).
    sender: str
    #: Our number the customer texted; it decides the consent program.
    to_number: str
    body: str

    @property
    def actor(self) -> str:
        """The audit actor for this sender, with the number masked to its last 4 digits."""
        return f"sms:{masked_phone(self.sender)}"


@dataclass(frozen=True)
class Request:
    """A keyword from a verified number about one of its accounts."""

    text: Text
    keyword: Keyword
    #: The reply language: the keyword's own, else the customer's.
    language: str
    account: Account

    @property
    def last4(self) -> str:
        return self.account.number[-4:]
