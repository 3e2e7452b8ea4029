"""Mapped CSV: the mapping file's keys, the shipped examples, errors and DST hours."""

from __future__ import annotations

import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.local_days import daily_totals, intervals_on
from metering.mapped_csv import MappingError, load_mapping, parse_mapped_csv
from metering.types import ReadFileError

CENTRAL = ZoneInfo("America/Chicago")
ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "docs" / "mappings"
HOURLY = ROOT / "tests" / "data" / "interval" / "il-electricity-cdd-hdd-hourly.csv.gz"

ISO_INTERVALS = """
kind = "interval"
interval_minutes = 60
[columns]
meter = "meter"
timestamp = "start"
value = "value"
[fixed]
unit = "kWh"
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def test_route_register_example() -> None:
    mapping = load_mapping((MAPPINGS / "route-register.mapping.toml").read_text())
    text = (
        "R07,WM-0001,2026-07-31T14:05:00-05:00,001234.5\n"
        "\n"
        "R07,WM-0002,2026-07-31T23:30:00-05:00,7\n"
    )
    parsed = parse_mapped_csv(text, mapping, CENTRAL)
    assert parsed.errors == []
    first, second = parsed.register_reads
    assert first.line_number == 1
    assert first.meter_serial == "WM-0001"
    assert first.register == "1"
    assert first.value == Decimal("1234.5")
    assert first.unit == "gal"
    assert first.read_at == utc(2026, 7, 31, 19, 5)
    assert first.source == "route reader"
    assert second.line_number == 3
    # 23:30 Central daylight time is 04:30 UTC the next day, but the local read date stays.
    assert second.read_at == utc(2026, 8, 1, 4, 30)
    assert second.read_date == dt.date(2026, 7, 31)


def test_hourly_interval_example() -> None:
    mapping = load_mapping((MAPPINGS / "hourly-interval.mapping.toml").read_text())
    text = (
        "Zaehler;Kanal;Ende;Verbrauch;Einheit\n"
        "E-1001;1;13.03.2016 01:00;0,41;kWh\n"
        "E-1001;1;13.03.2016 03:00;1,5;kWh\n"
    )
    parsed = parse_mapped_csv(text, mapping, ZoneInfo("UTC"))
    assert parsed.errors == []
    first, second = (item.interval for item in parsed.intervals)
    # 01:00 CST (-06:00) ends the hour that starts at 00:00 CST, which is 06:00 UTC.
    assert first.start == utc(2016, 3, 13, 6)
    assert first.seconds == 3600
    assert first.value == Decimal("0.41")
    assert first.unit == "kWh"
    # Clocks jump from 02:00 CST to 03:00 CDT, so the hour ending 03:00 CDT starts 07:00 UTC.
    assert second.start == utc(2016, 3, 13, 7)
    assert second.value == Decimal("1.5")
    assert parsed.intervals[0].meter_serial == "E-1001"
    assert parsed.intervals[0].line_number == 2


def test_errors_name_line_and_column() -> None:
    mapping = load_mapping((MAPPINGS / "hourly-interval.mapping.toml").read_text())
    text = (
        "Zaehler;Kanal;Ende;Verbrauch;Einheit\n"
        "E-1001;1;13.03.2016 01:00;1.234,5;kWh\n"
        "E-1001;1;2016-03-13 04:00;0,5;kWh\n"
        ";1;13.03.2016 05:00;0,5;kWh\n"
        "E-1001;1;13.03.2016 06:00\n"
        "E-1001;1;13.03.2016 07:00;0,5;kWh\n"
    )
    parsed = parse_mapped_csv(text, mapping, CENTRAL)
    assert [error.line_number for error in parsed.errors] == [2, 3, 4, 5]
    assert "line 2, column 'Verbrauch'" in parsed.errors[0].reason
    assert "'1.234,5'" in parsed.errors[0].reason
    assert "line 3, column 'Ende'" in parsed.errors[1].reason
    assert "%d.%m.%Y %H:%M" in parsed.errors[1].reason
    assert "line 4, column 'Zaehler'" in parsed.errors[2].reason
    assert "has 3 fields but the header has 5" in parsed.errors[3].reason
    assert len(parsed.intervals) == 1


def test_missing_header_column_rejects_file() -> None:
    mapping = load_mapping((MAPPINGS / "hourly-interval.mapping.toml").read_text())
    with pytest.raises(ReadFileError, match=r"no column 'Verbrauch' \(value\)"):
        parse_mapped_csv("Zaehler;Kanal;Ende;Wert;Einheit\n", mapping, CENTRAL)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('kind = "daily"', "kind = 'daily' is invalid"),
        ('kind = "register"\n[columns]\nvalue = "v"\ntimestamp = "t"', "meter is missing"),
        (
            'kind = "register"\n[columns]\nmeter = "m"\nvalue = "v"\ntimestamp = "t"',
            "names no unit",
        ),
        (
            'kind = "interval"\n[columns]\nmeter = "m"\nvalue = "v"\ntimestamp = "t"\nunit = "u"',
            "interval_minutes = None is invalid",
        ),
        (
            'kind = "register"\nheader = false\n[columns]\nmeter = "m"\nvalue = 2\n'
            "timestamp = 3\nunit = 4",
            "column's number",
        ),
        (
            'kind = "register"\n[columns]\nmeter = "m"\nvalue = "v"\ntimestamp = "t"\n'
            'unit = "u"\n[timestamp]\nzone = "Mars/Olympus"',
            "not an IANA time zone",
        ),
        ('kind = "register"\ncolumn = 1', "unknown key(s) column"),
        ("kind = ", "not valid TOML"),
    ],
)
def test_invalid_mapping_is_rejected(toml: str, message: str) -> None:
    with pytest.raises(MappingError) as raised:
        load_mapping(toml)
    assert message in str(raised.value)


def test_skipped_wall_time_is_rejected() -> None:
    mapping = load_mapping(ISO_INTERVALS + '[timestamp]\nzone = "America/Chicago"\n')
    parsed = parse_mapped_csv("meter,start,value\nE-1,2016-03-13T02:30:00,1\n", mapping, CENTRAL)
    assert parsed.intervals == []
    assert "does not exist in America/Chicago" in parsed.errors[0].reason


def test_repeated_wall_time_rejected_for_register() -> None:
    mapping = load_mapping(
        'kind = "register"\n[columns]\nmeter = "meter"\ntimestamp = "at"\nvalue = "value"\n'
        '[fixed]\nunit = "gal"\n'
    )
    parsed = parse_mapped_csv("meter,at,value\nW-1,2016-11-06T01:30:00,10\n", mapping, CENTRAL)
    assert parsed.register_reads == []
    assert "occurs twice in America/Chicago" in parsed.errors[0].reason


def test_fixed_offset_places_wall_times() -> None:
    mapping = load_mapping(ISO_INTERVALS + '[timestamp]\noffset = "-05:00"\n')
    parsed = parse_mapped_csv("meter,start,value\nE-1,2016-11-06T01:00:00,1\n", mapping, CENTRAL)
    assert parsed.intervals[0].interval.start == utc(2016, 11, 6, 6)


def _hourly_lines(strip_offsets: bool) -> str:
    lines = gzip.decompress(HOURLY.read_bytes()).decode().splitlines()
    rows = ["meter,start,value"]
    for line in lines[1:]:
        start, value = line.split(",")
        rows.append(f"E-1,{start[:19] if strip_offsets else start},{value}")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("strip_offsets", [False, True], ids=["offsets", "wall-times"])
def test_dst_days_keep_23_and_25_hours(strip_offsets: bool) -> None:
    # Wall times without offsets must land on the same instants as the offsets say: the
    # first 01:00 of the fall-back day is CDT, the second CST.
    toml = ISO_INTERVALS + ('[timestamp]\nzone = "America/Chicago"\n' if strip_offsets else "")
    parsed = parse_mapped_csv(_hourly_lines(strip_offsets), load_mapping(toml), CENTRAL)
    assert parsed.errors == []
    intervals = [item.interval for item in parsed.intervals]
    assert len(intervals) == 19417
    assert len({interval.start for interval in intervals}) == 19417

    spring = intervals_on(intervals, CENTRAL, dt.date(2016, 3, 13))
    fall = intervals_on(intervals, CENTRAL, dt.date(2016, 11, 6))
    totals = daily_totals(intervals, CENTRAL)
    assert len(spring) == 23
    assert totals[dt.date(2016, 3, 13)] == Decimal("9.80")
    assert len(fall) == 25
    assert totals[dt.date(2016, 11, 6)] == Decimal("18.54")
    assert fall[1].start == utc(2016, 11, 6, 6)
    assert fall[2].start == utc(2016, 11, 6, 7)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e3", "is not a number"),
        ("1,234", "is not a number"),
        ("NaN", "is not a number"),
        ("0.1234567", "more than 6 decimal places"),
        ("-5", "is negative"),
    ],
)
def test_register_value_rejected(value: str, message: str) -> None:
    mapping = load_mapping((MAPPINGS / "route-register.mapping.toml").read_text())
    line = f'R07,WM-0001,2026-07-31T14:05:00-05:00,"{value}"\n'
    parsed = parse_mapped_csv(line, mapping, CENTRAL)
    assert parsed.register_reads == []
    assert "line 1, column '#4'" in parsed.errors[0].reason
    assert message in parsed.errors[0].reason
