"""LEAK and OUTAGE by text: one work order per text at the premise, and a staff alert."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.alerts import PROBLEM_REPORTED
from app.premises.models import ServiceAgreement
from app.work_orders.models import Priority, WorkOrder, WorkOrderStatus, WorkOrderType
from app.work_orders.service import Actor, create_order
from sms_flows.reports import service_premise_id
from tests.app.factories import City, water_tariff
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    TODAY,
    Household,
    reply_of,
)


def orders(session: Session) -> list[WorkOrder]:
    session.expire_all()
    return list(session.scalars(select(WorkOrder).order_by(WorkOrder.id)))


def test_leak_creates_order_and_alert(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    staff_alerts: list[tuple[str, str]],
) -> None:
    household = households["en"]

    reply = reply_of(sms(CUSTOMER_PHONE, "LEAK water bubbling by the meter box",
                         sid="SM0000000000000000000000000000lk01"))

    [order] = orders(session)
    assert reply == (
        f"Thank you. Your leak report is work order {order.number}, and a crew will come as "
        "soon as possible. In an emergency call +15125550100."
    )
    assert order.type is WorkOrderType.LEAK_INVESTIGATION
    assert order.priority is Priority.EMERGENCY
    assert order.status is WorkOrderStatus.READY
    assert order.account_id == household.account_id
    assert order.premise_id == household.premise_id
    assert order.idempotency_key == "sms:SM0000000000000000000000000000lk01"
    assert order.notes == "Reported by text: LEAK water bubbling by the meter box"
    assert order.created_by == "sms:…0123"
    assert staff_alerts == [(
        PROBLEM_REPORTED,
        f"A customer texted about a leak: work order {order.number} (emergency) at "
        f"1 Test St, account …{household.last4}.",
    )]


@pytest.mark.parametrize("body", ["OUTAGE", "outage no water since noon"])
def test_outage_creates_service_investigation(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    staff_alerts: list[tuple[str, str]], body: str,
) -> None:
    reply = reply_of(sms(CUSTOMER_PHONE, body))

    [order] = orders(session)
    assert order.type is WorkOrderType.SERVICE_INVESTIGATION
    assert reply == (
        f"Thank you. Your outage report is work order {order.number}, and a crew will come "
        "as soon as possible. In an emergency call +15125550100."
    )
    assert [kind for kind, _ in staff_alerts] == [PROBLEM_REPORTED]
    assert "about an outage" in staff_alerts[0][1]


def test_fuga_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    staff_alerts: list[tuple[str, str]],
) -> None:
    reply = reply_of(sms(SPANISH_PHONE, "Fuga en la calle"))

    [order] = orders(session)
    assert order.type is WorkOrderType.LEAK_INVESTIGATION
    assert order.premise_id == households["es"].premise_id
    assert reply == (
        f"Gracias. Su reporte de fuga es la orden de trabajo {order.number}, y enviaremos un "
        "equipo lo antes posible. En una emergencia llame al +15125550100."
    )


@pytest.mark.parametrize("body", ["CORTE", "apagón", "Apagon!"])
def test_corte_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household], body: str
) -> None:
    reply = reply_of(sms(CUSTOMER_PHONE, body))

    [order] = orders(session)
    assert order.type is WorkOrderType.SERVICE_INVESTIGATION
    assert reply is not None
    assert reply.startswith(f"Gracias. Su reporte de corte es la orden de trabajo {order.number}")


def test_redelivered_report_creates_one_order(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    staff_alerts: list[tuple[str, str]],
) -> None:
    sid = "SM0000000000000000000000000000lk02"

    first = reply_of(sms(CUSTOMER_PHONE, "LEAK", sid=sid))
    again = reply_of(sms(CUSTOMER_PHONE, "LEAK", sid=sid))

    assert first is not None
    assert again is None
    assert len(orders(session)) == 1
    assert len(staff_alerts) == 1


def test_premise_of_current_service(session: Session, customer_city: City) -> None:
    account, old_premise = customer_city.account("Mover")
    water = customer_city.tariff(water_tariff())
    customer_city.agreement(account, old_premise, water, start=dt.date(2020, 1, 1),
                            end=dt.date(2026, 6, 1))
    _, new_premise = customer_city.account("Unused")
    customer_city.agreement(account, new_premise, water, start=dt.date(2026, 6, 1))
    session.flush()

    assert service_premise_id(session, account.id, TODAY) == new_premise.id
    assert service_premise_id(session, account.id, dt.date(2026, 5, 31)) == old_premise.id


def test_premise_after_service_ended(session: Session, customer_city: City) -> None:
    account, premise = customer_city.account("Gone")
    customer_city.agreement(account, premise, customer_city.tariff(water_tariff()),
                            start=dt.date(2020, 1, 1), end=dt.date(2026, 6, 1))
    session.flush()

    assert service_premise_id(session, account.id, TODAY) == premise.id


def test_no_premise_without_service(session: Session, customer_city: City) -> None:
    account, _ = customer_city.account("No service")
    session.flush()

    assert service_premise_id(session, account.id, TODAY) is None
    assert session.scalars(select(ServiceAgreement)).all() == []


@pytest.mark.parametrize(
    ("phone", "first", "second", "expected"),
    [
        (CUSTOMER_PHONE, "LEAK", "Leak!",
         "Thank you. This leak is already reported: work order {number} is open. "
         "In an emergency call +15125550100."),
        (SPANISH_PHONE, "CORTE", "apagón",
         "Gracias. Este corte ya está reportado: la orden de trabajo {number} está "
         "abierta. En una emergencia llame al +15125550100."),
    ],
)
def test_second_report_names_the_open_order(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    staff_alerts: list[tuple[str, str]], phone: str, first: str, second: str, expected: str,
) -> None:
    reply_of(sms(phone, first))
    again = reply_of(sms(phone, second))

    [order] = orders(session)
    assert again == expected.format(number=order.number)
    assert len(staff_alerts) == 1


def leak_order(session: Session, premise_id: int, key: str) -> WorkOrder:
    return create_order(
        session, type=WorkOrderType.LEAK_INVESTIGATION, priority=Priority.EMERGENCY,
        actor=Actor("test"), idempotency_key=key, premise_id=premise_id,
    )


def test_open_order_at_premise_is_named(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    staff_alerts: list[tuple[str, str]],
) -> None:
    existing = leak_order(session, households["en"].premise_id, "test:open-leak")
    session.commit()

    reply = reply_of(sms(CUSTOMER_PHONE, "LEAK"))

    assert [order.id for order in orders(session)] == [existing.id]
    assert reply is not None
    assert f"already reported: work order {existing.number} is open" in reply
    assert staff_alerts == []


def test_closed_order_does_not_count(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    old = leak_order(session, households["en"].premise_id, "test:old-leak")
    old.status = WorkOrderStatus.COMPLETED
    session.commit()

    reply = reply_of(sms(CUSTOMER_PHONE, "LEAK"))

    [_, new] = orders(session)
    assert reply is not None and f"Your leak report is work order {new.number}" in reply
