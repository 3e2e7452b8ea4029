"""Meters, their registers, where they are installed, and the reads they give.

A register read is unique per register and instant (``read_key``: the UTC timestamp when
known, else the local read date), so importing the same reads twice stores them once.
Interval reads keep the true UTC start instant; a local day has 23, 24 or 25 hours.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Quantity, UTCDateTime, str_enum, utcnow


class ReadType(enum.StrEnum):
    ACTUAL = "actual"
    ESTIMATED = "estimated"
    CUSTOMER = "customer"
    FINAL = "final"
    #: Entered by staff in place of another read (``app.meters.editing.replace_read``).
    EDITED = "edited"


class ReadQuality(enum.StrEnum):
    GOOD = "good"
    SUSPECT = "suspect"


class ReadStatus(enum.StrEnum):
    """Validation (VEE) status of a register read.

    Only ``valid`` reads are billed or used as history. A row inserted without a status is
    ``valid`` (model and server default), so seeding, tests and rows stored before
    validation existed bill as before. Importers and the Modbus poller store ``pending``
    and call ``app.meters.after_store.reads_stored``, which validates them at once.
    """

    #: Stored by an importer or the poller and not validated yet.
    PENDING = "pending"
    VALID = "valid"
    #: Failed a validation rule, so it is not billed until staff accept, edit or reject it.
    HELD = "held"
    #: Superseded by an edited or trued-up read (``replaced_by_id``), kept for the audit trail.
    REPLACED = "replaced"
    #: Rejected by staff with no replacement, kept for the audit trail.
    REJECTED = "rejected"


class MeterStockStatus(enum.StrEnum):
    """Where a meter is in the storeroom's books; ``MeterInstallation`` records where it serves."""

    IN_STOCK = "in_stock"
    INSTALLED = "installed"
    #: Taken out of a premise and not yet tested, refurbished or retired.
    REMOVED = "removed"
    RETIRED = "retired"


class Meter(Base):
    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    service: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[str | None] = mapped_column(String(20))
    #: A new meter starts in stock; installing it through a work order marks it installed.
    stock_status: Mapped[MeterStockStatus] = mapped_column(
        str_enum(MeterStockStatus), default=MeterStockStatus.IN_STOCK
    )

    registers: Mapped[list[Register]] = relationship(back_populates="meter")


class Register(Base):
    """One dial set of a meter: its unit, multiplier and number of dials (rollover)."""

    __tablename__ = "registers"
    __table_args__ = (UniqueConstraint("meter_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    code: Mapped[str] = mapped_column(String(10), default="1")
    unit: Mapped[str] = mapped_column(String(10))
    multiplier: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(1))
    dials: Mapped[int | None] = mapped_column(Integer)
    interval: Mapped[bool] = mapped_column(default=False)

    meter: Mapped[Meter] = relationship(back_populates="registers")


class MeterInstallation(Base):
    """A meter serving a premise's service from ``installed_on`` until ``removed_on``."""

    __tablename__ = "meter_installations"

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    premise_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    service: Mapped[str] = mapped_column(String(20))
    installed_on: Mapped[dt.date] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)


class ReadImport(Base):
    """One imported file, known by its SHA-256 so a second import is recognised."""

    __tablename__ = "read_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(260))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_format: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)


class ReadImportError(Base):
    """A row that could not be stored, kept with its line and reason for review."""

    __tablename__ = "read_import_errors"
    __table_args__ = (UniqueConstraint("import_id", "line_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("read_imports.id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(default=False)


class Read(Base):
    __tablename__ = "reads"
    __table_args__ = (
        UniqueConstraint("register_id", "read_key"),
        Index("ix_reads_register_id_read_date", "register_id", "read_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    read_key: Mapped[str] = mapped_column(String(32))
    read_date: Mapped[dt.date] = mapped_column(Date)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    value: Mapped[Decimal] = mapped_column(Quantity())
    read_type: Mapped[ReadType] = mapped_column(str_enum(ReadType), default=ReadType.ACTUAL)
    quality: Mapped[ReadQuality] = mapped_column(str_enum(ReadQuality), default=ReadQuality.GOOD)
    source: Mapped[str] = mapped_column(String(40), default="manual")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("read_imports.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Validation status. The ``ReadStatus`` docstring explains why the default is ``valid``.
    status: Mapped[ReadStatus] = mapped_column(
        str_enum(ReadStatus),
        default=ReadStatus.VALID,
        server_default=ReadStatus.VALID.value,
        index=True,
    )
    #: The read that superseded this one when its status is ``replaced``.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("reads.id"))


class IntervalRead(Base):
    """One interval of a register: the quantity used from ``start_at`` for ``seconds``.

    ``register_id`` and ``import_id`` name a register and a read import, but they are not
    declared as foreign keys: triggers check them once per statement, because per-row
    foreign-key checks took most of the time of a bulk import (migration 0015).
    """

    __tablename__ = "interval_reads"

    register_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(Quantity())
    quality: Mapped[str | None] = mapped_column(String(20))
    import_id: Mapped[int | None] = mapped_column(Integer)
    #: ``metering.estimation.EstimateMethod`` of an estimated interval (quality "estimated").
    estimate_method: Mapped[str | None] = mapped_column(String(20))


def read_key(read_date: dt.date, read_at: dt.datetime | None) -> str:
    """Return the natural key of a register read within its register."""
    if read_at is not None:
        return read_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return read_date.isoformat()
