"""Payments, their status history, and the notices they owe the customer.

A payment is money from one door (channel) for one account. Its journal entry is posted
once, when the money is taken. A later return, dispute or refund never edits the payment:
it adds a status change and a reversing or refund entry. Each payment is unique by the
caller's idempotency key and by its provider reference (a Stripe PaymentIntent, an ACH
trace number, a lockbox file line), so no door can post the same money twice.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class PaymentChannel(enum.StrEnum):
    WEB = "web"
    IVR = "ivr"
    SMS = "sms"
    AUTOPAY_CARD = "autopay_card"
    BANK_DRAFT = "bank_draft"
    LOCKBOX = "lockbox"
    COUNTER = "counter"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    BANK_ACCOUNT = "bank_account"
    CASH = "cash"
    CHECK = "check"
    CARD_PRESENT = "card_present"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    RETURNED = "returned"
    DISPUTED = "disputed"


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "external_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    channel: Mapped[PaymentChannel] = mapped_column(str_enum(PaymentChannel))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus))
    #: stripe, ach, lockbox or counter; with ``external_ref`` it names the money outside us.
    provider: Mapped[str] = mapped_column(String(20))
    external_ref: Mapped[str | None] = mapped_column(String(80))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    #: The label shown to the customer, e.g. "Visa ending 4242" or "check 1180"; no full number.
    method_label: Mapped[str | None] = mapped_column(String(60))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    taken_by: Mapped[str] = mapped_column(String(80))
    journal_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), unique=True
    )
    reversal_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), unique=True
    )
    #: Part of the amount left as a credit on the account when it was posted.
    credit_on_account: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("bank_accounts.id"))
    drawer_session_id: Mapped[int | None] = mapped_column(ForeignKey("drawer_sessions.id"))
    #: Cash handed over at the counter; the change given back is this less the amount.
    tendered: Mapped[Decimal | None] = mapped_column(Money())
    #: The returned draft this payment presents again (NACHA allows one, for R01 and R09).
    represents_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    history: Mapped[list[PaymentStatusChange]] = relationship(
        order_by="PaymentStatusChange.id", back_populates="payment"
    )


class PaymentStatusChange(Base):
    """One step of a payment's life.

    The steps are kept, so a returned draft shows ``succeeded → returned (R01)``.
    """

    __tablename__ = "payment_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    from_status: Mapped[PaymentStatus | None] = mapped_column(str_enum(PaymentStatus))
    to_status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus))
    reason: Mapped[str | None] = mapped_column(String(200))
    #: What caused it: a webhook event id, a bank file line, a staff action.
    source: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="history")


class NoticeKind(enum.StrEnum):
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_RETURNED = "payment_returned"
    PAYMENT_REFUNDED = "payment_refunded"
    PAYMENT_DISPUTED = "payment_disputed"
    AUTOPAY_SUSPENDED = "autopay_suspended"
    BANK_DETAILS_CHANGED = "bank_details_changed"


class PaymentNotice(Base):
    """A message owed to the customer, written in the posting's transaction.

    This is the outbox the messaging work delivers from (SMS, e-mail, letter). The key
    makes a retried posting queue one notice, not two.
    """

    __tablename__ = "payment_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, 30))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivery_note: Mapped[str | None] = mapped_column(Text)


class Refund(Base):
    """Money paid back on a payment; all of a payment's refunds never exceed its amount."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    #: The provider's refund id (Stripe ``re_…``), or our own key for a cash refund.
    refund_ref: Mapped[str] = mapped_column(String(80), unique=True)
    #: The caller's key for a refund we started; None for one Stripe reported first.
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str | None] = mapped_column(String(200))
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
