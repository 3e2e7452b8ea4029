"""Staff, crews and a few open work orders for the demo city.

Slack ids and crew phones here are made up. The simulator commands use them to drive
the Slack bot and the crew texts without Slack or Twilio accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.meters.models import MeterInstallation
from app.premises.models import ServiceAgreement
from app.work_orders import service
from app.work_orders.inventory import add_part, receive_meter
from app.work_orders.models import (
    Crew,
    CrewMember,
    Priority,
    Staff,
    StaffRole,
    WorkOrderType,
)
from app.work_orders.service import Actor

DEMO_SLACK_TEAM = "T0DEMO0001"
DEMO_SUPERVISOR = "U0SUPER001"

#: name, role, phone, Slack user id, hourly rate
DEMO_STAFF = (
    ("Sam Ortiz", StaffRole.SUPERVISOR, None, DEMO_SUPERVISOR, "48.00"),
    ("Cleo Banks", StaffRole.CLERK, None, "U0CLERK001", "26.00"),
    ("Bea Admin", StaffRole.BILLING_ADMIN, None, "U0ADMIN001", "38.00"),
    ("Tia Reyes", StaffRole.FIELD_CREW, "+15550100777", "U0FIELD001", "31.00"),
    ("Joe Park", StaffRole.FIELD_CREW, "+15550100778", None, "29.00"),
    ("Ana Diaz", StaffRole.FIELD_CREW, "+15550100779", None, "29.00"),
)


#: code, name, unit, unit cost, on hand, reorder point
DEMO_PARTS = (
    ("CPL-34", "3/4 in meter coupling", "each", "6.40", "40", "10"),
    ("GSK-34", "3/4 in meter gasket", "each", "0.85", "8", "25"),
    ("LID-STD", "Meter box lid", "each", "22.00", "6", "4"),
)


@dataclass
class WorkOrdersDemoReport:
    staff: list[tuple[str, str, str]] = field(default_factory=list)
    orders: list[tuple[int, str, str, str]] = field(default_factory=list)
    stock_meters: list[str] = field(default_factory=list)


def demo_work_orders_present(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(Staff)) or 0) > 0


def seed_work_orders(session: Session, *, actor: str) -> WorkOrdersDemoReport:
    """Create staff, two crews and open orders at premises that have water meters."""
    report = WorkOrdersDemoReport()
    people: dict[str, Staff] = {}
    for name, role, phone, slack_user, rate in DEMO_STAFF:
        person = Staff(
            name=name,
            role=role,
            phone=phone,
            slack_team_id=DEMO_SLACK_TEAM if slack_user else None,
            slack_user_id=slack_user,
            hourly_rate=Decimal(rate),
            overtime_rate=(Decimal(rate) * Decimal("1.5")).quantize(Decimal("0.01")),
        )
        session.add(person)
        people[name] = person
        report.staff.append((name, role.value, phone or slack_user or ""))
    north = Crew(code="N1", name="North crew")
    south = Crew(code="S1", name="South crew")
    session.add_all([north, south])
    session.flush()
    for crew, names in ((north, ("Tia Reyes", "Joe Park")), (south, ("Ana Diaz",))):
        for name in names:
            session.add(CrewMember(crew_id=crew.id, staff_id=people[name].id))
    session.flush()

    for number in range(1, 6):
        receive_meter(session, serial=f"WN{number:06d}", service="water", unit="gal", dials=7,
                      model="demo stock meter")
    report.stock_meters = [f"WN{number:06d}" for number in range(1, 6)]
    for code, name, unit, cost, on_hand, reorder in DEMO_PARTS:
        add_part(session, code=code, name=name, unit=unit, unit_cost=Decimal(cost),
                 quantity_on_hand=Decimal(on_hand), reorder_point=Decimal(reorder))

    clerk = Actor("demo", people["Cleo Banks"])
    supervisor = Actor("demo", people["Sam Ortiz"])
    rows = session.execute(
        select(ServiceAgreement.account_id, ServiceAgreement.premise_id, MeterInstallation.meter_id)
        .join(MeterInstallation, MeterInstallation.premise_id == ServiceAgreement.premise_id)
        .where(
            ServiceAgreement.service == "water",
            MeterInstallation.removed_on.is_(None),
            ServiceAgreement.end_date.is_(None),
        )
        .order_by(ServiceAgreement.account_id)
        .limit(3)
    ).all()
    plans = (
        (WorkOrderType.REREAD, Priority.ROUTINE, "High read reported by the customer"),
        (WorkOrderType.METER_CHANGEOUT, Priority.URGENT, "Register stuck; replace the meter"),
        (WorkOrderType.LEAK_INVESTIGATION, Priority.EMERGENCY, "Water running at the curb"),
    )
    now = dt.datetime.now(dt.UTC)
    for (account_id, premise_id, meter_id), (kind, priority, notes) in zip(
        rows, plans, strict=False
    ):
        order = service.create_order(
            session,
            type=kind,
            priority=priority,
            actor=clerk,
            idempotency_key=f"demo-order:{kind.value}",
            account_id=account_id,
            premise_id=premise_id,
            meter_id=meter_id,
            notes=notes,
            now=now,
        )
        service.assign(session, order, crew=north, member=people["Tia Reyes"], actor=supervisor)
        if kind == WorkOrderType.REREAD:
            # Dispatched, so the crew can reply to it by text at once; the others wait for
            # a supervisor's /upm dispatch.
            service.dispatch(session, order, actor=supervisor)
        report.orders.append(
            (order.number, kind.value.replace("_", " "), order.status.value, "Tia Reyes")
        )
    session.flush()
    return report
