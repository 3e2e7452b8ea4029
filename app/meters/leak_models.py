"""Leak, burst, meter-flag and high-usage episodes found on registers.

An episode is one finding of a rule from its first hour to its close. The pair
(register, kind, start) is unique, so a scan that finds the same run of flow again
updates the episode instead of adding one. ``alerted_at`` is set once, when the
customer and staff alerts are queued, so an open episode alerts once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Quantity, UTCDateTime, utcnow


class LeakEpisode(Base):
    """One episode of a leak, burst, meter flag or high usage on a register."""

    __tablename__ = "leak_episodes"
    __table_args__ = (
        UniqueConstraint("register_id", "kind", "started_at"),
        Index("ix_leak_episodes_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"), index=True)
    #: The account served through the register's meter when the episode started, if any.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    premise_id: Mapped[int | None] = mapped_column(ForeignKey("premises.id"))
    #: A ``metering.leaks.FindingKind`` value: leak, burst, meter_leak, backflow, ...
    kind: Mapped[str] = mapped_column(String(20))
    #: minor, major or critical; it only rises while the episode stays open.
    severity: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Use since ``started_at`` in ``unit`` (for high usage: the period's use).
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(10))
    alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
