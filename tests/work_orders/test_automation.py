"""Meter changeout, install and removal, and starting and stopping service with final bills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import AccountStatus
from app.billing.models import Bill, BillMeterSegment
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.errors import Conflict, InvalidInput
from app.ledger.service import account_balance
from app.meters.models import (
    Meter,
    MeterInstallation,
    MeterStockStatus,
    Read,
    ReadType,
    Register,
)
from app.premises.models import ServiceAgreement
from app.work_orders import automation, inventory, service
from app.work_orders.models import (
    Crew,
    Priority,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderType,
)
from app.work_orders.service import Actor
from tests.app.factories import City, water_tariff

CHICAGO = ZoneInfo("America/Chicago")
SYSTEM = Actor("system")


def noon(day: dt.date) -> dt.datetime:
    """Noon in Chicago on ``day``, as a UTC instant."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=CHICAGO).astimezone(dt.UTC)


def to_in_progress(session: Session, order: WorkOrder) -> WorkOrder:
    crew = session.scalar(select(Crew)) or Crew(code="N1", name="North crew")
    session.add(crew)
    session.flush()
    service.assign(session, order, crew=crew, member=None, actor=SYSTEM)
    # Straight to dispatched: these tests are about completion, not the job card.
    service.move(session, order, WorkOrderStatus.DISPATCHED, actor=SYSTEM)
    service.move(session, order, WorkOrderStatus.IN_PROGRESS, actor=SYSTEM)
    return order


@pytest.fixture
def water(session: Session) -> dict[str, object]:
    """A water account billed on a 6-dial gallon meter read on 1 November 2026."""
    city = City(session)
    tariff = city.tariff(water_tariff())
    account, premise = city.account()
    agreement = city.agreement(account, premise, tariff)
    register = city.meter(premise, "W-OLD", "water", "gal", dials=6)
    city.read(register, dt.date(2026, 11, 1), "1000")
    inventory.receive_meter(session, serial="W-NEW", service="water", unit="gal", dials=6)
    return {"city": city, "tariff": tariff, "account": account, "premise": premise,
            "agreement": agreement, "register": register}


def changeout(session: Session, premise_id: int, key: str = "chg") -> WorkOrder:
    old = inventory.meter_by_serial(session, "W-OLD")
    order = service.create_order(session, type=WorkOrderType.METER_CHANGEOUT,
                                 priority=Priority.ROUTINE, actor=SYSTEM, idempotency_key=key,
                                 premise_id=premise_id, meter_id=old.id)
    return to_in_progress(session, order)


def test_changeout_moves_both_meters(session: Session, water: dict[str, object]) -> None:
    premise_id = water["premise"].id  # type: ignore[attr-defined]
    order = changeout(session, premise_id)
    service.complete(session, order, actor=SYSTEM, now=noon(dt.date(2026, 11, 15)), capture={
        "old_serial": "W-OLD", "old_read": "4000", "new_serial": "W-NEW", "new_read": "0"})
    old = inventory.meter_by_serial(session, "W-OLD")
    new = inventory.meter_by_serial(session, "W-NEW")
    assert old.stock_status == MeterStockStatus.REMOVED
    assert new.stock_status == MeterStockStatus.INSTALLED
    rows = session.execute(
        select(Meter.serial, MeterInstallation.installed_on, MeterInstallation.removed_on)
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .where(MeterInstallation.premise_id == premise_id).order_by(Meter.serial)).all()
    assert rows == [("W-NEW", dt.date(2026, 11, 15), None),
                    ("W-OLD", dt.date(2020, 1, 1), dt.date(2026, 11, 15))]
    reads = session.execute(
        select(Meter.serial, Read.read_date, Read.value, Read.read_type, Read.source)
        .join(Register, Register.meter_id == Meter.id)
        .join(Read, Read.register_id == Register.id)
        .where(Read.source == "work_order").order_by(Meter.serial)).all()
    assert reads == [
        ("W-NEW", dt.date(2026, 11, 15), Decimal(0), ReadType.ACTUAL, "work_order"),
        ("W-OLD", dt.date(2026, 11, 15), Decimal(4000), ReadType.ACTUAL, "work_order"),
    ]


def test_bill_run_splits_at_changeout(
    session: Session, session_factory: sessionmaker[Session], water: dict[str, object]
) -> None:
    premise_id = water["premise"].id  # type: ignore[attr-defined]
    order = changeout(session, premise_id)
    service.complete(session, order, actor=SYSTEM, now=noon(dt.date(2026, 11, 15)), capture={
        "old_serial": "W-OLD", "old_read": "4000", "new_serial": "W-NEW", "new_read": "12"})
    new_register = inventory.meter_by_serial(session, "W-NEW").registers[0]
    water["city"].read(new_register, dt.date(2026, 12, 1), "2512")  # type: ignore[attr-defined]
    session.commit()

    summary = run_bill_run(session_factory, cycle_code="C1", period=parse_period("2026-11"),
                           actor="test", zone=CHICAGO, due_days=21, today=dt.date(2026, 12, 5))
    assert summary.exceptions == []
    segments = session.execute(
        select(BillMeterSegment.meter_serial, BillMeterSegment.start_value,
               BillMeterSegment.end_value, BillMeterSegment.consumption)
        .order_by(BillMeterSegment.start_date)).all()
    # Old meter 1,000 to 4,000 gal; new meter 12 to 2,512 gal.
    assert segments == [("W-OLD", Decimal(1000), Decimal(4000), Decimal(3000)),
                        ("W-NEW", Decimal(12), Decimal(2512), Decimal(2500))]
    # 5.5 kgal: base 10.00, 5 kgal × 2.00 = 10.00, 0.5 kgal × 3.00 = 1.50.
    assert session.scalar(select(Bill.total)) == Decimal("21.50")


def test_changeout_rejects_installed_meter(session: Session, water: dict[str, object]) -> None:
    city: City = water["city"]  # type: ignore[assignment]
    other_account, other_premise = city.account("Lee Roe")
    city.meter(other_premise, "W-BUSY", "water", "gal", dials=6)
    premise_id = water["premise"].id  # type: ignore[attr-defined]
    order = changeout(session, premise_id)
    with pytest.raises(Conflict) as raised:
        service.complete(session, order, actor=SYSTEM, now=noon(dt.date(2026, 11, 15)),
                         capture={"old_serial": "W-OLD", "old_read": "4000",
                                  "new_serial": "W-BUSY", "new_read": "0"})
    assert raised.value.code == "meter_installed"
    assert order.status == WorkOrderStatus.IN_PROGRESS
    open_rows = session.scalar(select(func.count()).select_from(MeterInstallation).where(
        MeterInstallation.removed_on.is_(None)))
    assert open_rows == 2
    assert session.scalar(select(func.count()).select_from(Read)) == 1


def test_install_and_remove_orders(session: Session, water: dict[str, object]) -> None:
    city: City = water["city"]  # type: ignore[assignment]
    _, bare = city.account("New Build")
    install = to_in_progress(session, service.create_order(
        session, type=WorkOrderType.METER_INSTALL, priority=Priority.ROUTINE, actor=SYSTEM,
        idempotency_key="ins", premise_id=bare.id))
    service.complete(session, install, actor=SYSTEM, now=noon(dt.date(2026, 11, 20)),
                     capture={"new_serial": "W-NEW", "new_read": "5"})
    new = inventory.meter_by_serial(session, "W-NEW")
    assert new.stock_status == MeterStockStatus.INSTALLED
    assert inventory.open_installation(session, new).premise_id == bare.id  # type: ignore[union-attr]
    remove = to_in_progress(session, service.create_order(
        session, type=WorkOrderType.METER_REMOVE, priority=Priority.ROUTINE, actor=SYSTEM,
        idempotency_key="rem", premise_id=bare.id, meter_id=new.id))
    service.complete(session, remove, actor=SYSTEM, now=noon(dt.date(2026, 11, 25)),
                     capture={"old_serial": "W-NEW", "old_read": "80"})
    assert new.stock_status == MeterStockStatus.REMOVED
    assert inventory.open_installation(session, new) is None


def test_install_on_metered_premise_rejected(session: Session, water: dict[str, object]
                                             ) -> None:
    premise_id = water["premise"].id  # type: ignore[attr-defined]
    install = to_in_progress(session, service.create_order(
        session, type=WorkOrderType.METER_INSTALL, priority=Priority.ROUTINE, actor=SYSTEM,
        idempotency_key="ins", premise_id=premise_id))
    with pytest.raises(Conflict) as raised:
        service.complete(session, install, actor=SYSTEM, capture={"new_serial": "W-NEW",
                                                                  "new_read": "5"})
    assert raised.value.code == "premise_has_meter"
    assert install.status == WorkOrderStatus.IN_PROGRESS


def test_stop_service_final_bill(session: Session, water: dict[str, object]) -> None:
    agreement: ServiceAgreement = water["agreement"]  # type: ignore[assignment]
    order = automation.stop_service(session, agreement_id=agreement.id,
                                    end_date=dt.date(2026, 11, 16), actor=SYSTEM,
                                    idempotency_key="stop-1")
    again = automation.stop_service(session, agreement_id=agreement.id,
                                    end_date=dt.date(2026, 11, 16), actor=SYSTEM,
                                    idempotency_key="stop-1")
    assert again.id == order.id
    assert order.type == WorkOrderType.TURN_OFF
    assert agreement.end_date == dt.date(2026, 11, 16)
    to_in_progress(session, order)
    service.complete(session, order, actor=SYSTEM, now=noon(dt.date(2026, 11, 16)),
                     capture={"read": "4000"})

    final = session.scalars(select(Read).where(Read.read_type == ReadType.FINAL)).one()
    assert final.value == Decimal(4000)
    assert final.read_date == dt.date(2026, 11, 16)
    bill = session.scalars(select(Bill)).one()
    # 15 of 30 days, and monthly block limits are prorated by days too: base
    # 10.00 × 15/30 = 5.00; the first block shrinks to 2.5 kgal, so 3 kgal is
    # 2.5 × 2.00 + 0.5 × 3.00 = 6.50.
    assert bill.total == Decimal("11.50")
    assert account_balance(session, agreement.account_id) == Decimal("11.50")
    account = water["account"]
    assert account.status == AccountStatus.CLOSED  # type: ignore[attr-defined]
    assert account.closed_on == dt.date(2026, 11, 16)  # type: ignore[attr-defined]


def test_start_service_once_per_key(session: Session, water: dict[str, object]) -> None:
    city: City = water["city"]  # type: ignore[assignment]
    account, premise = city.account("Ana Lee")
    city.meter(premise, "W-ANA", "water", "gal", dials=6)
    tariff_id = water["tariff"].id  # type: ignore[attr-defined]
    arguments = {"account_id": account.id, "premise_id": premise.id, "service": "water",
                     "tariff_id": tariff_id, "start_date": dt.date(2026, 12, 1), "actor": SYSTEM,
                     "idempotency_key": "start-1"}
    agreement, order = automation.start_service(session, **arguments)  # type: ignore[arg-type]
    again, same = automation.start_service(session, **arguments)  # type: ignore[arg-type]
    assert (again.id, same.id) == (agreement.id, order.id)
    assert session.scalar(select(func.count()).select_from(ServiceAgreement).where(
        ServiceAgreement.account_id == account.id)) == 1
    assert order.type == WorkOrderType.TURN_ON
    assert order.service_agreement_id == agreement.id
    to_in_progress(session, order)
    service.complete(session, order, actor=SYSTEM, now=noon(dt.date(2026, 12, 2)),
                     capture={"read": "300"})
    assert agreement.start_date == dt.date(2026, 12, 2)
    opening = session.scalars(select(Read).where(Read.source == "work_order")).one()
    assert opening.value == Decimal(300)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"service": "steam"}, "service_unknown"),
        ({"start_date": dt.date(2026, 12, 1), "premise": "same"}, "service_already_active"),
    ],
)
def test_start_service_bad_input(session: Session, water: dict[str, object],
                                 change: dict[str, object], code: str) -> None:
    city: City = water["city"]  # type: ignore[assignment]
    account, premise = city.account("Ana Lee")
    premise_id = water["premise"].id if change.get("premise") else premise.id  # type: ignore[attr-defined]
    arguments: dict[str, object] = {
        "account_id": account.id, "premise_id": premise_id,
        "service": change.get("service", "water"),
        "tariff_id": water["tariff"].id, "start_date": dt.date(2026, 12, 1),  # type: ignore[attr-defined]
        "actor": SYSTEM, "idempotency_key": "start-bad"}
    before = session.scalar(select(func.count()).select_from(WorkOrder))
    with pytest.raises((InvalidInput, Conflict)) as raised:
        automation.start_service(session, **arguments)  # type: ignore[arg-type]
    assert raised.value.code == code
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == before


def test_stop_before_start_rejected(session: Session, water: dict[str, object]) -> None:
    agreement: ServiceAgreement = water["agreement"]  # type: ignore[assignment]
    with pytest.raises(InvalidInput) as raised:
        automation.stop_service(session, agreement_id=agreement.id,
                                end_date=dt.date(2019, 1, 1), actor=SYSTEM,
                                idempotency_key="stop-bad")
    assert raised.value.code == "end_before_start"
    assert agreement.end_date is None

