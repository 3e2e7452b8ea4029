"""Approval requests made in Slack and waiting for a second person's decision."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, str_enum, utcnow


class ApprovalKind(enum.StrEnum):
    BILL_RUN = "bill_run"
    ADJUSTMENT = "adjustment"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELED = "canceled"


class SlackApproval(Base):
    """A bill run or a ledger adjustment proposed in Slack, and who decided it.

    The status leaves ``pending`` exactly once: the decision is a conditional update on
    ``status = 'pending'``, so a second click (or a concurrent one) changes nothing.
    """

    __tablename__ = "slack_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ApprovalKind] = mapped_column(str_enum(ApprovalKind))
    status: Mapped[ApprovalStatus] = mapped_column(str_enum(ApprovalStatus), index=True)
    #: The slash command's trigger id, so a retried command creates one request.
    request_key: Mapped[str] = mapped_column(String(160), unique=True)
    requested_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    requested_by: Mapped[str] = mapped_column(String(80))
    team_id: Mapped[str] = mapped_column(String(20))
    channel_id: Mapped[str] = mapped_column(String(20))
    #: What to do once approved: cycle and period, or account, amount and reason.
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What the requester saw (counts, balance), kept for the audit trail.
    preview: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: What the approved work produced: the journal entry, the bill run's summary.
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
