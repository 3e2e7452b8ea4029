"""Reporting a problem by phone: one open order per problem at a premise, and a staff alert."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.alerts import PROBLEM_REPORTED
from app.work_orders.models import WorkOrder
from tests.ivr_flows.conftest import CALLER, Customer, Phone
from tests.sms_flows.conftest import FROM_NUMBER, inbound, signed_form
from tests.sms_flows.customer_fixtures import reply_of, staff_alerts  # noqa: F401


def orders(session: Session) -> list[WorkOrder]:
    session.expire_all()
    return list(session.scalars(select(WorkOrder).order_by(WorkOrder.id)))


def report_leak(phone: Phone) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("3")
    phone.press("1")


def test_phone_report_alerts_staff(
    phone: Phone,
    customer: Customer,
    session: Session,
    staff_alerts: list[tuple[str, str]],  # noqa: F811 - the imported fixture
) -> None:
    report_leak(phone)

    [order] = orders(session)
    assert staff_alerts == [
        (
            PROBLEM_REPORTED,
            f"A customer called about a leak: work order {order.number} (emergency) at "
            f"1 Test St, account …{customer.number[-4:]}.",
        )
    ]


def test_leak_texted_then_called_is_one_order(
    phone: Phone,
    customer: Customer,
    session: Session,
    staff_alerts: list[tuple[str, str]],  # noqa: F811 - the imported fixture
) -> None:
    params = {**inbound(CALLER, "LEAK"), "To": FROM_NUMBER}
    texted = reply_of(
        phone.client.post("/twilio/sms", data=params, headers=signed_form("/twilio/sms", params))
    )
    report_leak(phone)

    [order] = orders(session)
    assert texted is not None and f"work order {order.number}" in texted
    assert phone.said().startswith(
        "Thank you. This problem is already reported. Work order "
        f"{' '.join(str(order.number))} is open."
    )
    assert [kind for kind, _ in staff_alerts] == [PROBLEM_REPORTED]


def test_leak_and_meter_problem_are_two_orders(
    phone: Phone, customer: Customer, session: Session
) -> None:
    report_leak(phone)
    phone.press("3")
    phone.press("4")

    assert [order.type.value for order in orders(session)] == [
        "leak_investigation",
        "service_investigation",
    ]
