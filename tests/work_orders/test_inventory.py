"""Parts stock and drawing, the reorder list, and meters moving through the storeroom."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.meters.models import MeterInstallation, MeterStockStatus
from app.work_orders import inventory
from app.work_orders.inventory_models import PartUse
from tests.work_orders.test_work_order_life import reread, world  # noqa: F401


def coupling(session: Session) -> None:
    inventory.add_part(session, code="cpl-34", name="3/4 in meter coupling", unit="each",
                       unit_cost=Decimal("4.35"), reorder_point=Decimal(5),
                       quantity_on_hand=Decimal(12))


def test_draw_reduces_stock_and_costs(session: Session, world: dict[str, object]  # noqa: F811
                                      ) -> None:
    coupling(session)
    order = reread(session, world)
    use = inventory.draw_parts(session, order, "CPL-34", Decimal(3), actor="tech",
                               entry_key="draw-1")
    assert use.amount == Decimal("13.05")  # 3 × 4.35
    assert use.unit_cost == Decimal("4.35")
    assert inventory.get_part(session, "CPL-34").quantity_on_hand == Decimal(9)


def test_same_key_draws_once(session: Session, world: dict[str, object]) -> None:  # noqa: F811
    coupling(session)
    order = reread(session, world)
    first = inventory.draw_parts(session, order, "CPL-34", Decimal(2), actor="t", entry_key="k")
    second = inventory.draw_parts(session, order, "CPL-34", Decimal(2), actor="t", entry_key="k")
    assert first.id == second.id
    assert inventory.get_part(session, "CPL-34").quantity_on_hand == Decimal(10)


def test_overdraw_names_part_and_stock(session: Session, world: dict[str, object]  # noqa: F811
                                       ) -> None:
    coupling(session)
    order = reread(session, world)
    with pytest.raises(Conflict) as raised:
        inventory.draw_parts(session, order, "CPL-34", Decimal(13), actor="t", entry_key="k")
    assert raised.value.code == "part_short"
    assert "CPL-34" in raised.value.message
    assert "has 12 each on hand; cannot draw 13" in raised.value.message
    assert inventory.get_part(session, "CPL-34").quantity_on_hand == Decimal(12)
    assert session.scalar(select(func.count()).select_from(PartUse)) == 0


@pytest.mark.parametrize("quantity", [Decimal(0), Decimal(-1), Decimal("0.0000001")])
def test_bad_quantity_rejected(session: Session, world: dict[str, object],  # noqa: F811
                               quantity: Decimal) -> None:
    coupling(session)
    order = reread(session, world)
    with pytest.raises(InvalidInput) as raised:
        inventory.draw_parts(session, order, "CPL-34", quantity, actor="t", entry_key="k")
    assert raised.value.code == "quantity_invalid"
    assert inventory.get_part(session, "CPL-34").quantity_on_hand == Decimal(12)


def test_reorder_list_at_or_below_point(session: Session, world: dict[str, object]  # noqa: F811
                                        ) -> None:
    coupling(session)
    inventory.add_part(session, code="GSK-1", name="Gasket", unit="each",
                       unit_cost=Decimal("0.40"), reorder_point=Decimal(50),
                       quantity_on_hand=Decimal(10))
    assert [part.code for part in inventory.reorder_list(session)] == ["GSK-1"]
    order = reread(session, world)
    inventory.draw_parts(session, order, "CPL-34", Decimal(7), actor="t", entry_key="k")
    assert [part.code for part in inventory.reorder_list(session)] == ["CPL-34", "GSK-1"]
    inventory.receive_parts(session, "GSK-1", Decimal(100), unit_cost=Decimal("0.45"))
    assert [part.code for part in inventory.reorder_list(session)] == ["CPL-34"]
    assert inventory.get_part(session, "GSK-1").unit_cost == Decimal("0.45")


def test_duplicate_part_code_rejected(session: Session) -> None:
    inventory.add_part(session, code="P1", name="Pipe", unit="ft", unit_cost=Decimal("1.00"))
    with pytest.raises(Conflict):
        inventory.add_part(session, code="p1", name="Pipe", unit="ft", unit_cost=Decimal("1.00"))
    with pytest.raises(InvalidInput):
        inventory.add_part(session, code="P2", name="Pipe", unit="ft", unit_cost=Decimal("1.005"))


def test_meter_moves_through_stock(session: Session, world: dict[str, object]  # noqa: F811
                                   ) -> None:
    premise_id = world["premise"].id  # type: ignore[attr-defined]
    meter = inventory.receive_meter(session, serial="W-200", service="water", unit="gal",
                                    dials=6)
    assert meter.stock_status == MeterStockStatus.IN_STOCK
    assert [m.serial for m in inventory.meters_in_stock(session, "water")] == ["W-200"]
    inventory.install_meter(session, meter, premise_id=premise_id, on=dt.date(2026, 12, 1))
    assert meter.stock_status == MeterStockStatus.INSTALLED
    with pytest.raises(Conflict) as raised:
        inventory.install_meter(session, meter, premise_id=premise_id, on=dt.date(2026, 12, 2))
    assert raised.value.code == "meter_installed"
    with pytest.raises(Conflict):
        inventory.set_stock_status(session, meter, MeterStockStatus.RETIRED)
    installation = inventory.remove_meter(session, meter, premise_id=premise_id,
                                          on=dt.date(2026, 12, 9))
    assert installation.removed_on == dt.date(2026, 12, 9)
    assert meter.stock_status == MeterStockStatus.REMOVED
    inventory.set_stock_status(session, meter, MeterStockStatus.RETIRED)
    with pytest.raises(Conflict) as retired:
        inventory.install_meter(session, meter, premise_id=premise_id, on=dt.date(2026, 12, 10))
    assert retired.value.code == "meter_retired"
    count = session.scalar(select(func.count()).select_from(MeterInstallation).where(
        MeterInstallation.meter_id == meter.id))
    assert count == 1


def test_remove_checks_premise(session: Session, world: dict[str, object]  # noqa: F811
                               ) -> None:
    meter = inventory.meter_by_serial(session, "W-100")
    with pytest.raises(Conflict) as raised:
        inventory.remove_meter(session, meter, premise_id=999, on=dt.date(2026, 12, 9))
    assert raised.value.code == "meter_not_at_premise"
