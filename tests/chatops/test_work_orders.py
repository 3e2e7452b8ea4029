"""``/upm wo create|assign|list`` and ``/upm dispatch`` through the work-order service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.work_orders.models import (
    Crew,
    CrewMember,
    Priority,
    Staff,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderType,
)
from tests.app.factories import City, water_tariff
from tests.chatops.conftest import FakeSlack
from tests.chatops.test_endpoint import audit

Slash = Callable[..., Any]


@pytest.fixture
def account_number(session: Session, staff: dict[str, Staff]) -> str:
    city = City(session)
    account, premise = city.account("Pat Doe")
    city.agreement(account, premise, city.tariff(water_tariff()))
    crew = Crew(code="N1", name="North crew")
    session.add(crew)
    session.flush()
    session.add(CrewMember(crew_id=crew.id, staff_id=staff["tech"].id))
    session.commit()
    return account.number


def latest_order(session: Session) -> WorkOrder:
    session.expire_all()
    order = session.scalar(select(WorkOrder).order_by(WorkOrder.id.desc()).limit(1))
    assert order is not None
    return order


def test_wo_create_assign_dispatch(
    slash: Slash,
    fake_slack: FakeSlack,
    session: Session,
    account_number: str,
    staff: dict[str, Staff],
) -> None:
    slash(f"wo create {account_number} reread urgent gate code 1234", user="U0CLERK")
    created = fake_slack.wait_for("response", match="Created work order")[0]
    order = latest_order(session)
    assert created.text.startswith(f"Created work order #{order.number}: reread (urgent)")
    assert order.type == WorkOrderType.REREAD
    assert order.priority == Priority.URGENT
    assert order.notes == "gate code 1234"
    assert order.premise_id is not None
    assert order.created_by == f"staff:{staff['clerk'].id}:Cleo Clerk"

    slash(f"wo assign {order.number} n1 <@U0TECH|tia>", user="U0SUPER")
    assigned = fake_slack.wait_for("response", match="assigned")[0]
    assert assigned.text == (
        f"Work order #{order.number} assigned to crew N1 (Tia Tech); it is now scheduled"
    )
    order = latest_order(session)
    assert order.status == WorkOrderStatus.SCHEDULED
    assert order.assignee_id == staff["tech"].id

    slash(f"dispatch {order.number}", user="U0SUPER")
    fake_slack.wait_for("response", match="dispatched")
    assert latest_order(session).status == WorkOrderStatus.DISPATCHED
    assert [e.outcome for e in audit(session, "slack.dispatch")] == ["ok"]
    assert [e.outcome for e in audit(session, "work_order.dispatch")] == ["ok"]


def test_wo_create_retried_creates_one(
    slash: Slash, fake_slack: FakeSlack, session: Session, account_number: str
) -> None:
    for retry in ("0", "1"):
        slash(
            f"wo create {account_number} leak_investigation",
            trigger_id="trigger.leak",
            headers={"X-Slack-Retry-Num": retry},
        )
    fake_slack.wait_for("response", match="Created work order")
    session.expire_all()
    orders = list(session.scalars(select(WorkOrder)))
    assert len(orders) == 1
    assert orders[0].priority == Priority.ROUTINE


def test_wo_create_bad_type_explained(
    slash: Slash, fake_slack: FakeSlack, account_number: str
) -> None:
    slash(f"wo create {account_number} paint-hydrant")
    reply = fake_slack.wait_for("response")[0]
    assert "work order type 'paint-hydrant' is not known" in reply.text
    assert "meter_changeout" in reply.text


def test_dispatch_unassigned_rejected(
    slash: Slash, fake_slack: FakeSlack, session: Session, account_number: str
) -> None:
    slash(f"wo create {account_number} reread", user="U0SUPER")
    fake_slack.wait_for("response", match="Created")
    number = latest_order(session).number
    slash(f"dispatch {number}", user="U0SUPER")
    reply = fake_slack.wait_for("response", match="dispatch")[0]
    assert reply.text == f":warning: work order {number} has no crew; assign it before dispatching"
    assert [e.outcome for e in audit(session, "slack.dispatch")] == ["rejected"]


def test_wo_assign_needs_supervisor(
    slash: Slash, fake_slack: FakeSlack, account_number: str
) -> None:
    slash("wo assign 1001 N1", user="U0CLERK")
    reply = fake_slack.wait_for("response")[0]
    assert reply.text == "`/upm wo assign` needs the supervisor role; your role is clerk."


def test_wo_list_by_status_and_crew(
    slash: Slash, fake_slack: FakeSlack, session: Session, account_number: str
) -> None:
    slash(f"wo create {account_number} reread", user="U0SUPER")
    fake_slack.wait_for("response", match="Created")
    slash(f"wo create {account_number} turn_off emergency", user="U0SUPER")
    fake_slack.wait_for("response", count=2, match="Created")
    number = latest_order(session).number
    slash(f"wo assign {number} N1", user="U0SUPER")
    fake_slack.wait_for("response", match="assigned")

    slash("wo list", user="U0TECH")
    everything = fake_slack.wait_for("response", match="work orders open")[0]
    assert everything.text.startswith("*2 work orders open*")
    slash("wo list scheduled", user="U0TECH")
    scheduled = fake_slack.wait_for("response", match="with status scheduled")[0]
    assert f"#{number} turn off, scheduled, emergency" in scheduled.text
    assert "reread" not in scheduled.text
    slash("wo list n1", user="U0TECH")
    by_crew = fake_slack.wait_for("response", match="open for crew N1")[0]
    assert by_crew.text.startswith("*1 work order open for crew N1*")
    slash("wo list closed", user="U0TECH")
    assert fake_slack.wait_for("response", match="No work orders with status closed.")


def test_wo_cancel_reopen_and_close(
    slash: Slash, fake_slack: FakeSlack, session: Session, account_number: str
) -> None:
    from app.work_orders import service as orders
    from app.work_orders.service import Actor

    slash(f"wo create {account_number} reread", user="U0SUPER")
    fake_slack.wait_for("response", match="Created")
    canceled = latest_order(session).number
    slash(f"wo cancel {canceled} customer called back", user="U0CLERK")
    reply = fake_slack.wait_for("response", match="canceled")[0]
    assert reply.text == f"Work order #{canceled} canceled: customer called back"

    slash(f"wo create {account_number} leak_investigation", user="U0SUPER")
    fake_slack.wait_for("response", match="Created", count=2)
    session.expire_all()
    order = latest_order(session)
    number = order.number
    system = Actor("test")
    orders.move(session, order, WorkOrderStatus.SCHEDULED, actor=system)
    orders.move(session, order, WorkOrderStatus.DISPATCHED, actor=system)
    orders.move(session, order, WorkOrderStatus.IN_PROGRESS, actor=system)
    orders.complete(session, order, capture={"finding": "none"}, actor=system)
    session.commit()
    slash(f"wo reopen {number} wrong finding", user="U0CLERK")
    denied = fake_slack.wait_for("response", match="reopen")[-1]
    assert "needs the supervisor role" in denied.text
    slash(f"wo reopen {number} wrong finding", user="U0SUPER")
    assert fake_slack.wait_for("response", match="reopened")[0].text == (
        f"Work order #{number} reopened: wrong finding"
    )
    session.expire_all()
    order = latest_order(session)
    orders.complete(session, order, capture={"finding": "leak at curb stop"}, actor=system)
    session.commit()
    slash(f"wo close {number}", user="U0CLERK")
    assert fake_slack.wait_for("response", match="closed")[0].text == (
        f"Work order #{number} closed"
    )
    session.expire_all()
    assert latest_order(session).status == WorkOrderStatus.CLOSED


def test_unknown_wo_subcommand_named(slash: Slash, fake_slack: FakeSlack,
                                     account_number: str) -> None:
    slash("wo shred 1001", user="U0SUPER")
    reply = fake_slack.wait_for("response")[0]
    assert "`wo shred` is not a /upm command" in reply.text


def test_labor_and_parts_add_up(
    slash: Slash, fake_slack: FakeSlack, session: Session, account_number: str,
    staff: dict[str, Staff],
) -> None:
    from decimal import Decimal

    from app.work_orders.inventory import add_part

    staff["tech"].hourly_rate = Decimal("31.40")
    staff["tech"].overtime_rate = Decimal("47.10")
    add_part(session, code="CPL-34", name="3/4 in coupling", unit="each",
             unit_cost=Decimal("6.40"), quantity_on_hand=Decimal("3"))
    session.commit()
    slash(f"wo create {account_number} meter_changeout", user="U0SUPER")
    fake_slack.wait_for("response", match="Created")
    number = latest_order(session).number
    slash(f"wo assign {number} N1 Tia Tech", user="U0SUPER")
    fake_slack.wait_for("response", match="assigned")
    slash(f"wo labor {number} 2.5 1.25 Tia Tech", user="U0CLERK")
    # 2.5 h × 31.40 + 1.25 h × 47.10 = 78.50 + 58.875 = 137.375, rounded to 137.38.
    labor = fake_slack.wait_for("response", match="overtime")[0]
    assert labor.text == f"Work order #{number}: Tia Tech, 2.5 h + 1.25 h overtime = $137.38"
    slash(f"wo parts {number} CPL-34 2", user="U0CLERK")
    parts = fake_slack.wait_for("response", match="CPL-34")[0]
    assert parts.text == f"Work order #{number}: 2 × CPL-34 = $12.80"
    slash(f"wo parts {number} CPL-34 5", user="U0CLERK")
    short = fake_slack.wait_for("response", match="on hand")[0]
    assert "has 1 each on hand" in short.text
    slash(f"wo costs {number}", user="U0CLERK")
    costs = fake_slack.wait_for("response", match="costs:")[0]
    assert costs.text == (f"Work order #{number} costs: labor $137.38, parts $12.80, "
                          "equipment $0.00, total $150.18")
