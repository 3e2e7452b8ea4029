"""Files from the bank (lockbox, BAI2, CSV, ACH returns) and the suspense queue.

A file is stored whole before it is parsed and is unique by its SHA-256, so the same
file imported twice, even at the same moment, is processed once. A payment that matches
no account is still money in the bank: it is posted to the suspense ledger account and
waits in ``suspense_items`` until a clerk moves it to the right account.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class BankFileKind(enum.StrEnum):
    LOCKBOX = "lockbox"
    BAI2 = "bai2"
    CSV = "csv"
    ACH_RETURNS = "ach_returns"


class BankFile(Base):
    __tablename__ = "bank_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BankFileKind] = mapped_column(str_enum(BankFileKind))
    filename: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the file as received; the claim that makes a re-import do nothing.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The file sealed with the bank data key: bank files carry payers' account numbers.
    content: Mapped[bytes] = mapped_column(LargeBinary)
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    posted_count: Mapped[int] = mapped_column(Integer, default=0)
    suspense_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)


class BankFileError(Base):
    """A line that could not be used; nothing from it was posted."""

    __tablename__ = "bank_file_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_file_id: Mapped[int] = mapped_column(ForeignKey("bank_files.id"), index=True)
    line_number: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)


class SuspenseKind(enum.StrEnum):
    UNMATCHED_PAYMENT = "unmatched_payment"
    UNMATCHED_RETURN = "unmatched_return"
    UNMATCHED_CHANGE = "unmatched_change"


class SuspenseStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class SuspenseItem(Base):
    __tablename__ = "suspense_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SuspenseKind] = mapped_column(str_enum(SuspenseKind))
    status: Mapped[SuspenseStatus] = mapped_column(
        str_enum(SuspenseStatus), default=SuspenseStatus.OPEN, index=True
    )
    bank_file_id: Mapped[int | None] = mapped_column(ForeignKey("bank_files.id"))
    line_number: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    received_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    payer_name: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The suspense posting (cash in, suspense liability) for unmatched money.
    journal_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), unique=True
    )
    resolved_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
