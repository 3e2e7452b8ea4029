"""Storing wmbusmeters JSON lines: total volume reads and the meter's own flags.

The telegram's ``id`` is the meter serial. Its total goes to the meter's register ``1``.
A total in m3 for a register in another volume unit is converted exactly with
``billing_engine.units.convert`` and rounded half-up to 6 decimal places, the precision
of a stored read.

Repeaters and second receivers deliver a telegram more than once. A copy at the same
instant is a duplicate by key. A telegram whose total equals the previous kept read of
the same meter in the same file, received at most ``REPEAT_SECONDS`` after it, is a
repeat: it is counted as a duplicate and not stored. Meters that send every few
seconds thus store one read per change of value, and consumption between stored reads
is the same as with every repeat kept.

Each flag the telegram reports as set (leak, burst, dry, backflow) becomes a
``meter_flags`` row at the telegram's instant.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates
from app.meters.flags import KNOWN_FLAGS, MeterFlag
from app.meters.import_formats.common import (
    ImportReport,
    RegisterValue,
    decode_text,
    registers_for,
    store_register_reads,
)
from billing_engine.units import Unit, convert
from metering.types import ReadType, RegisterRead, RowError
from metering.wmbus import WmbusRead, parse_wmbus_lines

#: A telegram with an unchanged total this many seconds or less after the previous
#: kept read of its meter is a repeat.
REPEAT_SECONDS = 30
REGISTER = "1"
SOURCE = "wmbus"
_STORED_PLACES = Decimal("0.000001")
_VOLUME_UNITS = {Unit.GAL.value, Unit.FT3.value, Unit.CCF.value, Unit.KGAL.value, Unit.M3.value}


def import_wmbus(
    session: Session,
    import_id: int,
    content: bytes,
    zone: dt.tzinfo,
    report: ImportReport,
) -> None:
    parsed = parse_wmbus_lines(decode_text(content, "JSON lines"))
    report.rows_read = len(parsed.reads) + len(parsed.errors)
    report.errors.extend(parsed.errors)
    registers = registers_for(session, {telegram.meter_id for telegram in parsed.reads})

    values: list[RegisterValue] = []
    flags: list[dict[str, object]] = []
    last_kept: dict[str, tuple[dt.datetime, Decimal]] = {}
    for telegram in parsed.reads:
        raw = f"{telegram.meter_id},{telegram.read_at.isoformat()},{telegram.total} {telegram.unit}"
        target = registers.get((telegram.meter_id, REGISTER))
        if target is None:
            report.errors.append(
                RowError(
                    telegram.line_number,
                    raw,
                    (
                        f"meter {telegram.meter_id!r} register {REGISTER!r} not found; have "
                        "the meter added with the wM-Bus id as its serial, then import the "
                        "file again"
                    ),
                )
            )
            continue
        value = _in_register_unit(telegram, target.unit)
        if value is None:
            report.errors.append(
                RowError(
                    telegram.line_number,
                    raw,
                    (
                        f"total in {telegram.unit} cannot be stored on meter "
                        f"{telegram.meter_id}'s register in {target.unit!r}, which is not a "
                        "volume unit; correct the register's unit"
                    ),
                )
            )
            continue
        # NOTE: only earlier telegrams of this file count, so a repeat that arrives in
        # the next file a few seconds later is stored as a read of its own.
        previous = last_kept.get(telegram.meter_id)
        if previous is not None and _is_repeat(previous, telegram.read_at, telegram.total):
            report.rows_duplicate += 1
            continue
        last_kept[telegram.meter_id] = (telegram.read_at, telegram.total)
        values.append(RegisterValue(_register_read(telegram, zone), target.register_id, value, raw))
        for flag in _set_flags(telegram):
            flags.append(
                {
                    "meter_id": target.meter_id,
                    "register_id": target.register_id,
                    "flag": flag,
                    "flagged_at": telegram.read_at,
                    "source": SOURCE,
                    "import_id": import_id,
                }
            )

    store_register_reads(session, import_id, values, report)
    insert_ignoring_duplicates(session, MeterFlag, flags, ["meter_id", "flag", "flagged_at"])
    report.errors.sort(key=lambda error: error.line_number)


def _is_repeat(previous: tuple[dt.datetime, Decimal], read_at: dt.datetime, total: Decimal) -> bool:
    previous_at, previous_total = previous
    elapsed = (read_at - previous_at).total_seconds()
    return total == previous_total and 0 < elapsed <= REPEAT_SECONDS


def _in_register_unit(telegram: WmbusRead, unit: str) -> Decimal | None:
    if unit == telegram.unit:
        return telegram.total
    if unit not in _VOLUME_UNITS:
        return None
    converted = convert(telegram.total, telegram.unit, unit)
    return converted.quantize(_STORED_PLACES, rounding=ROUND_HALF_UP)


def _register_read(telegram: WmbusRead, zone: dt.tzinfo) -> RegisterRead:
    return RegisterRead(
        line_number=telegram.line_number,
        meter_serial=telegram.meter_id,
        register=REGISTER,
        value=telegram.total,
        unit=telegram.unit,
        read_date=telegram.read_at.astimezone(zone).date(),
        read_at=telegram.read_at,
        read_type=ReadType.ACTUAL,
        source=SOURCE,
    )


def _set_flags(telegram: WmbusRead) -> list[str]:
    states = {
        "leak": telegram.leak,
        "burst": telegram.burst,
        "dry": telegram.dry,
        "backflow": telegram.backflow,
    }
    return [flag for flag in KNOWN_FLAGS if states[flag]]
