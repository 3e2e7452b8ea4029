"""Parse the documented register-read CSV format (see docs/read-formats.md).

Each data line becomes a `RegisterRead` or a `RowError`, so one bad line never
stops the rest of the file. Problems with the file as a whole (no header, an
unknown or missing column) raise `ReadFileError`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from metering.types import ReadFileError, ReadType, RegisterParse, RegisterRead, RowError

__all__ = [
    "KNOWN_COLUMNS",
    "REGISTER_UNITS",
    "numbered_data_lines",
    "parse_register_csv",
    "split_physical_lines",
]

KNOWN_COLUMNS = (
    "meter",
    "register",
    "read_date",
    "read_at",
    "value",
    "unit",
    "read_type",
    "source",
)
REQUIRED_COLUMNS = ("meter", "value", "unit")

# Canonical spelling of each accepted unit. Input is matched without regard to case.
REGISTER_UNITS = ("gal", "ft3", "ccf", "kgal", "m3", "kWh", "therm", "kW")
_UNIT_BY_LOWER = {unit.lower(): unit for unit in REGISTER_UNITS}

MAX_DECIMAL_PLACES = 6
DEFAULT_REGISTER = "1"
DEFAULT_SOURCE = "csv"

# Plain decimal notation only: exponents, thousands separators and NaN are rejected.
_DECIMAL_PATTERN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_physical_lines(text: str) -> list[str]:
    """Split text on CRLF, CR or LF after dropping a leading byte-order mark.

    Unlike `str.splitlines`, form feeds and Unicode line separators stay inside a line,
    so the index of each item plus one is the line number an editor shows.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def numbered_data_lines(lines: list[str], header_index: int) -> Iterator[tuple[int, str]]:
    """Yield the 1-based line number and text of each non-blank line after the header."""
    for index in range(header_index + 1, len(lines)):
        if lines[index].strip():
            yield index + 1, lines[index]


def parse_register_csv(text: str, zone: ZoneInfo) -> RegisterParse:
    """Parse register reads from CSV text, deriving local read dates in `zone`.

    Blank lines are skipped. A field may be quoted, but a quoted field cannot span
    lines, because every physical line is one record.
    """
    lines = split_physical_lines(text)
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise ReadFileError(
            "The register-read file is empty. Add a header line such as "
            "'meter,register,read_date,value,unit' followed by one line per read."
        )
    columns = _parse_header(lines[header_index], header_index + 1)

    result = RegisterParse()
    for line_number, line in numbered_data_lines(lines, header_index):
        outcome = _parse_row(line, line_number, columns, zone)
        if isinstance(outcome, RegisterRead):
            result.reads.append(outcome)
        else:
            result.errors.append(RowError(line_number=line_number, raw=line, reason=outcome))
    return result


def _parse_header(line: str, line_number: int) -> list[str]:
    columns = [name.strip().lower() for name in next(csv.reader([line]))]

    unknown = [name for name in columns if name not in KNOWN_COLUMNS]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ReadFileError(
            f"Header on line {line_number} has unknown column(s) {listed}. "
            f"Remove them or rename them to one of: {', '.join(KNOWN_COLUMNS)}."
        )

    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise ReadFileError(
            f"Header on line {line_number} repeats column(s) {', '.join(duplicates)}. "
            "Keep one column of each name."
        )

    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ReadFileError(
            f"Header on line {line_number} is missing required column(s) "
            f"{', '.join(missing)}. The header must name meter, value and unit, "
            "and read_date or read_at."
        )
    if "read_date" not in columns and "read_at" not in columns:
        raise ReadFileError(
            f"Header on line {line_number} has neither read_date nor read_at. "
            "Add a read_date column (YYYY-MM-DD) or a read_at column (ISO 8601 with an offset)."
        )
    return columns


def _parse_row(
    line: str, line_number: int, columns: list[str], zone: ZoneInfo
) -> RegisterRead | str:
    """Return the read on this line, or the reasons it was rejected as one message."""
    fields = next(csv.reader([line]))
    if len(fields) != len(columns):
        return (
            f"Line has {len(fields)} fields but the header has {len(columns)} columns "
            f"({', '.join(columns)}). Add or remove fields so each line matches the header."
        )
    row = {name: field.strip() for name, field in zip(columns, fields, strict=True)}

    problems: list[str] = []

    meter = row.get("meter", "")
    if not meter:
        problems.append("meter is empty. Enter the meter serial number.")

    register = row.get("register", "") or DEFAULT_REGISTER
    value = _parse_value(row.get("value", ""), problems)
    unit = _parse_unit(row.get("unit", ""), problems)
    read_at = _parse_read_at(row.get("read_at", ""), problems)
    read_date = _parse_read_date(row.get("read_date", ""), problems)
    read_type = _parse_read_type(row.get("read_type", ""), problems)
    source = row.get("source", "") or DEFAULT_SOURCE

    if not row.get("read_at") and not row.get("read_date"):
        problems.append(
            "read_date and read_at are both empty. Enter read_date as YYYY-MM-DD "
            "or read_at as ISO 8601 with an offset."
        )
    if read_at is not None:
        local_date = read_at.astimezone(zone).date()
        if read_date is None and not row.get("read_date"):
            read_date = local_date
        elif read_date is not None and read_date != local_date:
            problems.append(
                f"read_date {read_date.isoformat()} does not match read_at "
                f"{row['read_at']}, which is {local_date.isoformat()} in {zone.key}. "
                "Correct one of them, or leave read_date empty to derive it."
            )

    if problems:
        return " ".join(problems)
    assert value is not None
    assert unit is not None
    assert read_date is not None
    assert read_type is not None
    return RegisterRead(
        line_number=line_number,
        meter_serial=meter,
        register=register,
        value=value,
        unit=unit,
        read_date=read_date,
        read_at=read_at,
        read_type=read_type,
        source=source,
    )


def _parse_value(text: str, problems: list[str]) -> Decimal | None:
    if not text:
        problems.append("value is empty. Enter the register reading as a decimal number.")
        return None
    if not _DECIMAL_PATTERN.fullmatch(text):
        problems.append(
            f"value {text!r} is not a decimal number. Write it with digits and an "
            "optional decimal point, without thousands separators or exponents (e.g. 1234.5)."
        )
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        problems.append(f"value {text!r} is not a decimal number.")
        return None
    if value < 0:
        problems.append(
            f"value {text!r} is negative. Register readings are 0 or more; "
            "enter the dial reading, not the consumption."
        )
        return None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMAL_PLACES:
        problems.append(
            f"value {text!r} has {-exponent} decimal places. "
            f"Round it to at most {MAX_DECIMAL_PLACES}."
        )
        return None
    return value


def _parse_unit(text: str, problems: list[str]) -> str | None:
    unit = _UNIT_BY_LOWER.get(text.lower())
    if unit is None:
        unit_text = repr(text) if text else "empty"
        allowed = ", ".join(REGISTER_UNITS)
        problems.append(f"unit {unit_text} is not supported. Use one of: {allowed}.")
    return unit


def _parse_read_date(text: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        if not _DATE_PATTERN.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        problems.append(
            f"read_date {text!r} is not a valid date. Write it as YYYY-MM-DD (e.g. 2024-06-30)."
        )
        return None


def _parse_read_at(text: str, problems: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            f"read_at {text!r} is not an ISO 8601 timestamp. "
            "Write it like 2024-07-01T03:30:00Z or 2024-06-30T22:30:00-05:00."
        )
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problems.append(
            f"read_at {text!r} has no UTC offset, so the instant is ambiguous. "
            "Add Z or an offset such as -05:00."
        )
        return None
    return moment.astimezone(UTC)


def _parse_read_type(text: str, problems: list[str]) -> ReadType | None:
    if not text:
        return ReadType.ACTUAL
    try:
        return ReadType(text.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in ReadType)
        problems.append(f"read_type {text!r} is not known. Use one of: {allowed}.")
        return None
