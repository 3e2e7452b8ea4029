"""Creating work orders and moving them through their life, with an audit of each step.

Every channel (Slack, crew texts, the pages, automation) calls these functions. Each
takes the acting staff member, checks the move against ``state.py``, records a
``WorkOrderEvent`` and an audit event, and leaves the commit to the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.work_orders.calendar import due_at
from app.work_orders.capture import check_completion
from app.work_orders.costing import charge_trip_fee, check_charge, post_close
from app.work_orders.dispatch import queue_job_card
from app.work_orders.hooks import Completion, run_completion_hooks
from app.work_orders.models import (
    Crew,
    CrewMember,
    Priority,
    Staff,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
    WorkOrderType,
)
from app.work_orders.state import check_move

S = WorkOrderStatus
NUMBER_OFFSET = 1000
#: Statuses in which an order is still open for the field.
OPEN = (S.NEW, S.READY, S.SCHEDULED, S.DISPATCHED, S.IN_PROGRESS, S.ON_HOLD)


@dataclass(frozen=True)
class Actor:
    """The acting party: a staff member, or the system for automation (``staff`` None)."""

    name: str
    staff: Staff | None = None

    @property
    def label(self) -> str:
        return f"staff:{self.staff.id}:{self.staff.name}"[:80] if self.staff else self.name

    @property
    def role(self) -> Any:
        from app.work_orders.models import StaffRole

        return self.staff.role if self.staff else StaffRole.SUPERVISOR


def create_order(
    session: Session,
    *,
    type: WorkOrderType,  # noqa: A002 - the work order's own term
    priority: Priority,
    actor: Actor,
    idempotency_key: str,
    account_id: int | None = None,
    premise_id: int | None = None,
    service_agreement_id: int | None = None,
    meter_id: int | None = None,
    notes: str | None = None,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Create an order (status ready), once per idempotency key."""
    existing = session.scalar(select(WorkOrder).where(WorkOrder.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    if premise_id is None and account_id is None:
        raise InvalidInput(
            "a work order needs a premise or an account to send the crew to",
            code="work_order_no_location",
        )
    created = now or utcnow()
    order = WorkOrder(
        number=0,
        type=type,
        status=S.READY,
        priority=priority,
        account_id=account_id,
        premise_id=premise_id,
        service_agreement_id=service_agreement_id,
        meter_id=meter_id,
        notes=notes,
        due_at=due_at(priority, created),
        idempotency_key=idempotency_key,
        created_by=actor.label,
        created_at=created,
        updated_at=created,
        completion={},
    )
    session.add(order)
    session.flush()
    order.number = order.id + NUMBER_OFFSET
    _event(session, order, "create", None, S.READY, actor, None, {"type": type.value})
    session.flush()
    return order


def get_order(session: Session, number: int, *, lock: bool = False) -> WorkOrder:
    statement = select(WorkOrder).where(WorkOrder.number == number)
    if lock:
        statement = statement.with_for_update()
    order = session.scalar(statement)
    if order is None:
        raise NotFound(f"work order {number} not found", code="work_order_not_found")
    return order


def assign(
    session: Session,
    order: WorkOrder,
    *,
    crew: Crew,
    member: Staff | None,
    actor: Actor,
    scheduled_for: dt.date | None = None,
) -> WorkOrder:
    """Assign the order to a crew (and one of its members) and schedule it."""
    if order.status not in (S.READY, S.SCHEDULED, S.DISPATCHED):
        raise Conflict(
            f"work order {order.number} is {order.status.value.replace('_', ' ')}; only a "
            "ready, scheduled or dispatched order can be assigned",
            code="work_order_not_assignable",
        )
    if member is not None:
        is_member = session.scalar(
            select(CrewMember.id).where(
                CrewMember.crew_id == crew.id, CrewMember.staff_id == member.id
            )
        )
        if is_member is None:
            raise InvalidInput(
                f"{member.name} is not a member of crew {crew.code}", code="not_crew_member"
            )
    previous = order.status
    order.crew_id = crew.id
    order.assignee_id = member.id if member else None
    order.scheduled_for = scheduled_for or order.scheduled_for
    order.accepted_at = None
    if order.status == S.READY:
        order.status = S.SCHEDULED
    elif order.status == S.DISPATCHED:
        # Reassigned after dispatch: the new crew must be dispatched again.
        order.status = S.SCHEDULED
    _event(
        session,
        order,
        "assign",
        previous,
        order.status,
        actor,
        None,
        {"crew": crew.code, "member": member.name if member else None},
    )
    return order


def move(
    session: Session,
    order: WorkOrder,
    to: WorkOrderStatus,
    *,
    actor: Actor,
    reason: str | None = None,
    action: str | None = None,
    detail: dict[str, Any] | None = None,
) -> WorkOrder:
    """Move the order to ``to`` after the state machine and role checks."""
    check_move(order, to, actor.role)
    previous = order.status
    order.status = to
    order.updated_at = utcnow()
    _event(session, order, action or to.value, previous, to, actor, reason, detail or {})
    return order


def dispatch(session: Session, order: WorkOrder, *, actor: Actor) -> WorkOrder:
    if order.crew_id is None:
        raise Conflict(
            f"work order {order.number} has no crew; assign it before dispatching",
            code="work_order_unassigned",
        )
    if order.assignee_id is None:
        # The job card goes to one person's phone; a crew alone has none to text.
        raise Conflict(
            f"work order {order.number} has a crew but no crew member; assign one with "
            "`wo assign <order> <crew> <member>` before dispatching",
            code="work_order_no_member",
        )
    move(session, order, S.DISPATCHED, actor=actor, action="dispatch")
    # The card is texted after the caller commits, once per dispatch event.
    queue_job_card(session, order)
    return order


def accept(session: Session, order: WorkOrder, *, actor: Actor) -> WorkOrder:
    """Record that the assigned crew member took the job; the status stays dispatched."""
    if order.status != S.DISPATCHED:
        raise Conflict(
            f"work order {order.number} is {order.status.value.replace('_', ' ')}; only a "
            "dispatched order can be accepted",
            code="work_order_transition_invalid",
        )
    order.accepted_at = utcnow()
    _event(session, order, "accept", order.status, order.status, actor, None, {})
    return order


def hold(session: Session, order: WorkOrder, *, reason: str, actor: Actor) -> WorkOrder:
    order.hold_reason = _required(reason, "a reason for the hold")
    return move(session, order, S.ON_HOLD, actor=actor, reason=order.hold_reason, action="hold")


def unable(session: Session, order: WorkOrder, *, reason: str, actor: Actor) -> WorkOrder:
    """Send the order back to scheduled as a return trip (no access, dog, locked gate)."""
    text = _required(reason, "what stopped the work")
    order.return_trips += 1
    order.accepted_at = None
    move(
        session,
        order,
        S.SCHEDULED,
        actor=actor,
        reason=text,
        action="unable",
        detail={"return_trip": order.return_trips},
    )
    charge_trip_fee(session, order, actor=actor)
    return order


def complete(
    session: Session,
    order: WorkOrder,
    *,
    capture: dict[str, Any],
    actor: Actor,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Complete the order with what its type must capture (reads, serials, a reason).

    The type's completion hooks (``hooks.py``) run before the status moves, so a hook
    that rejects the capture leaves the order as it was.
    """
    checked = check_completion(session, order, capture)
    check_move(order, S.COMPLETED, actor.role)
    completed_at = now or utcnow()
    run_completion_hooks(session, order, Completion(checked, completed_at, actor))
    move(session, order, S.COMPLETED, actor=actor, action="complete", detail=checked)
    order.completion = checked
    order.completed_at = completed_at
    order.completed_by = actor.label
    return order


def cancel(session: Session, order: WorkOrder, *, reason: str, actor: Actor) -> WorkOrder:
    order.cancel_reason = _required(reason, "why the order is canceled")
    order.canceled_by = actor.label
    return move(
        session, order, S.CANCELED, actor=actor, reason=order.cancel_reason, action="cancel"
    )


def reopen(session: Session, order: WorkOrder, *, reason: str, actor: Actor) -> WorkOrder:
    text = _required(reason, "why the order is reopened")
    return move(session, order, S.IN_PROGRESS, actor=actor, reason=text, action="reopen")


def close(
    session: Session,
    order: WorkOrder,
    *,
    actor: Actor,
    charge: Decimal | None = None,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Close the order, post its job costs, and bill ``charge`` to its account if given."""
    check_charge(order, charge)
    move(session, order, S.CLOSED, actor=actor, action="close")
    order.closed_at = now or utcnow()
    order.closed_by = actor.label
    post_close(session, order, actor=actor, charge=charge)
    return order


def overdue(session: Session, *, now: dt.datetime | None = None) -> list[WorkOrder]:
    """List open orders past their due time, most overdue first."""
    return list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.status.in_(OPEN), WorkOrder.due_at < (now or utcnow()))
            .order_by(WorkOrder.due_at)
        )
    )


def _required(text: str, what: str) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise InvalidInput(f"give {what}", code="reason_missing")
    return cleaned[:200]


def _event(
    session: Session,
    order: WorkOrder,
    action: str,
    from_status: WorkOrderStatus | None,
    to_status: WorkOrderStatus | None,
    actor: Actor,
    reason: str | None,
    detail: dict[str, Any],
) -> None:
    session.add(
        WorkOrderEvent(
            work_order_id=order.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor.label,
            reason=reason,
            detail=detail,
        )
    )
    record(
        session,
        actor=actor.label,
        action=f"work_order.{action}",
        outcome="ok",
        target=f"work_order:{order.number}",
        arguments={
            "from": from_status.value if from_status else None,
            "to": to_status.value if to_status else None,
            **detail,
        },
        detail=reason,
    )
