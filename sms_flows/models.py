"""Pending text conversations: a PAY, AUTOPAY or AUTOPAY OFF request waiting for a YES.

A phone number has at most one pending conversation (a partial unique index), so a new
request replaces the old one and YES always answers the latest question. A conversation
moves forward only::

    pending ──YES──▶ confirmed ──task──▶ completed | failed     (PAY)
    pending ──YES──▶ completed                                  (AUTOPAY, AUTOPAY OFF)
    pending ──NO, STOP, a newer request──▶ canceled
    pending ──YES too late──▶ expired

The amount the customer confirmed is stored, so the charge is exactly what the text named.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class ConversationKind(enum.StrEnum):
    PAY = "pay"
    AUTOPAY = "autopay"
    AUTOPAY_OFF = "autopay_off"


class ConversationStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class SmsConversation(Base):
    """A question we texted a customer ("Reply YES to pay …") and what became of it."""

    __tablename__ = "sms_conversations"
    __table_args__ = (
        Index(
            "uq_sms_conversations_pending_phone",
            "phone",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[ConversationKind] = mapped_column(str_enum(ConversationKind))
    status: Mapped[ConversationStatus] = mapped_column(str_enum(ConversationStatus))
    #: The language of the question, so the answer and the result read the same way.
    language: Mapped[str] = mapped_column(String(5))
    #: PAY only: the amount the question named.
    amount: Mapped[Decimal | None] = mapped_column(Money())
    #: PAY and AUTOPAY: the card the question named. AUTOPAY OFF names no card.
    saved_card_id: Mapped[int | None] = mapped_column(ForeignKey("saved_cards.id"))
    #: The text that asked the question (PAY, AUTOPAY, or a late YES that asked again).
    message_sid: Mapped[str] = mapped_column(String(40), unique=True)
    #: The YES that confirmed it; the payment's idempotency key is made from it.
    answer_sid: Mapped[str | None] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    #: Why a confirmed payment failed (an error code), for staff.
    failure: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
