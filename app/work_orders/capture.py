"""The fields each work-order type must capture to be completed, and the reading checks.

A reading from the field is digits only, fits the register's dials, and is not below the
last read unless the crew confirms the register rolled over.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.meters.models import Meter, Read, Register
from app.work_orders.models import WorkOrder, WorkOrderType

T = WorkOrderType

#: The fields each type's completion must carry.
REQUIRED: dict[WorkOrderType, tuple[str, ...]] = {
    T.TURN_ON: ("read",),
    T.TURN_OFF: ("read",),
    T.DISCONNECT_NONPAY: ("read",),
    T.RECONNECT: ("read",),
    T.REREAD: ("read",),
    T.METER_CHANGEOUT: ("old_serial", "old_read", "new_serial", "new_read"),
    T.METER_INSTALL: ("new_serial", "new_read"),
    T.METER_REMOVE: ("old_serial", "old_read"),
    T.LEAK_INVESTIGATION: ("finding",),
    T.SERVICE_INVESTIGATION: ("finding",),
}


def check_completion(session: Session, order: WorkOrder, capture: dict[str, Any]) -> dict[str, Any]:
    """Return the checked capture, or raise naming the first missing or invalid field."""
    needed = REQUIRED[order.type]
    missing = [name for name in needed if not str(capture.get(name) or "").strip()]
    if missing:
        raise InvalidInput(
            f"completing a {order.type.value.replace('_', ' ')} order needs {', '.join(missing)}",
            code="completion_incomplete",
        )
    checked: dict[str, Any] = {}
    rollover = bool(capture.get("rollover"))
    if "read" in needed:
        meter = session.get(Meter, order.meter_id) if order.meter_id else None
        checked["read"] = str(check_reading(session, meter, str(capture["read"]), rollover))
    if "old_read" in needed:
        old = _meter_by_serial(session, str(capture["old_serial"]))
        if order.meter_id is not None and old.id != order.meter_id:
            raise InvalidInput(
                f"meter {old.serial} is not the meter on work order {order.number}",
                code="wrong_meter",
            )
        checked["old_serial"] = old.serial
        checked["old_read"] = str(check_reading(session, old, str(capture["old_read"]), rollover))
    if "new_read" in needed:
        new = _meter_by_serial(session, str(capture["new_serial"]))
        checked["new_serial"] = new.serial
        checked["new_read"] = str(check_reading(session, new, str(capture["new_read"]), False))
    if "finding" in needed:
        checked["finding"] = " ".join(str(capture["finding"]).split())[:500]
    if rollover:
        checked["rollover"] = True
    return checked


def _meter_by_serial(session: Session, serial: str) -> Meter:
    meter = session.scalar(select(Meter).where(Meter.serial == serial.strip()))
    if meter is None:
        raise InvalidInput(
            f"meter {serial.strip()} not found; check the serial on the meter",
            code="meter_not_found",
        )
    return meter


def check_reading(session: Session, meter: Meter | None, text: str, rollover: bool) -> Decimal:
    """Check a dial reading against the meter's dials and its last read."""
    text = text.strip()
    if not text.isdigit():
        raise InvalidInput(
            f"reading {text!r} must be digits only, as the dials show them",
            code="reading_not_digits",
        )
    value = Decimal(int(text))
    if meter is None:
        return value
    register = session.scalar(
        select(Register)
        .where(Register.meter_id == meter.id, Register.interval.is_(False))
        .order_by(Register.id)
        .limit(1)
    )
    if register is None:
        return value
    if register.dials is not None and len(text.lstrip("0") or "0") > register.dials:
        raise InvalidInput(
            f"reading {text} has more digits than meter {meter.serial}'s {register.dials} "
            "dials; read the dials again",
            code="reading_too_many_digits",
        )
    last = session.scalar(
        select(Read.value)
        .where(Read.register_id == register.id)
        .order_by(Read.read_date.desc(), Read.id.desc())
        .limit(1)
    )
    if last is not None and value < last and not rollover:
        raise InvalidInput(
            f"reading {text} is below the last read {_dial_text(last)} of meter {meter.serial}; "
            "read again, or confirm that the register rolled over",
            code="reading_below_last",
        )
    return value


def _dial_text(value: Decimal) -> str:
    """Show a stored read as the dials do: 2049992, not 2049992.000000."""
    return f"{value:f}" if value != value.to_integral_value() else str(int(value))
