"""Storing a Badger BEACON export: register reads, and each line's Flow as interval data.

``Read`` goes to the meter's register ``Register_Number`` (``1`` when empty) and must
be in that register's unit. ``Flow`` goes to the meter's interval register, when it has
one, as the consumption of the interval that contains ``Read_Time``: with 60-minute
intervals a read at 00:59 is the interval that starts at 00:00. The flow keeps its own
unit and must match the interval register's unit. Nothing is converted, so a unit that
differs is a row kept for review that names both units.

A line whose ``Meter_ID`` is not a known serial is matched by its ``Endpoint_SN``
instead, for utilities that file BEACON meters under the radio endpoint's serial.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.meters.import_formats.common import (
    ImportReport,
    RegisterTarget,
    RegisterValue,
    decode_text,
    registers_for,
    store_register_reads,
)
from app.meters.import_formats.intervals import LineInterval, store_interval_groups
from metering.beacon_csv import BeaconRead, parse_beacon_csv
from metering.types import IntervalRead as ParsedInterval
from metering.types import RowError

#: BEACON's unit names and the register units they equal.
BEACON_UNITS = {
    "ccf": "ccf",
    "gallons": "gal",
    "gallon": "gal",
    "gal": "gal",
    "cubic feet": "ft3",
    "cf": "ft3",
    "ft3": "ft3",
    "kgal": "kgal",
    "thousand gallons": "kgal",
    "cubic meters": "m3",
    "m3": "m3",
}


def beacon_unit(name: str) -> str:
    """Return the register unit that BEACON's unit ``name`` means, or ``name`` unchanged."""
    return BEACON_UNITS.get(name.strip().lower(), name)


def import_beacon(
    session: Session,
    import_id: int,
    content: bytes,
    zone: ZoneInfo,
    interval_minutes: int,
    report: ImportReport,
) -> None:
    parsed = parse_beacon_csv(decode_text(content), zone)
    report.rows_read = len(parsed.reads) + len(parsed.errors)
    report.errors.extend(parsed.errors)

    serials = {line.register.meter_serial for line in parsed.reads}
    serials |= {line.endpoint_serial for line in parsed.reads if line.endpoint_serial}
    registers = registers_for(session, serials, interval=False)
    interval_registers = {
        serial: target
        for (serial, _code), target in registers_for(session, serials, interval=True).items()
    }

    values: list[RegisterValue] = []
    flows: dict[int, list[LineInterval]] = defaultdict(list)
    seconds = interval_minutes * 60
    for line in parsed.reads:
        read = line.register
        raw = f"{read.meter_serial},{read.register},{read.value} {read.unit}"
        serial = _known_serial(line, registers, interval_registers)
        target = registers.get((serial, read.register))
        if target is None:
            report.errors.append(RowError(read.line_number, raw, _not_found(line)))
            continue
        unit = beacon_unit(read.unit)
        if unit != target.unit:
            report.errors.append(
                RowError(
                    read.line_number,
                    raw,
                    (
                        f"Read_Unit {read.unit!r} does not match the unit {target.unit!r} of "
                        f"meter {serial} register {read.register}; export the read in "
                        f"{target.unit} or correct the register's unit"
                    ),
                )
            )
            continue
        values.append(RegisterValue(read, target.register_id, read.value, raw))
        flow = _flow_interval(line, serial, interval_registers.get(serial), seconds, report)
        if flow is not None:
            register_id, interval = flow
            flows[register_id].append(
                LineInterval(
                    interval.start,
                    interval.seconds,
                    interval.value,
                    interval.quality,
                    read.line_number,
                    f"{serial},flow,{line.flow} {line.flow_unit}",
                )
            )

    store_register_reads(session, import_id, values, report)
    store_interval_groups(session, import_id, flows, report, zone)
    report.errors.sort(key=lambda error: error.line_number)


def _known_serial(
    line: BeaconRead,
    registers: dict[tuple[str, str], RegisterTarget],
    interval_registers: dict[str, RegisterTarget],
) -> str:
    """Return ``Meter_ID`` when it is a known meter, else a known ``Endpoint_SN``."""
    meter = line.register.meter_serial
    known = {serial for serial, _code in registers} | set(interval_registers)
    if meter in known or line.endpoint_serial is None:
        return meter
    return line.endpoint_serial if line.endpoint_serial in known else meter


def _not_found(line: BeaconRead) -> str:
    read = line.register
    endpoint = f" or endpoint {line.endpoint_serial!r}" if line.endpoint_serial else ""
    return (
        f"meter {read.meter_serial!r}{endpoint} register {read.register!r} not found; "
        "correct the Meter_ID, or have the meter added, then import the file again"
    )


def _flow_interval(
    line: BeaconRead,
    serial: str,
    target: RegisterTarget | None,
    seconds: int,
    report: ImportReport,
) -> tuple[int, ParsedInterval] | None:
    """Return the interval register and interval of the line's Flow, if it is stored."""
    read = line.register
    if line.flow is None or line.flow_unit is None or target is None or read.read_at is None:
        return None
    unit = beacon_unit(line.flow_unit)
    if unit != target.unit:
        report.errors.append(
            RowError(
                read.line_number,
                f"{serial},flow,{line.flow} {line.flow_unit}",
                (
                    f"Flow_Unit {line.flow_unit!r} does not match the unit {target.unit!r} of "
                    f"meter {serial}'s interval register; export the flow in {target.unit} "
                    "or correct the interval register's unit (the register read was stored)"
                ),
            )
        )
        return None
    epoch = int(read.read_at.timestamp())
    start = dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)
    return target.register_id, ParsedInterval(start, seconds, line.flow, unit)
