"""Bank accounts for drafts, and the NACHA files we originate.

Routing and account numbers are stored only encrypted (see ``drafts.vault``); the
columns ending in ``_last4`` are all that a page, log or message may show.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class BankAccountType(enum.StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"


class BankAccountStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REPLACED = "replaced"


class BankAccount(Base):
    __tablename__ = "bank_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(100))
    account_type: Mapped[BankAccountType] = mapped_column(str_enum(BankAccountType))
    #: Routing and account number sealed together in one Fernet token (see ``vault``).
    numbers_encrypted: Mapped[str] = mapped_column(Text)
    routing_last4: Mapped[str] = mapped_column(String(4))
    number_last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[BankAccountStatus] = mapped_column(
        str_enum(BankAccountStatus), default=BankAccountStatus.ACTIVE
    )
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    suspended_reason: Mapped[str | None] = mapped_column(String(200))
    #: When and how the customer authorized debits (a signed form, a recorded call).
    authorized_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    authorization_ref: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.account_type.value} account ending {self.number_last4}"


class DraftFile(Base):
    """One NACHA file of PPD debits we generated, kept byte for byte."""

    __tablename__ = "draft_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    file_id_modifier: Mapped[str] = mapped_column(String(1))
    #: SHA-256 of the file as sent to the bank.
    sha256: Mapped[str] = mapped_column(String(64))
    #: The file sealed with the bank data key, because it carries full account numbers.
    content: Mapped[bytes] = mapped_column(LargeBinary)
    entry_count: Mapped[int] = mapped_column(Integer)
    debit_total: Mapped[Decimal] = mapped_column(Money())
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
