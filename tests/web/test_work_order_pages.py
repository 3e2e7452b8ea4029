"""Work-order staff pages: the open list with overdue marks, and one order's history."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.main import create_app
from app.work_orders import service
from app.work_orders.models import Crew, CrewMember, Priority, Staff, StaffRole, WorkOrderType
from app.work_orders.service import Actor
from tests.app.factories import City


def test_open_orders_and_history(session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    clerk = Staff(name="Cleo Clerk", role=StaffRole.CLERK)
    tech = Staff(name="Tia Tech", role=StaffRole.FIELD_CREW, phone="+15550100777")
    crew = Crew(code="N1", name="North")
    session.add_all([clerk, tech, crew])
    session.flush()
    session.add(CrewMember(crew_id=crew.id, staff_id=tech.id))
    late = service.create_order(
        session, type=WorkOrderType.REREAD, priority=Priority.ROUTINE,
        actor=Actor("clerk", clerk), idempotency_key="late", premise_id=premise.id,
        account_id=account.id, now=dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC),
    )
    service.assign(session, late, crew=crew, member=tech, actor=Actor("clerk", clerk))
    session.commit()
    client = TestClient(create_app())
    listing = client.get("/work-orders")
    assert listing.status_code == 200
    assert str(late.number) in listing.text
    assert "overdue" in listing.text
    assert "1 Test St" in listing.text
    page = client.get(f"/work-orders/{late.number}")
    assert "Tia Tech" in page.text
    assert "assign" in page.text
    assert "crew: N1" in page.text
    assert "CST" in page.text  # times in the utility's zone
    assert account.number not in page.text
    assert client.get("/work-orders/999999").status_code == 404
