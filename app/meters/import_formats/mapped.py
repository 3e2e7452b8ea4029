"""Storing a CSV file that a mapping file describes (see ``metering.mapped_csv``).

A register mapping stores reads on the register that the meter and register columns
name. An interval mapping stores intervals on the meter's interval register: the one
whose code the register column (or ``[fixed] register``) names, else, when the mapping
has no register column, the meter's interval register whatever its code. Units must
match the register's unit, because nothing is converted.
"""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.meters.import_formats.common import (
    ImportReport,
    RegisterTarget,
    decode_text,
    registers_for,
    resolve_register_reads,
    store_register_reads,
)
from app.meters.import_formats.intervals import store_interval_groups
from app.meters.models import Meter
from metering.mapped_csv import MeterInterval, ReadMapping, parse_mapped_csv
from metering.types import RegisterRead, RowError


def import_mapped(
    session: Session,
    import_id: int,
    content: bytes,
    mapping: ReadMapping,
    zone: ZoneInfo,
    report: ImportReport,
) -> None:
    parsed = parse_mapped_csv(decode_text(content), mapping, zone)
    report.rows_read = len(parsed.register_reads) + len(parsed.intervals) + len(parsed.errors)
    report.errors.extend(parsed.errors)
    if mapping.kind == "register":
        _store_registers(session, import_id, parsed.register_reads, report)
    else:
        _store_intervals(session, import_id, parsed.intervals, mapping, report, zone)
    report.errors.sort(key=lambda error: error.line_number)


def _store_registers(
    session: Session, import_id: int, reads: list[RegisterRead], report: ImportReport
) -> None:
    values = resolve_register_reads(session, reads, report, "the meter or register column")
    store_register_reads(session, import_id, values, report)


def _store_intervals(
    session: Session,
    import_id: int,
    intervals: list[MeterInterval],
    mapping: ReadMapping,
    report: ImportReport,
    zone: ZoneInfo,
) -> None:
    found = registers_for(session, (item.meter_serial for item in intervals), interval=True)
    any_code: dict[str, RegisterTarget] = {}
    for (serial, _code), first in sorted(found.items()):
        any_code.setdefault(serial, first)

    by_register: dict[int, list[MeterInterval]] = defaultdict(list)
    unmatched: list[MeterInterval] = []
    for item in intervals:
        target = found.get((item.meter_serial, item.register))
        if target is None and mapping.register_column is None:
            target = any_code.get(item.meter_serial)
        if target is None:
            unmatched.append(item)
            continue
        if item.unit != target.unit:
            report.errors.append(
                RowError(
                    item.line_number,
                    item.raw,
                    (
                        f"unit {item.unit!r} does not match the unit "
                        f"{target.unit!r} of meter {item.meter_serial}'s interval register "
                        f"{item.register}; correct the unit in the file or the mapping's "
                        "[fixed] unit"
                    ),
                )
            )
            continue
        by_register[target.register_id].append(item)
    store_interval_groups(session, import_id, by_register, report, zone)
    if unmatched:
        # The reason differs for a meter on file without the register and an unknown serial.
        serials = sorted({item.meter_serial for item in unmatched})
        known = {
            serial
            for clause in matching(session, Meter.serial, serials)
            for serial in session.scalars(select(Meter.serial).where(clause))
        }
        report.errors.extend(
            RowError(item.line_number, item.raw, _no_register(item, mapping, known))
            for item in unmatched
        )


def _no_register(item: MeterInterval, mapping: ReadMapping, known: set[str]) -> str:
    """Return the reason a row's meter and register match no interval register."""
    if item.meter_serial not in known and item.meter_serial:
        return (
            f"meter {item.meter_serial!r} not found; correct the meter column, or add the "
            "meter, then import the file again"
        )
    if mapping.register_column is None:
        return (
            f"meter {item.meter_serial!r} has no interval register; have one added, then "
            "import the file again"
        )
    return (
        f"meter {item.meter_serial!r} has no interval register {item.register!r}; correct "
        "the register column, or have the interval register added, then import the file again"
    )
