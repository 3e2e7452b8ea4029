"""Parse register or interval CSV files whose layout a TOML mapping file describes.

A utility receives reads from vendors who each choose their own columns, delimiter,
decimal mark and time format. Instead of a parser per vendor, a small mapping file
names the columns and conventions, and this module reads any file that follows it.
docs/read-formats.md lists every key. A minimal mapping:

    kind = "register"
    [columns]
    meter = "Meter"
    value = "Reading"
    unit = "Unit"
    timestamp = "Read time"

Timestamps with a UTC offset (``2024-06-30T22:30:00-05:00``) are exact. A wall time
without an offset is placed in ``[timestamp] zone`` (or a fixed ``offset``). Wall times
that the zone skips (spring forward) are rejected. One that occurs twice (fall back) is
rejected in a register file. In an interval file, the first row of a meter with that
wall time is the earlier instant and a second such row the later one. Interval exports
list the repeated hour in that order.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metering.register_csv import split_physical_lines
from metering.types import IntervalRead, ReadFileError, ReadType, RegisterRead, RowError

__all__ = [
    "MappedParse",
    "MappingError",
    "MeterInterval",
    "ReadMapping",
    "load_mapping",
    "parse_mapped_csv",
]

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_ZERO = dt.timedelta(0)
#: Decimal places of a stored read or interval value.
_STORED_PLACES = 6
_COLUMN_KEYS = ("meter", "value", "timestamp", "unit", "register")
_TOP_KEYS = {
    "kind",
    "delimiter",
    "header",
    "skip_lines",
    "decimal_comma",
    "interval_minutes",
    "source",
    "columns",
    "fixed",
    "timestamp",
}


class MappingError(ValueError):
    """A mapping file is not valid TOML or has a missing, unknown or invalid key."""


@dataclass(frozen=True)
class ReadMapping:
    """The layout of one vendor's CSV: columns, conventions and kind of read.

    A column is a header name when ``header`` is true, else a 1-based column number.
    ``zone`` is an IANA zone name or None, and ``offset`` a fixed UTC offset or None. When
    both are None, a wall time is placed in the zone the caller passes.
    """

    kind: Literal["register", "interval"]
    meter_column: str | int
    value_column: str | int
    timestamp_column: str | int
    unit_column: str | int | None = None
    register_column: str | int | None = None
    unit: str | None = None
    register: str = "1"
    timestamp_format: str = "iso"
    timestamp_marks: Literal["start", "end"] = "start"
    zone: str | None = None
    offset: dt.timezone | None = None
    delimiter: str = ","
    header: bool = True
    skip_lines: int = 0
    decimal_comma: bool = False
    interval_minutes: int | None = None
    source: str = "mapped"


class MeterInterval(NamedTuple):
    """One interval of a mapped file, with the meter and register it belongs to.

    A named tuple rather than a dataclass holding an ``IntervalRead``: a bulk file has
    millions of these, and one flat tuple is built several times faster.
    """

    line_number: int
    raw: str
    meter_serial: str
    register: str
    start: dt.datetime
    seconds: int
    value: Decimal
    unit: str
    quality: str | None = None

    @property
    def interval(self) -> IntervalRead:
        return IntervalRead(self.start, self.seconds, self.value, self.unit, self.quality)


@dataclass
class MappedParse:
    """Result of parsing a mapped file: register reads or intervals, and the rejected rows."""

    register_reads: list[RegisterRead] = field(default_factory=list)
    intervals: list[MeterInterval] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def load_mapping(text: str) -> ReadMapping:
    """Read a mapping from TOML text; raise ``MappingError`` naming the bad key."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"the mapping file is not valid TOML: {error}") from error
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise MappingError(
            f"unknown key(s) {', '.join(unknown)} in the mapping file; the keys are "
            f"{', '.join(sorted(_TOP_KEYS))}"
        )
    kind = document.get("kind")
    if kind not in ("register", "interval"):
        raise MappingError(f'kind = {kind!r} is invalid; write kind = "register" or "interval"')
    header = _typed(document, "header", bool, True)
    columns = _table(document, "columns")
    fixed = _table(document, "fixed")
    timestamp = _table(document, "timestamp")
    unknown_columns = sorted(set(columns) - set(_COLUMN_KEYS))
    if unknown_columns:
        raise MappingError(
            f"unknown [columns] key(s) {', '.join(unknown_columns)}; the keys are "
            f"{', '.join(_COLUMN_KEYS)}"
        )
    for required in ("meter", "value", "timestamp"):
        if required not in columns:
            raise MappingError(f"[columns] {required} is missing; name the column that contains it")
    if "unit" not in columns and "unit" not in fixed:
        raise MappingError(
            'the mapping names no unit; add [columns] unit, or [fixed] unit = "kWh" (for '
            "example) when the file has no unit column"
        )
    interval_minutes = document.get("interval_minutes")
    if kind == "interval" and (
        not isinstance(interval_minutes, int)
        or isinstance(interval_minutes, bool)
        or interval_minutes <= 0
    ):
        raise MappingError(
            f"interval_minutes = {interval_minutes!r} is invalid; an interval mapping needs "
            "the length of each interval in minutes, such as interval_minutes = 15"
        )
    delimiter = _typed(document, "delimiter", str, ",")
    if len(delimiter) != 1:
        raise MappingError(
            f'delimiter = {delimiter!r} is invalid; write one character, such as ";" or "\\t"'
        )
    marks = _typed(timestamp, "marks", str, "start")
    if marks not in ("start", "end"):
        raise MappingError(f'[timestamp] marks = {marks!r} is invalid; write "start" or "end"')
    return ReadMapping(
        kind=kind,
        meter_column=_column(columns, "meter", header),
        value_column=_column(columns, "value", header),
        timestamp_column=_column(columns, "timestamp", header),
        unit_column=_column(columns, "unit", header) if "unit" in columns else None,
        register_column=_column(columns, "register", header) if "register" in columns else None,
        unit=_optional_text(fixed, "unit"),
        register=_optional_text(fixed, "register") or "1",
        timestamp_format=_typed(timestamp, "format", str, "iso"),
        timestamp_marks="end" if marks == "end" else "start",
        zone=_zone_name(timestamp),
        offset=_fixed_offset(timestamp),
        delimiter=delimiter,
        header=header,
        skip_lines=_non_negative(document, "skip_lines"),
        decimal_comma=_typed(document, "decimal_comma", bool, False),
        interval_minutes=interval_minutes if kind == "interval" else None,
        source=_typed(document, "source", str, "mapped")[:40],
    )


def parse_mapped_csv(text: str, mapping: ReadMapping, zone: ZoneInfo) -> MappedParse:
    """Parse ``text`` as ``mapping`` describes; ``zone`` places wall times with no zone set.

    Read dates are local dates in ``zone``. A missing header column raises
    ``ReadFileError``. Every other problem rejects one line with a ``RowError`` that
    names the column.
    """
    lines = split_physical_lines(text)
    numbered = [
        (index + 1, line)
        for index, line in enumerate(lines)
        if index >= mapping.skip_lines and line.strip()
    ]
    if not numbered:
        raise ReadFileError("the file has no lines to read after skip_lines; check the file")
    positions, names, data = _locate_columns(numbered, mapping)
    wall_zone = _wall_zone(mapping, zone)
    result = MappedParse()
    seen_walls: set[tuple[str, str, dt.datetime]] = set()
    quick = _QuickIntervals(positions, len(names), mapping, wall_zone)
    for line_number, line in data:
        if quick.enabled:
            item = quick.parse(line_number, line)
            if item is not None:
                result.intervals.append(item)
                continue
        if '"' in line:
            fields = next(csv.reader([line], delimiter=mapping.delimiter))
        else:
            # Without quotes, csv.reader splits a line exactly like str.split, only slower.
            fields = line.split(mapping.delimiter)
        if len(fields) < len(names):
            result.errors.append(
                RowError(
                    line_number,
                    line,
                    (
                        f"line {line_number} has {len(fields)} fields but the header has "
                        f"{len(names)}; check the delimiter {mapping.delimiter!r} and the "
                        "quoting of the line"
                    ),
                )
            )
            continue
        outcome = _parse_row(fields, line_number, positions, names, mapping, wall_zone, seen_walls)
        if isinstance(outcome, str):
            result.errors.append(RowError(line_number, line, outcome))
        elif mapping.kind == "register":
            result.register_reads.append(_register_read(outcome, line_number, mapping, zone))
        else:
            result.intervals.append(_interval(outcome, line_number, line, mapping))
    return result


class _QuickIntervals:
    """The common case of an interval row, parsed without building any error text.

    A row qualifies when it has no quotes, enough fields, every value present, a plain
    decimal value and a time that maps to one instant (one with a UTC offset, or a wall
    time that is neither skipped nor repeated). ``parse`` returns None for any other row,
    and the general path then parses it and explains what is wrong. Bulk exports repeat
    each time for every meter, so the start of each distinct time text is cached.
    """

    def __init__(
        self, positions: dict[str, int], width: int, mapping: ReadMapping, wall_zone: dt.tzinfo
    ) -> None:
        self.enabled = mapping.kind == "interval" and not mapping.decimal_comma
        self.mapping = mapping
        self.wall_zone = wall_zone
        self.width = width
        self.meter_at = positions["meter"]
        self.value_at = positions["value"]
        self.time_at = positions["timestamp"]
        self.register_at = positions.get("register")
        self.unit_at = positions.get("unit")
        self.seconds = (mapping.interval_minutes or 0) * 60
        self.starts: dict[str, dt.datetime | None] = {}

    def parse(self, line_number: int, line: str) -> MeterInterval | None:
        if '"' in line:
            return None
        fields = line.split(self.mapping.delimiter)
        if len(fields) < self.width:
            return None
        meter = fields[self.meter_at].strip()
        register = (
            self.mapping.register if self.register_at is None else fields[self.register_at].strip()
        )
        unit = self.mapping.unit if self.unit_at is None else fields[self.unit_at].strip()
        value_text = fields[self.value_at].strip()
        if not (meter and register and unit and _NUMBER.fullmatch(value_text)):
            return None
        point = value_text.find(".")
        if point >= 0 and len(value_text) - point - 1 > _STORED_PLACES:
            return None
        time_text = fields[self.time_at].strip()
        if time_text in self.starts:
            start = self.starts[time_text]
        else:
            start = self.starts[time_text] = self._start(time_text)
        if start is None:
            return None
        return MeterInterval(
            line_number, line, meter, register, start, self.seconds, Decimal(value_text), unit
        )

    def _start(self, text: str) -> dt.datetime | None:
        """Return the start of the interval that ``text`` marks, if it is one instant."""
        try:
            if self.mapping.timestamp_format == "iso":
                moment = dt.datetime.fromisoformat(text)
            else:
                moment = dt.datetime.strptime(text, self.mapping.timestamp_format)  # noqa: DTZ007
        except ValueError:
            return None
        if moment.utcoffset() is None:
            earlier = moment.replace(tzinfo=self.wall_zone, fold=0)
            if earlier.utcoffset() != moment.replace(tzinfo=self.wall_zone, fold=1).utcoffset():
                return None  # skipped or repeated as clocks change
            moment = earlier
        start = moment.astimezone(dt.UTC)
        if self.mapping.timestamp_marks == "end":
            start -= dt.timedelta(seconds=self.seconds)
        return start


class _Row(NamedTuple):
    meter: str
    register: str
    value: Decimal
    unit: str
    instant: dt.datetime


def _parse_row(
    fields: list[str],
    line_number: int,
    positions: dict[str, int],
    names: list[str],
    mapping: ReadMapping,
    wall_zone: dt.tzinfo,
    seen_walls: set[tuple[str, str, dt.datetime]],
) -> _Row | str:
    """Return the row's values, or the reasons it is rejected, each naming the column."""
    # Each problem is (mapping key, message). The line and column name are added only
    # when the row is rejected, because building them for every good row is slow.
    problems: list[tuple[str, str]] = []
    meter = fields[positions["meter"]].strip()
    if not meter:
        problems.append(("meter", "the meter id is empty; enter the meter's serial"))
    if "register" in positions:
        register = fields[positions["register"]].strip()
    else:
        register = mapping.register
    if not register:
        problems.append(("register", "the register is empty; enter the register code"))
    unit = fields[positions["unit"]].strip() if "unit" in positions else (mapping.unit or "")
    if not unit:
        problems.append(("unit", "the unit is empty; enter the unit, such as kWh"))
    value = _parse_value(fields[positions["value"]].strip(), mapping, problems)
    instant = _parse_instant(
        fields[positions["timestamp"]].strip(),
        mapping,
        wall_zone,
        problems,
        seen_walls,
        (meter, register),
    )
    if problems:
        return " ".join(
            f"line {line_number}, column {names[positions[key]]!r}: {message}"
            for key, message in problems
        )
    assert value is not None
    assert instant is not None
    return _Row(meter, register, value, unit, instant)


def _parse_value(
    text: str, mapping: ReadMapping, problems: list[tuple[str, str]]
) -> Decimal | None:
    normalized = text
    if mapping.decimal_comma:
        # A point is a thousands separator in decimal-comma files, which is not accepted.
        normalized = "not a number" if "." in text else text.replace(",", ".")
    if not _NUMBER.fullmatch(normalized):
        mark = "," if mapping.decimal_comma else "."
        problems.append(
            (
                "value",
                f"value {text!r} is not a number; write digits with {mark!r} as the "
                "decimal mark and no thousands separators",
            )
        )
        return None
    value = Decimal(normalized)
    if mapping.kind == "register" and value < 0:
        problems.append(
            (
                "value",
                f"register reading {text!r} is negative; enter the dial reading, "
                "which is 0 or more",
            )
        )
        return None
    # The text matched _NUMBER, so everything after the decimal mark is a digit.
    point = normalized.find(".")
    if point >= 0 and len(normalized) - point - 1 > _STORED_PLACES:
        problems.append(
            (
                "value",
                f"value {text!r} has more than {_STORED_PLACES} decimal places; round it "
                f"to {_STORED_PLACES}",
            )
        )
        return None
    return value


def _parse_instant(
    text: str,
    mapping: ReadMapping,
    wall_zone: dt.tzinfo,
    problems: list[tuple[str, str]],
    seen_walls: set[tuple[str, str, dt.datetime]],
    channel: tuple[str, str],
) -> dt.datetime | None:
    try:
        if mapping.timestamp_format == "iso":
            moment = dt.datetime.fromisoformat(text)
        else:
            moment = dt.datetime.strptime(text, mapping.timestamp_format)  # noqa: DTZ007
    except ValueError:
        expected = "ISO 8601" if mapping.timestamp_format == "iso" else mapping.timestamp_format
        problems.append(
            (
                "timestamp",
                f"timestamp {text!r} does not match the format {expected}; correct the "
                "time or the [timestamp] format in the mapping",
            )
        )
        return None
    offset = moment.utcoffset()
    if offset is not None:
        return moment if offset == _ZERO else moment.astimezone(dt.UTC)
    return _place_wall_time(moment, text, mapping, wall_zone, problems, seen_walls, channel)


def _place_wall_time(
    wall: dt.datetime,
    text: str,
    mapping: ReadMapping,
    wall_zone: dt.tzinfo,
    problems: list[tuple[str, str]],
    seen_walls: set[tuple[str, str, dt.datetime]],
    channel: tuple[str, str],
) -> dt.datetime | None:
    """Return the UTC instant of a wall time; see the module docstring for DST hours."""
    earlier = wall.replace(tzinfo=wall_zone, fold=0)
    later = wall.replace(tzinfo=wall_zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier.astimezone(dt.UTC)
    zone_name = getattr(wall_zone, "key", str(wall_zone))
    if earlier.astimezone(dt.UTC).astimezone(wall_zone).replace(tzinfo=None) != wall:
        problems.append(
            (
                "timestamp",
                f"timestamp {text!r} does not exist in {zone_name} because clocks skip "
                "that hour; check the meter's clock or export the file with UTC offsets",
            )
        )
        return None
    if mapping.kind == "register":
        problems.append(
            (
                "timestamp",
                f"timestamp {text!r} occurs twice in {zone_name} as clocks go back, so "
                "the instant is unknown; export the file with UTC offsets",
            )
        )
        return None
    key = (channel[0], channel[1], wall)
    if key in seen_walls:
        return later.astimezone(dt.UTC)
    seen_walls.add(key)
    return earlier.astimezone(dt.UTC)


def _register_read(
    row: _Row, line_number: int, mapping: ReadMapping, zone: ZoneInfo
) -> RegisterRead:
    return RegisterRead(
        line_number=line_number,
        meter_serial=row.meter,
        register=row.register,
        value=row.value,
        unit=row.unit,
        read_date=row.instant.astimezone(zone).date(),
        read_at=row.instant,
        read_type=ReadType.ACTUAL,
        source=mapping.source,
    )


def _interval(row: _Row, line_number: int, line: str, mapping: ReadMapping) -> MeterInterval:
    assert mapping.interval_minutes is not None
    seconds = mapping.interval_minutes * 60
    start = row.instant
    if mapping.timestamp_marks == "end":
        start -= dt.timedelta(seconds=seconds)
    return MeterInterval(
        line_number, line, row.meter, row.register, start, seconds, row.value, row.unit
    )


def _locate_columns(
    numbered: list[tuple[int, str]], mapping: ReadMapping
) -> tuple[dict[str, int], list[str], list[tuple[int, str]]]:
    """Return each mapped key's 0-based field position, the column names and the data lines."""
    wanted: dict[str, str | int] = {
        "meter": mapping.meter_column,
        "value": mapping.value_column,
        "timestamp": mapping.timestamp_column,
    }
    if mapping.unit_column is not None:
        wanted["unit"] = mapping.unit_column
    if mapping.register_column is not None:
        wanted["register"] = mapping.register_column

    if not mapping.header:
        width = max(int(column) for column in wanted.values())
        names = [f"#{number}" for number in range(1, width + 1)]
        return {key: int(column) - 1 for key, column in wanted.items()}, names, numbered

    header_line_number, header_line = numbered[0]
    names = [name.strip() for name in next(csv.reader([header_line], delimiter=mapping.delimiter))]
    folded = [name.casefold() for name in names]
    positions: dict[str, int] = {}
    missing: list[str] = []
    for key, column in wanted.items():
        name = str(column).casefold()
        if name in folded:
            positions[key] = folded.index(name)
        else:
            missing.append(f"{column!r} ({key})")
    if missing:
        raise ReadFileError(
            f"the header on line {header_line_number} has no column {', '.join(missing)}; it "
            f"has {', '.join(repr(name) for name in names)}. Correct [columns] in the mapping "
            f"or the delimiter {mapping.delimiter!r}"
        )
    return positions, names, numbered[1:]


def _wall_zone(mapping: ReadMapping, zone: ZoneInfo) -> dt.tzinfo:
    if mapping.offset is not None:
        return mapping.offset
    if mapping.zone is not None:
        return dt.UTC if mapping.zone.upper() == "UTC" else ZoneInfo(mapping.zone)
    return zone


def _table(document: dict[str, Any], name: str) -> dict[str, Any]:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise MappingError(f"{name} must be a table; write it as [{name}] with keys below it")
    return table


def _typed(document: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = document.get(key, default)
    if not isinstance(value, kind):
        raise MappingError(
            f"{key} = {value!r} is invalid; it must be a {kind.__name__}, such as {default!r}"
        )
    return value


def _non_negative(document: dict[str, Any], key: str) -> int:
    value = document.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MappingError(f"{key} = {value!r} is invalid; write a whole number 0 or more")
    return value


def _optional_text(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"[fixed] {key} = {value!r} is invalid; write it as non-empty text")
    return value.strip()


def _column(columns: dict[str, Any], key: str, header: bool) -> str | int:
    value = columns[key]
    if header:
        if not isinstance(value, str) or not value.strip():
            raise MappingError(
                f"[columns] {key} = {value!r} is invalid; with header = true, write the "
                "column's name as it appears in the header"
            )
        return value.strip()
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MappingError(
            f"[columns] {key} = {value!r} is invalid; with header = false, write the "
            "column's number, counting from 1"
        )
    return value


def _zone_name(timestamp: dict[str, Any]) -> str | None:
    name = timestamp.get("zone")
    if name is None:
        return None
    if not isinstance(name, str):
        raise MappingError(f"[timestamp] zone = {name!r} is invalid; write an IANA zone name")
    if name.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise MappingError(
            f"[timestamp] zone = {name!r} is not an IANA time zone; write a name such as "
            '"America/Chicago" or "UTC"'
        ) from error
    return name


def _fixed_offset(timestamp: dict[str, Any]) -> dt.timezone | None:
    text = timestamp.get("offset")
    if text is None:
        return None
    match = _OFFSET.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise MappingError(
            f'[timestamp] offset = {text!r} is invalid; write it as "+HH:MM", such as "-05:00"'
        )
    if "zone" in timestamp:
        raise MappingError("[timestamp] has both zone and offset; keep one of them")
    sign = -1 if match.group(1) == "-" else 1
    delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return dt.timezone(sign * delta)
