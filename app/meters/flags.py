"""Conditions a meter reports about itself: leak, burst, dry pipe, backflow.

Each row of ``meter_flags`` is one condition a meter reported at one instant. The
leak-detection service reads this table. Its columns:

- ``id``: primary key.
- ``meter_id``: the meter that reported the condition.
- ``register_id``: the register whose read came with the flag, or NULL when the flag
  is not tied to a register.
- ``flag``: ``leak``, ``burst``, ``dry`` or ``backflow``. The column takes any
  lower-case word of up to 40 characters, for conditions that other sources report.
- ``flagged_at``: the UTC instant of the telegram or read that carried the flag.
- ``source``: where the flag came from, such as ``wmbus``.
- ``import_id``: the ``read_imports`` row of the file that carried the flag, or NULL.

A flag is stored only while the meter reports it, so a telegram without a leak stores
no ``leak`` row. The pair (meter, flag, instant) is unique, so a telegram received twice
stores its flags once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

#: The conditions the wmbusmeters parser reports as booleans.
KNOWN_FLAGS = ("leak", "burst", "dry", "backflow")


class MeterFlag(Base):
    """One condition a meter reported at one instant."""

    __tablename__ = "meter_flags"
    __table_args__ = (
        UniqueConstraint("meter_id", "flag", "flagged_at"),
        Index("ix_meter_flags_flag_flagged_at", "flag", "flagged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    register_id: Mapped[int | None] = mapped_column(ForeignKey("registers.id"))
    flag: Mapped[str] = mapped_column(String(40))
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(40))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("read_imports.id"), index=True)
