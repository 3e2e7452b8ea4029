"""Autopay enrollments and each charge attempt made for a bill."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, str_enum, utcnow


class AutopayMethod(enum.StrEnum):
    CARD = "card"
    BANK_DRAFT = "bank_draft"


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"
    SUSPENDED = "suspended"


class AutopayEnrollment(Base):
    __tablename__ = "autopay_enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    method: Mapped[AutopayMethod] = mapped_column(str_enum(AutopayMethod))
    saved_card_id: Mapped[int | None] = mapped_column(ForeignKey("saved_cards.id"))
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("bank_accounts.id"))
    status: Mapped[EnrollmentStatus] = mapped_column(
        str_enum(EnrollmentStatus), default=EnrollmentStatus.ACTIVE
    )
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    enrolled_by: Mapped[str] = mapped_column(String(80))
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str | None] = mapped_column(String(200))


class AttemptStatus(enum.StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


class AutopayAttempt(Base):
    """One charge attempt for a bill; attempt n's key is ``autopay:{bill_id}:{n}``."""

    __tablename__ = "autopay_attempts"
    __table_args__ = (UniqueConstraint("bill_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("autopay_enrollments.id"))
    status: Mapped[AttemptStatus] = mapped_column(str_enum(AttemptStatus))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    decline_code: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(String(300))
    scheduled_on: Mapped[dt.date] = mapped_column(Date)
    next_attempt_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
