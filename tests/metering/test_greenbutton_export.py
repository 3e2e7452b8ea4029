"""Green Button writer: exact values, local-time rules and a read-back by our parser.

The parser (`metering.greenbutton`) and `zoneinfo` are the oracles: a written feed must
parse back to the same intervals, and the written DST rules must give the same UTC
offsets as the zone database for every hour of the year.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from defusedxml.ElementTree import fromstring

from metering.espi_time import local_time_zone
from metering.greenbutton import parse_green_button
from metering.greenbutton_export import (
    ExportMeterReading,
    ExportUsagePoint,
    espi_scale,
    local_time_rules,
    write_green_button,
)
from metering.types import IntervalRead

CHICAGO = ZoneInfo("America/Chicago")
GENERATED_AT = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
ESPI = "{http://naesb.org/espi}"


def hourly(first: dt.datetime, values: list[str], unit: str = "kWh") -> list[IntervalRead]:
    return [
        IntervalRead(first + dt.timedelta(hours=index), 3600, Decimal(value), unit)
        for index, value in enumerate(values)
    ]


def write(points: list[ExportUsagePoint]) -> bytes:
    return write_green_button(
        points,
        zone=CHICAGO,
        retail_customer_id="42",
        title="Test usage",
        generated_at=GENERATED_AT,
    )


def electric(readings: list[ExportMeterReading]) -> ExportUsagePoint:
    return ExportUsagePoint("Electric service", "electric", readings)


@pytest.mark.parametrize(
    ("unit", "values", "expected"),
    [
        # kWh is written as Wh: 1.234 kWh = 1234 Wh at 10^0.
        ("kWh", ["1.234", "0.5", "12"], (72, 0, [1234, 500, 12000])),
        # 0.0005 kWh = 0.5 Wh needs 10^-1, so every value is written in tenths of a Wh.
        ("kWh", ["0.0005", "1.000"], (72, -1, [5, 10000])),
        ("kWh", ["-0.250"], (72, 0, [-250])),
        # 2.5 ccf = 250 ft3, and 1.25 kgal = 1250 gal.
        ("ccf", ["2.5"], (119, 0, [250])),
        ("kgal", ["1.25", "0.0005"], (128, -1, [12500, 5])),
        ("gal", ["3500"], (128, 0, [3500])),
        ("therm", ["5.185"], (169, -3, [5185])),
        ("kWh", ["0E-6"], (72, 0, [0])),
    ],
)
def test_espi_scale_is_exact(
    unit: str, values: list[str], expected: tuple[int, int, list[int]]
) -> None:
    assert espi_scale(unit, [Decimal(v) for v in values]) == expected


def test_espi_scale_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError, match="'MMBtu' has no ESPI unit code"):
        espi_scale("MMBtu", [Decimal(1)])


def test_chicago_rules_are_us_rules() -> None:
    rules = local_time_rules(CHICAGO, 2026)

    # Second Sunday of March at 02:00 and first Sunday of November at 02:00.
    assert rules.dst_start_rule == "360E2000"
    assert rules.dst_end_rule == "B40E2000"
    assert rules.tz_offset == -6 * 3600
    assert rules.dst_offset == 3600


def test_zone_without_dst_has_no_rules() -> None:
    rules = local_time_rules(ZoneInfo("America/Phoenix"), 2026)

    assert rules.tz_offset == -7 * 3600
    assert rules.dst_offset == 0
    assert rules.dst_start_rule == "FFFFFFFF"
    assert rules.dst_end_rule == "FFFFFFFF"


@pytest.mark.parametrize(
    "name", ["America/Chicago", "Europe/Berlin", "Australia/Sydney", "America/Phoenix"]
)
def test_rules_match_zone_database(name: str) -> None:
    zone = ZoneInfo(name)
    rules = local_time_rules(zone, 2026)
    espi_zone = local_time_zone(
        rules.tz_offset, rules.dst_offset, rules.dst_start_rule, rules.dst_end_rule
    )

    instant = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    mismatches = []
    while instant.year == 2026:
        expected = instant.astimezone(zone).utcoffset()
        written = instant.astimezone(espi_zone).utcoffset()
        if expected != written:
            mismatches.append((instant, expected, written))
        instant += dt.timedelta(hours=1)

    assert mismatches == []


def test_feed_parses_back_across_fall_back_day() -> None:
    # 2026-10-31 05:00 UTC is local midnight (CDT), so three local days follow:
    # 24 hours, then the 25-hour fall-back day 2026-11-01, then 24 hours.
    first = dt.datetime(2026, 10, 31, 5, tzinfo=dt.UTC)
    values = [f"{index}.{index % 7:03d}" for index in range(73)]
    intervals = hourly(first, values)
    intervals[30] = IntervalRead(intervals[30].start, 3600, Decimal("0.0005"), "kWh", "estimated")

    feed = parse_green_button(
        write([electric([ExportMeterReading("Meter E-1", "kWh", intervals)])])
    )

    assert feed.errors == []
    assert len(feed.usage_points) == 1
    point = feed.usage_points[0]
    assert point.errors == []
    assert point.service_kind == "electricity"
    parsed = [(i.start, i.seconds, i.value, i.unit) for i in point.intervals]
    assert parsed == [(i.start, i.seconds, i.value, i.unit) for i in intervals]
    assert point.intervals[30].quality == "8"
    assert [i.quality for i in point.intervals].count(None) == 72
    assert point.meter_readings[0].uom == 72
    assert point.meter_readings[0].interval_length == 3600
    assert point.local_zone is not None
    for interval in intervals:
        assert interval.start.astimezone(point.local_zone).utcoffset() == (
            interval.start.astimezone(CHICAGO).utcoffset()
        )


def test_blocks_are_local_days() -> None:
    # From local midnight of 2026-03-07 (06:00 UTC, CST): 24, 23 (spring forward), 24 hours.
    first = dt.datetime(2026, 3, 7, 6, tzinfo=dt.UTC)
    intervals = hourly(first, ["1"] * 71)

    root = fromstring(write([electric([ExportMeterReading("Meter E-1", "kWh", intervals)])]))

    blocks = list(root.iter(f"{ESPI}IntervalBlock"))
    readings = [len(list(block.iter(f"{ESPI}IntervalReading"))) for block in blocks]
    durations = [block.find(f"{ESPI}interval/{ESPI}duration").text for block in blocks]
    starts = [block.find(f"{ESPI}interval/{ESPI}start").text for block in blocks]
    assert readings == [24, 23, 24]
    assert durations == ["86400", "82800", "86400"]
    # Local midnights of 2026-03-07, 03-08 (CST) and 03-09 (CDT) in epoch seconds.
    assert starts == ["1772863200", "1772949600", "1773032400"]


def test_changeout_meters_share_one_usage_point() -> None:
    old = hourly(dt.datetime(2026, 7, 1, 5, tzinfo=dt.UTC), ["1.5", "2.5"])
    new = hourly(dt.datetime(2026, 7, 1, 7, tzinfo=dt.UTC), ["0.25"])
    readings = [
        ExportMeterReading("Meter E-OLD", "kWh", old),
        ExportMeterReading("Meter E-NEW", "kWh", new),
    ]

    feed = parse_green_button(write([electric(readings)]))

    point = feed.usage_points[0]
    assert [reading.title for reading in point.meter_readings] == ["Meter E-OLD", "Meter E-NEW"]
    assert [i.value for i in point.intervals] == [Decimal("1.5"), Decimal("2.5"), Decimal("0.25")]


def test_water_in_kgal_reads_back_in_gallons() -> None:
    intervals = hourly(dt.datetime(2026, 7, 1, 5, tzinfo=dt.UTC), ["0.125", "1.5"], "kgal")
    point = ExportUsagePoint("Water service", "water", [ExportMeterReading("W", "kgal", intervals)])

    parsed = parse_green_button(write([point])).usage_points[0]

    assert parsed.service_kind == "water"
    assert [(i.value, i.unit) for i in parsed.intervals] == [
        (Decimal(125), "gal"),
        (Decimal(1500), "gal"),
    ]


def test_same_input_writes_same_bytes() -> None:
    intervals = hourly(dt.datetime(2026, 7, 1, 5, tzinfo=dt.UTC), ["1", "2"])
    points = [electric([ExportMeterReading("Meter E-1", "kWh", intervals)])]

    assert write(points) == write(points)
