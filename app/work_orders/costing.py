"""Job costing: labor, parts and equipment charged to a work order, and what closing posts.

Each entry's amount is computed at full precision and rounded half-up to the cent once.
Closing an order posts one job-cost entry (expense debits against accrued labor,
materials inventory and fleet charges) and, when the clerk gives one, a charge to the
customer's account. An unable-to-complete trip may charge the ``trip_fee`` setting.
Every entry has a key derived from the order number, so a retry posts nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.ledger.chart import (
    ACCRUED_FIELD_LABOR,
    FIELD_EQUIPMENT_COST,
    FIELD_LABOR_COST,
    FIELD_MATERIALS_COST,
    FIELD_SERVICE_CHARGES,
    FLEET_CHARGES_PAYABLE,
    MATERIALS_INVENTORY,
    RECEIVABLES,
)
from app.ledger.models import EntryKind, JournalEntry
from app.ledger.service import PostingLine, post_entry
from app.settings import get_settings
from app.work_orders.inventory_models import EquipmentEntry, LaborEntry, PartUse
from app.work_orders.models import Staff, WorkOrder, WorkOrderStatus

if TYPE_CHECKING:
    from app.work_orders.service import Actor

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
HOURS_STEP = Decimal("0.01")
#: Statuses after which no more costs may be recorded on an order.
FINISHED = (WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELED)


@dataclass(frozen=True)
class CostTotals:
    labor: Decimal
    parts: Decimal
    equipment: Decimal

    @property
    def total(self) -> Decimal:
        return self.labor + self.parts + self.equipment


def add_labor(
    session: Session,
    order: WorkOrder,
    *,
    staff: Staff,
    work_date: dt.date,
    hours: Decimal,
    overtime_hours: Decimal = Decimal(0),
    actor: Actor,
    entry_key: str,
) -> LaborEntry:
    """Record hours on the order at the staff member's current rates, once per key."""
    existing = session.scalar(select(LaborEntry).where(LaborEntry.entry_key == entry_key))
    if existing is not None:
        return existing
    _check_open(order)
    _check_hours(hours, "hours", allow_zero=overtime_hours > 0)
    _check_hours(overtime_hours, "overtime hours", allow_zero=True)
    amount = _cents(hours * staff.hourly_rate + overtime_hours * staff.overtime_rate)
    entry = LaborEntry(
        entry_key=entry_key,
        work_order_id=order.id,
        staff_id=staff.id,
        work_date=work_date,
        hours=hours,
        overtime_hours=overtime_hours,
        hourly_rate=staff.hourly_rate,
        overtime_rate=staff.overtime_rate,
        amount=amount,
        recorded_by=actor.label,
    )
    session.add(entry)
    session.flush()
    return entry


def add_equipment(
    session: Session,
    order: WorkOrder,
    *,
    code: str,
    hours: Decimal,
    hourly_rate: Decimal,
    actor: Actor,
    entry_key: str,
    description: str | None = None,
) -> EquipmentEntry:
    """Record equipment hours on the order at ``hourly_rate``, once per key."""
    existing = session.scalar(select(EquipmentEntry).where(EquipmentEntry.entry_key == entry_key))
    if existing is not None:
        return existing
    _check_open(order)
    code = code.strip().upper()
    if not code:
        raise InvalidInput("equipment code is missing; give the unit number",
                           code="equipment_code_missing")
    _check_hours(hours, "equipment hours")
    if not hourly_rate.is_finite() or hourly_rate < 0 or hourly_rate != hourly_rate.quantize(CENT):
        raise InvalidInput(
            f"hourly rate {hourly_rate} of equipment {code} must be zero or more, in whole cents",
            code="amount_invalid",
        )
    entry = EquipmentEntry(
        entry_key=entry_key,
        work_order_id=order.id,
        code=code,
        description=description,
        hours=hours,
        hourly_rate=hourly_rate,
        amount=_cents(hours * hourly_rate),
        recorded_by=actor.label,
    )
    session.add(entry)
    session.flush()
    return entry


def order_costs(session: Session, order: WorkOrder) -> CostTotals:
    """Sum the order's labor, parts and equipment amounts as stored."""
    sums = []
    for model in (LaborEntry, PartUse, EquipmentEntry):
        value = session.scalar(
            select(func.coalesce(func.sum(model.amount), 0)).where(
                model.work_order_id == order.id
            )
        )
        sums.append(Decimal(value or 0).quantize(CENT))
    return CostTotals(labor=sums[0], parts=sums[1], equipment=sums[2])


def check_charge(order: WorkOrder, charge: Decimal | None) -> None:
    """Raise unless ``charge`` is None or a positive amount in cents for an order's account."""
    if charge is None:
        return
    if not isinstance(charge, Decimal) or not charge.is_finite() or charge <= 0:
        raise InvalidInput(
            f"charge {charge!r} for work order {order.number} must be more than 0.00; "
            "leave it out to charge nothing",
            code="charge_invalid",
        )
    if charge != charge.quantize(CENT):
        raise InvalidInput(f"charge {charge} is not whole cents", code="charge_invalid")
    if order.account_id is None:
        raise InvalidInput(
            f"work order {order.number} names no account to charge",
            code="charge_no_account",
        )


def post_close(
    session: Session, order: WorkOrder, *, actor: Actor, charge: Decimal | None
) -> tuple[JournalEntry | None, JournalEntry | None]:
    """Post the order's job costs and the customer charge; return both entries (or None)."""
    check_charge(order, charge)
    closed_on = _local_date(order.closed_at)
    costs = order_costs(session, order)
    cost_entry = None
    lines = [
        line
        for amount, expense, credit in (
            (costs.labor, FIELD_LABOR_COST, ACCRUED_FIELD_LABOR),
            (costs.parts, FIELD_MATERIALS_COST, MATERIALS_INVENTORY),
            (costs.equipment, FIELD_EQUIPMENT_COST, FLEET_CHARGES_PAYABLE),
        )
        if amount
        for line in (PostingLine(expense, amount), PostingLine(credit, -amount))
    ]
    if lines:
        cost_entry = post_entry(
            session,
            key=f"work_order:{order.number}:costs",
            kind=EntryKind.JOB_COST,
            effective_date=closed_on,
            memo=f"Costs of work order {order.number}",
            actor=actor.label,
            lines=lines,
        )
    charge_entry = None
    if charge is not None:
        assert order.account_id is not None
        charge_entry = _charge(
            session, order, amount=charge, key=f"work_order:{order.number}:charge",
            memo=f"Field service, work order {order.number}", day=closed_on, actor=actor,
        )
    log.info("work order %s closed: costs %s, charge %s", order.number, costs.total, charge)
    return cost_entry, charge_entry


def charge_trip_fee(session: Session, order: WorkOrder, *, actor: Actor) -> JournalEntry | None:
    """Charge the ``trip_fee`` setting for the order's latest return trip, if it is set."""
    fee = get_settings().trip_fee
    if fee == 0 or order.account_id is None:
        return None
    return _charge(
        session,
        order,
        amount=fee,
        key=f"work_order:{order.number}:trip_fee:{order.return_trips}",
        memo=f"Return trip {order.return_trips}, work order {order.number}",
        day=_local_date(None),
        actor=actor,
    )


def _charge(
    session: Session, order: WorkOrder, *, amount: Decimal, key: str, memo: str,
    day: dt.date, actor: Actor,
) -> JournalEntry:
    return post_entry(
        session,
        key=key,
        kind=EntryKind.FEE,
        effective_date=day,
        memo=memo,
        actor=actor.label,
        lines=[
            PostingLine(RECEIVABLES, amount, order.account_id),
            PostingLine(FIELD_SERVICE_CHARGES, -amount),
        ],
    )


def _check_open(order: WorkOrder) -> None:
    if order.status in FINISHED:
        raise Conflict(
            f"work order {order.number} is {order.status.value}; costs can no longer be added",
            code="work_order_finished",
        )


def _check_hours(value: Decimal, what: str, *, allow_zero: bool = False) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise InvalidInput(f"{what} {value!r} must be zero or more", code="hours_invalid")
    if value == 0 and not allow_zero:
        raise InvalidInput(f"{what} must be more than 0", code="hours_invalid")
    if value != value.quantize(HOURS_STEP):
        raise InvalidInput(f"{what} {value} has more than 2 decimal places; give hours "
                           "to the hundredth, such as 1.25", code="hours_invalid")
    if value > 24:
        raise InvalidInput(f"{what} {value} is more than a day; record each day separately",
                           code="hours_invalid")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _local_date(instant: dt.datetime | None) -> dt.date:
    settings = get_settings()
    if instant is None:
        return settings.today()
    return instant.astimezone(settings.zone).date()
