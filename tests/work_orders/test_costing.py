"""Job costing: labor, parts and equipment amounts, and what closing and return trips post."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.ledger.service import account_balance
from app.settings import get_settings
from app.work_orders import costing, inventory, service
from app.work_orders.models import Staff, StaffRole, WorkOrder, WorkOrderStatus
from app.work_orders.service import Actor
from tests.work_orders.test_work_order_life import in_progress, world  # noqa: F401

SYSTEM = Actor("system")


def costed_order(session: Session, world: dict[str, object]) -> WorkOrder:  # noqa: F811
    """An order with 2.5 h + 1.25 h overtime of labor, 3 couplings and 1.5 h of backhoe."""
    order = in_progress(session, world)
    tech = Staff(name="Ray Ruiz", role=StaffRole.FIELD_CREW, hourly_rate=Decimal("31.40"),
                 overtime_rate=Decimal("47.10"))
    session.add(tech)
    session.flush()
    costing.add_labor(session, order, staff=tech, work_date=dt.date(2026, 12, 4),
                      hours=Decimal("2.5"), overtime_hours=Decimal("1.25"), actor=SYSTEM,
                      entry_key="labor-1")
    inventory.add_part(session, code="CPL-34", name="Coupling", unit="each",
                       unit_cost=Decimal("4.35"), quantity_on_hand=Decimal(10))
    inventory.draw_parts(session, order, "CPL-34", Decimal(3), actor="t", entry_key="part-1")
    costing.add_equipment(session, order, code="bh-7", hours=Decimal("1.5"),
                          hourly_rate=Decimal("85.00"), actor=SYSTEM, entry_key="equip-1")
    return order


def test_totals_by_hand(session: Session, world: dict[str, object]) -> None:  # noqa: F811
    order = costed_order(session, world)
    totals = costing.order_costs(session, order)
    # 2.5 × 31.40 = 78.50, plus 1.25 × 47.10 = 58.875, so 137.375 rounds to 137.38.
    assert totals.labor == Decimal("137.38")
    assert totals.parts == Decimal("13.05")
    assert totals.equipment == Decimal("127.50")
    assert totals.total == Decimal("277.93")


def test_repeated_keys_record_once(session: Session, world: dict[str, object]  # noqa: F811
                                   ) -> None:
    order = costed_order(session, world)
    tech = session.scalars(select(Staff).where(Staff.name == "Ray Ruiz")).one()
    costing.add_labor(session, order, staff=tech, work_date=dt.date(2026, 12, 4),
                      hours=Decimal("2.5"), actor=SYSTEM, entry_key="labor-1")
    costing.add_equipment(session, order, code="BH-7", hours=Decimal("1.5"),
                          hourly_rate=Decimal("85.00"), actor=SYSTEM, entry_key="equip-1")
    assert costing.order_costs(session, order).total == Decimal("277.93")


@pytest.mark.parametrize("hours", [Decimal(0), Decimal(-1), Decimal("1.005"), Decimal(25)])
def test_bad_hours_rejected(session: Session, world: dict[str, object],  # noqa: F811
                            hours: Decimal) -> None:
    order = in_progress(session, world)
    with pytest.raises(InvalidInput) as raised:
        costing.add_labor(session, order, staff=world["tech"], work_date=dt.date(2026, 12, 4),  # type: ignore[arg-type]
                          hours=hours, actor=SYSTEM, entry_key="bad")
    assert raised.value.code == "hours_invalid"
    assert costing.order_costs(session, order).labor == Decimal("0.00")


def close_completed(session: Session, order: WorkOrder, charge: Decimal | None) -> None:
    service.complete(session, order, capture={"read": "4100"}, actor=SYSTEM)
    service.close(session, order, actor=SYSTEM, charge=charge)


def test_close_posts_costs_and_charge(session: Session, world: dict[str, object]  # noqa: F811
                                      ) -> None:
    order = costed_order(session, world)
    order.account_id = world["account"].id  # type: ignore[attr-defined]
    close_completed(session, order, Decimal("45.00"))
    assert order.status == WorkOrderStatus.CLOSED
    entries = {entry.kind: entry for entry in session.scalars(select(JournalEntry))}
    costs = entries[EntryKind.JOB_COST]
    by_code = {p.ledger_account.code: p.amount for p in costs.postings}
    assert by_code == {"5110": Decimal("137.38"), "2300": Decimal("-137.38"),
                       "5120": Decimal("13.05"), "1300": Decimal("-13.05"),
                       "5130": Decimal("127.50"), "2310": Decimal("-127.50")}
    charge = entries[EntryKind.FEE]
    assert charge.entry_key == f"work_order:{order.number}:charge"
    assert sorted(p.amount for p in charge.postings) == [Decimal("-45.00"), Decimal("45.00")]
    assert account_balance(session, order.account_id) == Decimal("45.00")  # type: ignore[arg-type]
    assert session.scalar(select(func.sum(Posting.amount))) == 0


def test_bad_charge_changes_nothing(session: Session, world: dict[str, object]  # noqa: F811
                                    ) -> None:
    order = costed_order(session, world)
    service.complete(session, order, capture={"read": "4100"}, actor=SYSTEM)
    with pytest.raises(InvalidInput) as no_account:
        service.close(session, order, actor=SYSTEM, charge=Decimal("45.00"))
    assert no_account.value.code == "charge_no_account"
    order.account_id = world["account"].id  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput) as negative:
        service.close(session, order, actor=SYSTEM, charge=Decimal("-5.00"))
    assert negative.value.code == "charge_invalid"
    assert order.status == WorkOrderStatus.COMPLETED
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_trip_fee_per_return_trip(session: Session, world: dict[str, object],  # noqa: F811
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_TRIP_FEE", "20.00")
    get_settings.cache_clear()
    order = in_progress(session, world)
    order.account_id = world["account"].id  # type: ignore[attr-defined]
    service.unable(session, order, reason="locked gate", actor=SYSTEM)
    service.dispatch(session, order, actor=SYSTEM)
    service.move(session, order, WorkOrderStatus.IN_PROGRESS, actor=SYSTEM)
    service.unable(session, order, reason="dog", actor=SYSTEM)
    keys = sorted(session.scalars(select(JournalEntry.entry_key)))
    prefix = f"work_order:{order.number}:trip_fee"
    assert keys == [f"{prefix}:1", f"{prefix}:2"]
    assert account_balance(session, order.account_id) == Decimal("40.00")  # type: ignore[arg-type]
    get_settings.cache_clear()


def test_no_trip_fee_by_default(session: Session, world: dict[str, object]) -> None:  # noqa: F811
    order = in_progress(session, world)
    order.account_id = world["account"].id  # type: ignore[attr-defined]
    service.unable(session, order, reason="locked gate", actor=SYSTEM)
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0
