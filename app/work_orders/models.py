"""Staff, crews and work orders with their history.

A work order is a job for the field: a turn-on, a final read, a meter changeout. Its
status moves only along the transitions in ``state.py``, and every move is kept in
``work_order_events`` with who made it and why.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class StaffRole(enum.StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    BILLING_ADMIN = "billing_admin"
    FIELD_CREW = "field_crew"


class Staff(Base):
    """A person who works for the utility, with how to reach and pay them.

    Slack users are matched by their immutable team and user ids, never a display name;
    crew phones by their E.164 number.
    """

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("slack_team_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    slack_team_id: Mapped[str | None] = mapped_column(String(20))
    slack_user_id: Mapped[str | None] = mapped_column(String(20))
    hourly_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    overtime_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Crew(Base):
    __tablename__ = "crews"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    members: Mapped[list[CrewMember]] = relationship(back_populates="crew")


class CrewMember(Base):
    __tablename__ = "crew_members"
    __table_args__ = (UniqueConstraint("crew_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crew_id: Mapped[int] = mapped_column(ForeignKey("crews.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)

    crew: Mapped[Crew] = relationship(back_populates="members")
    staff: Mapped[Staff] = relationship()


class WorkOrderType(enum.StrEnum):
    TURN_ON = "turn_on"
    TURN_OFF = "turn_off"
    DISCONNECT_NONPAY = "disconnect_nonpay"
    RECONNECT = "reconnect"
    REREAD = "reread"
    METER_CHANGEOUT = "meter_changeout"
    METER_INSTALL = "meter_install"
    METER_REMOVE = "meter_remove"
    LEAK_INVESTIGATION = "leak_investigation"
    SERVICE_INVESTIGATION = "service_investigation"


class WorkOrderStatus(enum.StrEnum):
    NEW = "new"
    READY = "ready"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELED = "canceled"


class Priority(enum.StrEnum):
    #: Due the same day: no water, a leak at the meter, a reconnect after payment.
    EMERGENCY = "emergency"
    #: Due the next business day.
    URGENT = "urgent"
    #: Due in five business days.
    ROUTINE = "routine"


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The number staff and crews use in texts and speech ("1002"): the id plus 1000.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    type: Mapped[WorkOrderType] = mapped_column(str_enum(WorkOrderType, 30))
    status: Mapped[WorkOrderStatus] = mapped_column(str_enum(WorkOrderStatus))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    premise_id: Mapped[int | None] = mapped_column(ForeignKey("premises.id"), index=True)
    service_agreement_id: Mapped[int | None] = mapped_column(ForeignKey("service_agreements.id"))
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    scheduled_for: Mapped[dt.date | None] = mapped_column(Date)
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    #: Field trips that ended unable to complete (no access, dog, locked gate).
    return_trips: Mapped[int] = mapped_column(Integer, default=0)
    #: What the completion captured: reads, meter serials, a reason.
    completion: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(80))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    canceled_by: Mapped[str | None] = mapped_column(String(80))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    events: Mapped[list[WorkOrderEvent]] = relationship(
        order_by="WorkOrderEvent.id", back_populates="work_order"
    )


class WorkOrderEvent(Base):
    """One step of a work order: a status move, an assignment, a note."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[WorkOrderStatus | None] = mapped_column(str_enum(WorkOrderStatus))
    to_status: Mapped[WorkOrderStatus | None] = mapped_column(str_enum(WorkOrderStatus))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="events")
