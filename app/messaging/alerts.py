"""Alerts texted to an account's verified phones, in the customer's language.

Each alert is a template under ``templates/alerts/`` rendered with the account's values
and sent through ``queue_texts`` to every verified phone contact of the account. An
unverified contact is never texted, because no one has shown that the number belongs
to the account holder. The idempotency key is the caller's key (made of our ids) plus the
contact id, so repeating an alert queues nothing new.

The alert kinds of the billing work (bill ready, due reminder, payment results) live in
``app.messaging.bill_alerts`` and ``app.messaging.payment_alerts``. The hooks for other
work live here: ``usage_alert`` for leak and high-usage detection, ``outage_alert`` for
outages.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind, Customer
from app.bulk import matching
from app.i18n import BABEL_LOCALES, jinja_environment, normalize_language
from app.messaging.models import OutboundMessage, Program
from app.messaging.outbound import TextRequest, queue_texts
from app.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountPhones:
    """The language and verified phone contacts of one account."""

    account_id: int
    account_number: str
    language: str
    #: (contact id, phone number in E.164) of each verified phone contact.
    phones: list[tuple[int, str]]

    @property
    def last4(self) -> str:
        return self.account_number[-4:]


def account_phones(session: Session, account_ids: Sequence[int]) -> dict[int, AccountPhones]:
    """Return the verified phones and language of each account that has any."""
    ordered = sorted(set(account_ids))
    found: dict[int, AccountPhones] = {}
    for clause in matching(session, Account.id, ordered):
        rows = session.execute(
            select(Account.id, Account.number, Customer.language, Contact.id, Contact.value)
            .join(Customer, Customer.id == Account.customer_id)
            .join(Contact, Contact.account_id == Account.id)
            .where(clause, Contact.kind == ContactKind.PHONE, Contact.verified.is_(True))
            .order_by(Account.id, Contact.id)
        )
        for account_id, number, language, contact_id, phone in rows:
            entry = found.setdefault(
                account_id,
                AccountPhones(account_id, number, normalize_language(language), []),
            )
            entry.phones.append((contact_id, phone))
    return found


def render_alert(template: str, language: str, **values: Any) -> str:
    """Render ``templates/alerts/{template}.txt`` in ``language`` as one line of text.

    ``utility`` (the utility's name) and ``phone`` (the office number) are filled in
    unless given. Line breaks in the template only lay out its source.
    """
    settings = get_settings()
    values.setdefault("utility", settings.utility_name)
    values.setdefault("phone", display_phone(settings.office_phone))
    text = jinja_environment(language).get_template(f"alerts/{template}.txt").render(**values)
    # str.split() also splits at the no-break spaces Babel puts in times ("4:07\u202fPM").
    # They are outside GSM-7, and one would send the whole text as UCS-2.
    return " ".join(text.split())


def display_phone(phone: str) -> str:
    """Write a North American E.164 number as 512-555-0100; leave any other as it is."""
    if phone.startswith("+1") and len(phone) == 12 and phone[1:].isdigit():
        return f"{phone[2:5]}-{phone[5:8]}-{phone[8:]}"
    return phone


def format_quantity(quantity: Decimal, language: str) -> str:
    """Format a usage quantity as the language writes numbers, such as 12,500."""
    return format_decimal(quantity, locale=BABEL_LOCALES[normalize_language(language)])


def alert_requests(
    phones: AccountPhones,
    *,
    template: str,
    program: Program,
    key: str,
    urgent: bool = False,
    **values: Any,
) -> list[TextRequest]:
    """Build one text per verified phone of an account, keyed ``{key}:{contact id}``."""
    body = render_alert(template, phones.language, last4=phones.last4, **values)
    return [
        TextRequest(
            to_number=phone,
            program=program,
            kind=template,
            body=body,
            language=phones.language,
            idempotency_key=f"{key}:{contact_id}",
            account_id=phones.account_id,
            urgent=urgent,
        )
        for contact_id, phone in phones.phones
    ]


def text_account(
    session: Session,
    *,
    account_id: int,
    template: str,
    program: Program,
    key: str,
    urgent: bool = False,
    now: dt.datetime | None = None,
    **values: Any,
) -> list[OutboundMessage]:
    """Queue an alert to every verified phone of one account; return the messages.

    An account with no verified phone gets nothing, which the log records.
    """
    phones = _verified_phones(session, account_id, template)
    if phones is None:
        return []
    requests = alert_requests(
        phones, template=template, program=program, key=key, urgent=urgent, **values
    )
    return queue_texts(session, requests, now=now)


def _verified_phones(session: Session, account_id: int, template: str) -> AccountPhones | None:
    phones = account_phones(session, [account_id]).get(account_id)
    if phones is None:
        log.info("%s for account %s not texted: no verified phone", template, account_id)
    return phones


class UsageAlertKind(enum.StrEnum):
    """A metering finding: a possible leak (use that never stops) or use far above normal."""

    LEAK = "leak"
    HIGH_USAGE = "high_usage"


def usage_alert(
    session: Session,
    *,
    account_id: int,
    kind: UsageAlertKind,
    quantity: Decimal,
    unit: str,
    since: dt.date,
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> list[OutboundMessage]:
    """Text the account that metering found a possible leak or unusually high use.

    This is the hook for leak and high-usage detection. ``quantity`` in ``unit`` (such
    as ``gal``) is the use counted from the local date ``since``. The caller's
    ``idempotency_key`` names the finding from its own ids, such as
    ``leak:{register id}:{first interval}``, so a finding reported twice texts once.
    The text goes out on the alerts program and waits for the end of quiet hours.
    """
    phones = _verified_phones(session, account_id, kind.value)
    if phones is None:
        return []
    requests = alert_requests(
        phones,
        template=kind.value,
        program=Program.ALERTS,
        key=idempotency_key,
        quantity=format_quantity(quantity, phones.language),
        unit=unit,
        since=since,
    )
    return queue_texts(session, requests, now=now)


def outage_alert(
    session: Session,
    *,
    account_id: int,
    service: str,
    idempotency_key: str,
    restore_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[OutboundMessage]:
    """Text the account that an outage of ``service`` (water, sewer, electric, gas) hit it.

    Outage alerts are urgent by policy: they go out during quiet hours, because a
    customer needs to know about a main break or a power outage at night. No other
    alert is urgent. ``restore_at`` is the estimated restoration instant, if known.
    """
    zone = get_settings().zone
    return text_account(
        session,
        account_id=account_id,
        template="outage",
        program=Program.ALERTS,
        key=idempotency_key,
        urgent=True,
        now=now,
        service=service,
        restore_on=restore_at.astimezone(zone).date() if restore_at else None,
        restore_at=restore_at,
    )
