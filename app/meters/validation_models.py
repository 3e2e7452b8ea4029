"""Findings of read validation (VEE), kept for staff review."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Quantity, UTCDateTime, str_enum, utcnow


class FindingSeverity(enum.StrEnum):
    #: The read is held out of billing until staff resolve the finding.
    HOLD = "hold"
    #: The read stays valid and the finding marks it for review (a rollover, an interval gap).
    NOTE = "note"


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    #: Staff accepted the read as it is.
    ACCEPTED = "accepted"
    #: Staff replaced or rejected the read.
    OVERRIDDEN = "overridden"


class ReadFinding(Base):
    """One validation rule that a register read or an interval read failed.

    A register read's finding has ``read_id``, and an interval read's finding has
    ``interval_start_at`` instead. ``finding_key`` (subject plus rule code) makes
    validating the same read twice store the finding once.
    """

    __tablename__ = "read_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_key: Mapped[str] = mapped_column(String(120), unique=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"), index=True)
    read_id: Mapped[int | None] = mapped_column(ForeignKey("reads.id"), index=True)
    interval_start_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: A ``metering.validation.RuleCode`` value.
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[FindingSeverity] = mapped_column(str_enum(FindingSeverity))
    detail: Mapped[str] = mapped_column(Text)
    #: The value the rule measured (a consumption, a ratio, a count) and its limit.
    measured: Mapped[Decimal | None] = mapped_column(Quantity())
    threshold: Mapped[Decimal | None] = mapped_column(Quantity())
    status: Mapped[FindingStatus] = mapped_column(
        str_enum(FindingStatus), default=FindingStatus.OPEN
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
