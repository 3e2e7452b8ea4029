"""Phone calls to the IVR: each call's state, path and outcome, and requests for staff.

A ``Call`` row is the conversation state Twilio does not keep between webhooks: the
language, the account once the caller proved it is theirs, and what a payment step is
waiting for. Its ``path`` lists the steps in order, and its ``outcome`` feeds the
containment figures:

- ``self_served``: the caller finished a task with no staff (heard the balance, paid,
  reported a problem);
- ``transferred``: the call went to staff, by a ``<Dial>`` to the office or by a
  callback or payment arrangement request that staff must act on;
- ``abandoned``: the caller hung up before either, as the call status callback reports.

``transferred`` wins over ``self_served``, and ``abandoned`` is set only when nothing
else finished the call.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class CallOutcome(enum.StrEnum):
    SELF_SERVED = "self_served"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"


class CallRequestKind(enum.StrEnum):
    CALLBACK = "callback"
    ARRANGEMENT = "arrangement"


class Call(Base):
    """One inbound call, keyed by Twilio's ``CallSid``."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(40), unique=True)
    #: The caller's number masked to its last four digits, such as ``…0123``.
    caller: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: Set only once the caller proved the account is theirs.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: Requests handled so far; each TwiML document's URLs carry it, so a step visited
    #: twice in one call has two distinct event ids.
    turn: Mapped[int] = mapped_column(Integer, default=0)
    identify_failures: Mapped[int] = mapped_column(Integer, default=0)
    #: The account number the caller keyed or said, kept only until the ZIP code check.
    entered_number: Mapped[str | None] = mapped_column(String(20))
    #: The amount the caller heard and is about to confirm or pay by card.
    pending_amount: Mapped[Decimal | None] = mapped_column(Money())
    #: The idempotency key of the saved-card charge queued for this call.
    pending_payment_key: Mapped[str | None] = mapped_column(String(160))
    #: Why the queued saved-card charge failed before Stripe decided (an error code).
    pay_error: Mapped[str | None] = mapped_column(String(60))
    path: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[CallOutcome | None] = mapped_column(str_enum(CallOutcome), index=True)
    #: Twilio's last ``CallStatus`` from the status callback, such as ``completed``.
    status: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)


class CallRequest(Base):
    """A callback or payment arrangement a caller asked for; at most one of each per call."""

    __tablename__ = "call_requests"
    __table_args__ = (UniqueConstraint("call_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[CallRequestKind] = mapped_column(str_enum(CallRequestKind))
    #: The number to call back, as Twilio gave it (E.164, or ``anonymous``).
    phone: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    #: ``open`` until staff close it.
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
