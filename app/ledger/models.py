"""The general ledger: a chart of accounts, journal entries and their postings.

Invariants: the postings of an entry sum to zero (debits positive, credits negative).
Entries and postings are never updated or deleted, because database triggers reject it.
A correction is a new entry that reverses the old one, and an entry is reversed at most
once (a unique ``reverses_id``). A customer account's balance is the sum of its
receivable postings.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class LedgerAccountKind(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    EXPENSE = "expense"
    EQUITY = "equity"


class EntryKind(enum.StrEnum):
    BILL = "bill"
    PAYMENT = "payment"
    ADJUSTMENT = "adjustment"
    FEE = "fee"
    DEPOSIT = "deposit"
    REFUND = "refund"
    RETURN = "return"
    WRITE_OFF = "write_off"
    REVERSAL = "reversal"
    #: A closed work order's labor, materials and equipment; it names no customer account.
    JOB_COST = "job_cost"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[LedgerAccountKind] = mapped_column(str_enum(LedgerAccountKind))


class JournalEntry(Base):
    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    memo: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(80))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    postings: Mapped[list[Posting]] = relationship(order_by="Posting.id")


class Posting(Base):
    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    ledger_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())

    ledger_account: Mapped[LedgerAccount] = relationship()
