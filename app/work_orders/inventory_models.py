"""Parts in the storeroom and what a work order used: parts, labor and equipment.

Each use row keeps the rate or unit cost in force when it was recorded, so a later price
change does not alter the cost of a closed order. Each row has a unique ``entry_key``,
so a channel that retries a request records the use once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Money, Quantity, UTCDateTime, utcnow


class Part(Base):
    """A stocked part: a meter coupling, a gasket, a length of pipe."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The unit the quantities count: "each", "ft", "lb".
    unit: Mapped[str] = mapped_column(String(10))
    quantity_on_hand: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    #: Reorder when the quantity on hand falls to this level or below.
    reorder_point: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    unit_cost: Mapped[Decimal] = mapped_column(Money())
    active: Mapped[bool] = mapped_column(default=True)


class PartUse(Base):
    """Parts drawn from stock for a work order, at the unit cost of the day."""

    __tablename__ = "part_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(160), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    part: Mapped[Part] = relationship()


class LaborEntry(Base):
    """Hours a staff member worked on a work order, at their rates of the day."""

    __tablename__ = "labor_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(160), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    work_date: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Quantity())
    overtime_hours: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    hourly_rate: Mapped[Decimal] = mapped_column(Money())
    overtime_rate: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EquipmentEntry(Base):
    """Hours a piece of equipment (a backhoe, a vacuum truck) ran on a work order."""

    __tablename__ = "equipment_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(160), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(String(120))
    hours: Mapped[Decimal] = mapped_column(Quantity())
    hourly_rate: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
