"""A work order's life: create, assign, dispatch, accept, complete, close; and bad moves."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.errors import Conflict, InvalidInput
from app.work_orders import service
from app.work_orders.models import (
    Crew,
    CrewMember,
    Priority,
    Staff,
    StaffRole,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderType,
)
from app.work_orders.service import Actor
from tests.app.factories import City

S = WorkOrderStatus


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    city = City(session)
    account, premise = city.account()
    register = city.meter(premise, "W-100", "water", "gal", dials=6)
    city.read(register, dt.date(2026, 11, 1), "004000")
    supervisor = Staff(name="Sam Super", role=StaffRole.SUPERVISOR)
    clerk = Staff(name="Cleo Clerk", role=StaffRole.CLERK)
    tech = Staff(name="Tia Tech", role=StaffRole.FIELD_CREW, phone="+15550100777")
    crew = Crew(code="N1", name="North crew")
    session.add_all([supervisor, clerk, tech, crew])
    session.flush()
    session.add(CrewMember(crew_id=crew.id, staff_id=tech.id))
    session.flush()
    return {"account": account, "premise": premise, "meter_id": register.meter_id,
            "supervisor": supervisor, "clerk": clerk, "tech": tech, "crew": crew}


def reread(session: Session, world: dict[str, object], key: str = "k1") -> WorkOrder:
    return service.create_order(
        session, type=WorkOrderType.REREAD, priority=Priority.ROUTINE,
        actor=Actor("clerk", world["clerk"]),  # type: ignore[arg-type]
        idempotency_key=key, premise_id=world["premise"].id,  # type: ignore[attr-defined]
        meter_id=world["meter_id"],  # type: ignore[arg-type]
        now=dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC),
    )


def test_full_life_of_a_reread(session: Session, world: dict[str, object]) -> None:
    clerk = Actor("clerk", world["clerk"])  # type: ignore[arg-type]
    tech = Actor("tech", world["tech"])  # type: ignore[arg-type]
    order = reread(session, world)
    assert order.number == order.id + 1000
    assert order.status == S.READY
    service.assign(session, order, crew=world["crew"], member=world["tech"],  # type: ignore[arg-type]
                   actor=clerk)
    assert order.status == S.SCHEDULED
    service.dispatch(session, order, actor=clerk)
    service.accept(session, order, actor=tech)
    assert order.accepted_at is not None
    service.move(session, order, S.IN_PROGRESS, actor=tech, action="enroute")
    service.complete(session, order, capture={"read": "004512"}, actor=tech)
    assert order.status == S.COMPLETED
    assert order.completion == {"read": "4512"}
    service.close(session, order, actor=clerk)
    assert order.status == S.CLOSED
    actions = [event.action for event in order.events]
    assert actions == ["create", "assign", "dispatch", "accept", "enroute", "complete", "close"]
    audited = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target == f"work_order:{order.number}")
    ).all()
    assert len(audited) == len(actions)


def test_same_key_creates_once(session: Session, world: dict[str, object]) -> None:
    first = reread(session, world, "same")
    second = reread(session, world, "same")
    assert first.id == second.id


def test_illegal_move_has_stable_code(session: Session, world: dict[str, object]) -> None:
    order = reread(session, world)
    with pytest.raises(Conflict) as raised:
        service.complete(session, order, capture={"read": "4100"},
                         actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert raised.value.code == "work_order_transition_invalid"
    assert "is ready; it cannot become completed" in raised.value.message


def test_dispatch_needs_a_crew(session: Session, world: dict[str, object]) -> None:
    order = reread(session, world)
    service.move(session, order, S.SCHEDULED, actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    with pytest.raises(Conflict) as raised:
        service.dispatch(session, order, actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    assert raised.value.code == "work_order_unassigned"


def in_progress(session: Session, world: dict[str, object]) -> WorkOrder:
    clerk = Actor("clerk", world["clerk"])  # type: ignore[arg-type]
    order = reread(session, world)
    service.assign(session, order, crew=world["crew"], member=world["tech"], actor=clerk)  # type: ignore[arg-type]
    service.dispatch(session, order, actor=clerk)
    service.move(session, order, S.IN_PROGRESS, actor=clerk)
    return order


def test_unable_returns_to_scheduled(session: Session, world: dict[str, object]) -> None:
    order = in_progress(session, world)
    service.unable(session, order, reason="dog in yard", actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert order.status == S.SCHEDULED
    assert order.return_trips == 1
    assert order.events[-1].reason == "dog in yard"


def test_hold_needs_a_reason(session: Session, world: dict[str, object]) -> None:
    order = in_progress(session, world)
    with pytest.raises(InvalidInput):
        service.hold(session, order, reason="  ", actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    service.hold(session, order, reason="parts", actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert order.status == S.ON_HOLD
    service.move(session, order, S.IN_PROGRESS, actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert order.status == S.IN_PROGRESS


def test_only_supervisor_reopens(session: Session, world: dict[str, object]) -> None:
    order = in_progress(session, world)
    service.complete(session, order, capture={"read": "4100"},
                     actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    with pytest.raises(Conflict) as raised:
        service.reopen(session, order, reason="wrong read", actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    assert raised.value.code == "work_order_role_denied"
    service.reopen(session, order, reason="wrong read",
                   actor=Actor("sup", world["supervisor"]))  # type: ignore[arg-type]
    assert order.status == S.IN_PROGRESS


def test_cancel_before_completion_only(session: Session, world: dict[str, object]) -> None:
    order = in_progress(session, world)
    service.cancel(session, order, reason="customer moved", actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    assert order.status == S.CANCELED
    assert order.canceled_by is not None
    done = reread(session, world, "k2")
    service.assign(session, done, crew=world["crew"], member=world["tech"],  # type: ignore[arg-type]
                   actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    service.dispatch(session, done, actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    service.move(session, done, S.IN_PROGRESS, actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    service.complete(session, done, capture={"read": "4100"},
                     actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        service.cancel(session, done, reason="late", actor=Actor("sup", world["supervisor"]))  # type: ignore[arg-type]


def test_assign_member_of_other_crew_rejected(session: Session, world: dict[str, object]
                                              ) -> None:
    other = Crew(code="S1", name="South crew")
    session.add(other)
    session.flush()
    order = reread(session, world)
    with pytest.raises(InvalidInput) as raised:
        service.assign(session, order, crew=other, member=world["tech"],  # type: ignore[arg-type]
                       actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    assert raised.value.code == "not_crew_member"


def test_dispatch_needs_a_member(session: Session, world: dict[str, object]) -> None:
    order = reread(session, world)
    service.assign(session, order, crew=world["crew"], member=None,  # type: ignore[arg-type]
                   actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    with pytest.raises(Conflict) as raised:
        service.dispatch(session, order, actor=Actor("clerk", world["clerk"]))  # type: ignore[arg-type]
    assert raised.value.code == "work_order_no_member"
    assert order.status == S.SCHEDULED
