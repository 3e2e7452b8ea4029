"""Modbus devices polled for meter reads, and the values they sent that were rejected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Quantity, UTCDateTime, utcnow


class ModbusDevice(Base):
    """A meter (or pulse counter) on Modbus TCP, and the meter register it feeds.

    For a counter map, ``last_raw`` is the counter value at the last stored poll and
    ``counter_total`` the unwrapped total in the register's unit, so a wrap at the
    counter's modulus never shows as negative consumption.
    """

    __tablename__ = "modbus_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=502)
    unit_id: Mapped[int] = mapped_column(Integer, default=1)
    #: Name of a map in ``metering/modbus/maps/``, such as ``eastron-sdm120``.
    register_map: Mapped[str] = mapped_column(String(60))
    #: ``metering.modbus.decode.ByteOrder``: ABCD, CDAB, BADC or DCBA, never guessed.
    byte_order: Mapped[str] = mapped_column(String(4))
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"), index=True)
    #: The map field that feeds the register; the map's primary field when None.
    field_name: Mapped[str | None] = mapped_column(String(60))
    #: Volume or energy per counted pulse, in the register's unit (counter maps only).
    per_pulse: Mapped[Decimal | None] = mapped_column(Quantity())
    enabled: Mapped[bool] = mapped_column(default=True)

    last_raw: Mapped[int | None] = mapped_column(BigInteger)
    #: When ``last_raw`` was read: the start of the next interval read.
    last_raw_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    counter_total: Mapped[Decimal | None] = mapped_column(Quantity())
    #: When the device last responded with values that were stored or kept for review.
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Set when ``consecutive_failures`` reaches the alert threshold, and cleared by a response.
    unreachable_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModbusRejectedValue(Base):
    """A polled value that failed a plausibility check, kept with its raw registers."""

    __tablename__ = "modbus_rejected_values"
    __table_args__ = (UniqueConstraint("device_id", "polled_at", "field_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("modbus_devices.id"), index=True)
    polled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    field_name: Mapped[str] = mapped_column(String(60))
    #: The registers as received, such as "0x8EBF 0x7B14".
    raw: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(default=False)
