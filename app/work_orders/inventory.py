"""The storeroom: parts with their stock and reorder points, and meters by serial.

A meter's ``stock_status`` is the storeroom's record (in stock, installed, removed,
retired). Where a meter serves, and from when, is its ``MeterInstallation``, which the
bill run reads; ``install_meter`` and ``remove_meter`` change both together.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.meters.models import (
    Meter,
    MeterInstallation,
    MeterStockStatus,
    Read,
    ReadType,
    Register,
    read_key,
)
from app.work_orders.inventory_models import Part, PartUse
from app.work_orders.models import WorkOrder

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
#: Quantities are stored to a millionth of a unit.
QUANTITY_STEP = Decimal("0.000001")


def add_part(
    session: Session,
    *,
    code: str,
    name: str,
    unit: str,
    unit_cost: Decimal,
    reorder_point: Decimal = Decimal(0),
    quantity_on_hand: Decimal = Decimal(0),
) -> Part:
    """Add a part to the catalog; its code must be new."""
    code = code.strip().upper()
    if not code:
        raise InvalidInput("part code is missing; give the code on the bin label",
                           code="part_code_missing")
    if session.scalar(select(Part.id).where(Part.code == code)) is not None:
        raise Conflict(f"part {code} already exists; receive stock into it", code="part_exists")
    _check_money(unit_cost, f"unit cost of part {code}")
    _check_quantity(reorder_point, f"reorder point of part {code}", allow_zero=True)
    _check_quantity(quantity_on_hand, f"opening quantity of part {code}", allow_zero=True)
    part = Part(
        code=code,
        name=name.strip(),
        unit=unit.strip(),
        unit_cost=unit_cost,
        reorder_point=reorder_point,
        quantity_on_hand=quantity_on_hand,
        active=True,
    )
    session.add(part)
    session.flush()
    return part


def get_part(session: Session, code: str, *, lock: bool = False) -> Part:
    statement = select(Part).where(Part.code == code.strip().upper())
    if lock:
        statement = statement.with_for_update()
    part = session.scalar(statement)
    if part is None:
        raise NotFound(f"part {code.strip().upper()} not found", code="part_not_found")
    return part


def receive_parts(
    session: Session, code: str, quantity: Decimal, *, unit_cost: Decimal | None = None
) -> Part:
    """Add received stock to a part; a new ``unit_cost`` applies to later draws."""
    part = get_part(session, code, lock=True)
    _check_quantity(quantity, f"quantity of part {part.code} received")
    if unit_cost is not None:
        _check_money(unit_cost, f"unit cost of part {part.code}")
        part.unit_cost = unit_cost
    part.quantity_on_hand += quantity
    session.flush()
    return part


def draw_parts(
    session: Session,
    order: WorkOrder,
    code: str,
    quantity: Decimal,
    *,
    actor: str,
    entry_key: str,
) -> PartUse:
    """Take parts from stock for an order at the current unit cost, once per ``entry_key``.

    Drawing more than is on hand raises ``Conflict`` and changes nothing.
    """
    existing = session.scalar(select(PartUse).where(PartUse.entry_key == entry_key))
    if existing is not None:
        return existing
    part = get_part(session, code, lock=True)
    _check_quantity(quantity, f"quantity of part {part.code}")
    if quantity > part.quantity_on_hand:
        raise Conflict(
            f"part {part.code} ({part.name}) has {_plain(part.quantity_on_hand)} {part.unit} "
            f"on hand; cannot draw {_plain(quantity)} for work order {order.number}",
            code="part_short",
        )
    part.quantity_on_hand -= quantity
    use = PartUse(
        entry_key=entry_key,
        work_order_id=order.id,
        part_id=part.id,
        quantity=quantity,
        unit_cost=part.unit_cost,
        amount=(quantity * part.unit_cost).quantize(CENT),
        recorded_by=actor,
    )
    session.add(use)
    session.flush()
    log.info("work order %s drew %s %s of part %s", order.number, quantity, part.unit, part.code)
    return use


def reorder_list(session: Session) -> list[Part]:
    """List active parts at or below their reorder point, by code."""
    return list(
        session.scalars(
            select(Part)
            .where(Part.active.is_(True), Part.quantity_on_hand <= Part.reorder_point)
            .order_by(Part.code)
        )
    )


def receive_meter(
    session: Session,
    *,
    serial: str,
    service: str,
    unit: str,
    dials: int | None,
    multiplier: Decimal = Decimal(1),
    model: str | None = None,
    size: str | None = None,
) -> Meter:
    """Add a new meter to stock with its one consumption register."""
    serial = serial.strip()
    if not serial:
        raise InvalidInput("meter serial is missing; give the serial on the meter",
                           code="meter_serial_missing")
    if session.scalar(select(Meter.id).where(Meter.serial == serial)) is not None:
        raise Conflict(f"meter {serial} is already on file", code="meter_exists")
    meter = Meter(
        serial=serial,
        service=service,
        model=model,
        size=size,
        stock_status=MeterStockStatus.IN_STOCK,
    )
    session.add(meter)
    session.flush()
    session.add(
        Register(
            meter_id=meter.id, code="1", unit=unit, multiplier=multiplier, dials=dials,
            interval=False,
        )
    )
    session.flush()
    return meter


def meter_by_serial(session: Session, serial: str) -> Meter:
    meter = session.scalar(select(Meter).where(Meter.serial == serial.strip()))
    if meter is None:
        raise NotFound(f"meter {serial.strip()} not found", code="meter_not_found")
    return meter


def meters_in_stock(session: Session, service: str | None = None) -> list[Meter]:
    """List meters in stock that no open installation places at a premise."""
    # A meter row added outside this module (an import, a test builder) keeps the
    # column default "in_stock" even when it is installed, so the installation decides.
    installed = exists().where(
        MeterInstallation.meter_id == Meter.id, MeterInstallation.removed_on.is_(None)
    )
    statement = select(Meter).where(Meter.stock_status == MeterStockStatus.IN_STOCK, ~installed)
    if service is not None:
        statement = statement.where(Meter.service == service)
    return list(session.scalars(statement.order_by(Meter.serial)))


def set_stock_status(session: Session, meter: Meter, status: MeterStockStatus) -> Meter:
    """Return a removed meter to stock or retire it; installing goes through ``install_meter``."""
    if status == MeterStockStatus.INSTALLED:
        raise InvalidInput(
            f"install meter {meter.serial} with a work order so its installation is recorded",
            code="meter_install_direct",
        )
    if open_installation(session, meter) is not None:
        raise Conflict(
            f"meter {meter.serial} is installed at a premise; remove it first",
            code="meter_installed",
        )
    meter.stock_status = status
    session.flush()
    return meter


def open_installation(session: Session, meter: Meter) -> MeterInstallation | None:
    return session.scalar(
        select(MeterInstallation).where(
            MeterInstallation.meter_id == meter.id, MeterInstallation.removed_on.is_(None)
        )
    )


def install_meter(
    session: Session, meter: Meter, *, premise_id: int, on: dt.date
) -> MeterInstallation:
    """Start the meter's installation at the premise from ``on`` and mark it installed."""
    if meter.stock_status == MeterStockStatus.RETIRED:
        raise Conflict(f"meter {meter.serial} is retired and cannot be installed",
                       code="meter_retired")
    current = open_installation(session, meter)
    if current is not None:
        raise Conflict(
            f"meter {meter.serial} is already installed at premise {current.premise_id} "
            f"since {current.installed_on}; remove it there first",
            code="meter_installed",
        )
    installation = MeterInstallation(
        meter_id=meter.id, premise_id=premise_id, service=meter.service, installed_on=on
    )
    session.add(installation)
    meter.stock_status = MeterStockStatus.INSTALLED
    session.flush()
    return installation


def remove_meter(
    session: Session, meter: Meter, *, premise_id: int, on: dt.date
) -> MeterInstallation:
    """End the meter's installation at the premise on ``on`` and mark it removed."""
    current = open_installation(session, meter)
    if current is None or current.premise_id != premise_id:
        raise Conflict(
            f"meter {meter.serial} is not installed at premise {premise_id}; check the serial",
            code="meter_not_at_premise",
        )
    if on <= current.installed_on:
        raise InvalidInput(
            f"meter {meter.serial} was installed on {current.installed_on}; it cannot be "
            f"removed on {on}",
            code="meter_removed_before_installed",
        )
    current.removed_on = on
    meter.stock_status = MeterStockStatus.REMOVED
    session.flush()
    return current


def record_field_read(
    session: Session, meter: Meter, *, value: Decimal, on: dt.date, at: dt.datetime,
    read_type: ReadType = ReadType.ACTUAL,
) -> Read:
    """Store a read the crew took, on the meter's consumption register."""
    register = session.scalar(
        select(Register)
        .where(Register.meter_id == meter.id, Register.interval.is_(False))
        .order_by(Register.id)
        .limit(1)
    )
    if register is None:
        raise Conflict(
            f"meter {meter.serial} has no consumption register to store the read on; add one",
            code="no_register",
        )
    read = Read(
        register_id=register.id,
        read_key=read_key(on, at),
        read_date=on,
        read_at=at,
        value=value,
        read_type=read_type,
        source="work_order",
    )
    session.add(read)
    session.flush()
    return read


def _check_quantity(value: Decimal, what: str, *, allow_zero: bool = False) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(f"{what} must be a decimal number, not {value!r}",
                           code="quantity_invalid")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(f"{what} must be more than 0, not {value}", code="quantity_invalid")
    if value != value.quantize(QUANTITY_STEP):
        raise InvalidInput(f"{what} {value} has more than 6 decimal places",
                           code="quantity_invalid")


def _check_money(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise InvalidInput(f"{what} must be zero or more, not {value!r}", code="amount_invalid")
    if value != value.quantize(CENT):
        raise InvalidInput(f"{what} {value} is not whole cents", code="amount_invalid")


def _plain(value: Decimal) -> str:
    """Show a quantity without trailing zeros: 3, 2.5."""
    return f"{value.normalize():f}"
