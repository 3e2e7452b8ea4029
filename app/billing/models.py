"""Billing cycles, bill runs, bills and their lines.

A bill is final once issued: its total is the sum of its rounded lines and its journal
entry posts the same amount to the account's receivable. A bill run is unique per
cycle and period, and a bill unique per run and account, so a run repeated or resumed
after a crash never bills an account twice.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Money, Quantity, UTCDateTime, str_enum, utcnow


class BillingCycle(Base):
    __tablename__ = "billing_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class BillRunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"


class BillRun(Base):
    __tablename__ = "bill_runs"
    __table_args__ = (UniqueConstraint("cycle_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("billing_cycles.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[BillRunStatus] = mapped_column(
        str_enum(BillRunStatus), default=BillRunStatus.RUNNING
    )
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(80))

    cycle: Mapped[BillingCycle] = relationship()


class BillRunException(Base):
    """An account the run could not bill, with the reason; refreshed on every attempt."""

    __tablename__ = "bill_run_exceptions"
    __table_args__ = (UniqueConstraint("bill_run_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_run_id: Mapped[int] = mapped_column(ForeignKey("bill_runs.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    service_agreement_id: Mapped[int | None] = mapped_column(ForeignKey("service_agreements.id"))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("bill_run_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    bill_run_id: Mapped[int] = mapped_column(ForeignKey("bill_runs.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    bill_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Money())
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[BillLine]] = relationship(order_by="BillLine.line_number")
    segments: Mapped[list[BillMeterSegment]] = relationship(order_by="BillMeterSegment.id")


class BillLine(Base):
    __tablename__ = "bill_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    service_agreement_id: Mapped[int] = mapped_column(ForeignKey("service_agreements.id"))
    service: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())
    unit: Mapped[str | None] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Money())
    detail: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class BillMeterSegment(Base):
    """The reads a bill used for one register: two segments when a meter was changed."""

    __tablename__ = "bill_meter_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    #: Indexed because each bill run looks up the agreements' previous segments (true-up).
    service_agreement_id: Mapped[int] = mapped_column(
        ForeignKey("service_agreements.id"), index=True
    )
    meter_serial: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date] = mapped_column(Date)
    start_value: Mapped[Decimal | None] = mapped_column(Quantity())
    end_date: Mapped[dt.date] = mapped_column(Date)
    end_value: Mapped[Decimal | None] = mapped_column(Quantity())
    consumption: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(10))
    #: Read type (``ReadType`` value) of the start and end reads; NULL for interval data.
    #: An estimated start read with an actual end read marks a bill that trues up an estimate.
    start_read_type: Mapped[str | None] = mapped_column(String(20))
    end_read_type: Mapped[str | None] = mapped_column(String(20))
