"""Parse the Badger BEACON AMA export CSV into register reads.

The export carries one register read per line: `Read` in `Read_Unit` (often CCF)
and, beside it, the latest flow in `Flow_Unit` (often gallons). Both values are
kept as Decimals with their units spelled as the file gives them; nothing is
converted here.

`Read_Time` is local wall time without an offset, so the caller names the zone.
Some local times occur twice (the repeated hour when clocks go back) or never (the
skipped hour when they go forward). The file alone cannot place them on the
timeline, so such a line is rejected with its line number instead of guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from metering.register_csv import numbered_data_lines, split_physical_lines
from metering.types import ReadFileError, ReadType, RegisterRead, RowError

__all__ = ["BeaconParse", "BeaconRead", "parse_beacon_csv"]

REQUIRED_COLUMNS = ("Meter_ID", "Read", "Read_Unit", "Read_Time")
DEFAULT_REGISTER = "1"
SOURCE = "beacon"

_DECIMAL_PATTERN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_READ_TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")
_ESTIMATED_FLAGS = {"": ReadType.ACTUAL, "0": ReadType.ACTUAL, "1": ReadType.ESTIMATED}


@dataclass(frozen=True)
class BeaconRead:
    """One export line: the register read, the endpoint that sent it and the flow beside it.

    `flow` and `flow_unit` are None when the line leaves `Flow` empty.
    """

    register: RegisterRead
    endpoint_serial: str | None
    flow: Decimal | None
    flow_unit: str | None


@dataclass
class BeaconParse:
    """Result of parsing a BEACON export: the good reads and the rejected lines."""

    reads: list[BeaconRead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_beacon_csv(text: str, zone: ZoneInfo) -> BeaconParse:
    """Parse BEACON export text whose `Read_Time` values are wall times in `zone`.

    Blank lines are skipped. Every other line after the header becomes a read or a
    `RowError`. A missing required column raises `ReadFileError`.
    """
    lines = split_physical_lines(text)
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise ReadFileError(
            "The BEACON export is empty. Export it again with the header line "
            "(Account_ID, ..., Meter_ID, ..., Read, Read_Time, Read_Unit, ...)."
        )
    columns = [name.strip() for name in next(csv.reader([lines[header_index]]))]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ReadFileError(
            f"Header on line {header_index + 1} is missing column(s) {', '.join(missing)}. "
            "Export the BEACON report with the Meter_ID, Read, Read_Unit and Read_Time columns."
        )

    result = BeaconParse()
    for line_number, line in numbered_data_lines(lines, header_index):
        outcome = _parse_row(line, line_number, columns, zone)
        if isinstance(outcome, BeaconRead):
            result.reads.append(outcome)
        else:
            result.errors.append(RowError(line_number=line_number, raw=line, reason=outcome))
    return result


def _parse_row(line: str, line_number: int, columns: list[str], zone: ZoneInfo) -> BeaconRead | str:
    """Return the read on this line, or the reasons it was rejected as one message."""
    fields = next(csv.reader([line]))
    if len(fields) != len(columns):
        return (
            f"Line has {len(fields)} fields but the header has {len(columns)} columns. "
            "Export the line again or add the missing fields so it matches the header."
        )
    row = {name: value.strip() for name, value in zip(columns, fields, strict=True)}
    problems: list[str] = []

    meter = row["Meter_ID"]
    if not meter:
        problems.append("Meter_ID is empty. Enter the meter's ID as BEACON lists it.")
    value = _parse_decimal("Read", row["Read"], problems, allow_negative=False)
    unit = row["Read_Unit"]
    if not unit:
        problems.append("Read_Unit is empty. Enter the register's unit, such as CCF or Gallons.")
    read_at = _parse_read_time(row["Read_Time"], zone, problems)
    read_type = _ESTIMATED_FLAGS.get(row.get("Estimated_Flag", ""))
    if read_type is None:
        problems.append(
            f"Estimated_Flag {row['Estimated_Flag']!r} is not 0 or 1. "
            "Enter 1 for an estimated read and 0 for an actual one."
        )

    flow_text = row.get("Flow", "")
    flow_unit = row.get("Flow_Unit", "") or None
    flow = _parse_decimal("Flow", flow_text, problems, allow_negative=True) if flow_text else None
    if flow_text and flow_unit is None:
        problems.append(
            f"Flow {flow_text!r} has no Flow_Unit. Enter the flow's unit, such as Gallons."
        )

    if problems:
        return " ".join(problems)
    assert value is not None
    assert read_at is not None
    assert read_type is not None
    register = RegisterRead(
        line_number=line_number,
        meter_serial=meter,
        register=row.get("Register_Number", "") or DEFAULT_REGISTER,
        value=value,
        unit=unit,
        read_date=read_at.astimezone(zone).date(),
        read_at=read_at,
        read_type=read_type,
        source=SOURCE,
    )
    return BeaconRead(
        register=register,
        endpoint_serial=row.get("Endpoint_SN", "") or None,
        flow=flow,
        flow_unit=flow_unit,
    )


def _parse_decimal(
    name: str, text: str, problems: list[str], *, allow_negative: bool
) -> Decimal | None:
    if not text:
        problems.append(f"{name} is empty. Enter the value as a decimal number (e.g. 227.6).")
        return None
    if not _DECIMAL_PATTERN.fullmatch(text):
        problems.append(
            f"{name} {text!r} is not a decimal number. Write it with digits and an optional "
            "decimal point, without thousands separators or exponents (e.g. 227.6)."
        )
        return None
    value = Decimal(text)
    if value < 0 and not allow_negative:
        problems.append(
            f"{name} {text!r} is negative. Register readings are 0 or more; "
            "enter the dial reading, not the consumption."
        )
        return None
    return value


def _parse_read_time(text: str, zone: ZoneInfo, problems: list[str]) -> datetime | None:
    """Return the UTC instant of local wall time `text` in `zone`, or None after a problem."""
    try:
        if not _READ_TIME_PATTERN.fullmatch(text):
            raise ValueError(text)
        wall = datetime.fromisoformat(text)
    except ValueError:
        quoted = repr(text) if text else "empty"
        problems.append(
            f"Read_Time {quoted} is not a date and time. "
            "Write it as YYYY-MM-DD HH:MM in local time (e.g. 2024-08-01 00:59)."
        )
        return None

    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # A skipped wall time comes back changed from a round trip through UTC, but a
        # repeated one comes back unchanged.
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            problems.append(
                f"Read_Time {text!r} does not exist in {zone.key}: clocks skipped that hour. "
                "Check the meter's clock and correct the time, or export the read in UTC."
            )
        else:
            problems.append(
                f"Read_Time {text!r} occurs twice in {zone.key} as clocks go back, "
                "so the instant is unknown. Export the read in UTC or enter it by hand."
            )
        return None
    return first.astimezone(UTC)
