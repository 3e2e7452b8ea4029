"""Green Button parsing against real sample feeds and the upstream parsed dumps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.greenbutton import UsagePoint, parse_green_button
from metering.local_days import daily_totals, intervals_on
from metering.types import ReadFileError

DESERT = "Desert_Single_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_7"
NINE_DAYS = "TestGBDataHourlyNineDaysBinnedDaily"
GAS_BILLING = "ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25"
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@cache
def only_usage_point(path: Path) -> UsagePoint:
    """Parse a sample feed once per test session and return its single usage point."""
    feed = parse_green_button(path.read_bytes())
    assert feed.errors == []
    assert len(feed.usage_points) == 1
    return feed.usage_points[0]


def assert_matches_dump(point: UsagePoint, dump: list, scale: Decimal) -> None:
    """Check every interval against the dump; `scale` converts our unit to the dump's."""
    assert len(point.intervals) == len(dump)
    for interval, expected in zip(point.intervals, dump, strict=True):
        assert interval.start == expected.start
        assert interval.seconds == expected.seconds
        assert interval.value * scale == expected.value


def test_openespi_fixture_counts(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "test_usage_data.xml")

    assert point.errors == []
    assert len(point.intervals) == 1340
    assert {interval.unit for interval in point.intervals} == {"kWh"}
    assert point.service_kind == "electricity"
    assert point.title == "Front Electric Meter"


def test_openespi_spring_forward_day(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "test_usage_data.xml")

    for zone in (NEW_YORK, point.local_zone):
        assert zone is not None
        day = intervals_on(point.intervals, zone, date(2012, 3, 11))
        assert len(day) == 92
        assert sum(interval.seconds for interval in day) == 82800
        # Local midnight EST is 05:00 UTC, and the next local midnight EDT is 04:00 UTC.
        assert day[0].start == datetime(2012, 3, 11, 5, 0, tzinfo=UTC)
        assert day[-1].start + timedelta(seconds=900) == datetime(2012, 3, 12, 4, 0, tzinfo=UTC)


def test_openespi_other_days_have_96(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "test_usage_data.xml")

    per_day = Counter(interval.start.astimezone(NEW_YORK).date() for interval in point.intervals)
    assert len(per_day) == 14
    assert per_day.pop(date(2012, 3, 11)) == 92
    assert set(per_day.values()) == {96}


def test_openespi_first_reading(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "test_usage_data.xml")

    first = point.intervals[0]
    # <start>1330578000</start>, <duration>900</duration>, <value>282</value> Wh, quality 8.
    assert first.start == datetime(2012, 3, 1, 5, 0, tzinfo=UTC)
    assert first.seconds == 900
    assert first.value == Decimal("0.282")
    assert first.quality == "8"


def test_desert_matches_dump(greenbutton_dir, dump_reader):
    point = only_usage_point(greenbutton_dir / f"{DESERT}.xml")
    dump = dump_reader(greenbutton_dir / f"{DESERT}.expected.txt")

    assert len(dump) == 8760
    assert {reading.unit for reading in dump} == {"Wh"}
    assert_matches_dump(point, dump, Decimal(1000))
    total_wh = sum(reading.value for reading in dump)
    assert sum(interval.value for interval in point.intervals) * 1000 == total_wh


def test_desert_no_gaps_or_repeats(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / f"{DESERT}.xml")

    starts = [interval.start for interval in point.intervals]
    assert starts[0] == datetime(2011, 1, 1, 8, 0, tzinfo=UTC)
    assert starts[-1] == datetime(2012, 1, 1, 7, 0, tzinfo=UTC)
    steps = {later - earlier for earlier, later in zip(starts, starts[1:], strict=False)}
    assert steps == {timedelta(hours=1)}


@pytest.mark.parametrize("use_feed_zone", [False, True], ids=["zoneinfo", "feed-zone"])
def test_desert_dst_days(greenbutton_dir, use_feed_zone):
    point = only_usage_point(greenbutton_dir / f"{DESERT}.xml")
    zone = point.local_zone if use_feed_zone else LOS_ANGELES
    assert zone is not None

    hours = Counter(interval.start.astimezone(zone).date() for interval in point.intervals)
    assert len(hours) == 365
    assert hours.pop(date(2011, 3, 13)) == 23
    assert hours.pop(date(2011, 11, 6)) == 25
    assert set(hours.values()) == {24}

    totals = daily_totals(point.intervals, zone)
    assert len(totals) == 365
    assert sum(totals.values()) == sum(interval.value for interval in point.intervals)


def test_desert_local_zone_offsets(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / f"{DESERT}.xml")
    zone = point.local_zone
    assert zone is not None

    assert datetime(2011, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=-8)
    assert datetime(2011, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=-7)


def test_nine_days_matches_dump(greenbutton_dir, dump_reader):
    point = only_usage_point(greenbutton_dir / f"{NINE_DAYS}.xml")
    dump = dump_reader(greenbutton_dir / f"{NINE_DAYS}.expected.txt")

    assert len(dump) == 216
    assert point.errors == []
    assert {interval.unit for interval in point.intervals} == {"kWh"}
    assert_matches_dump(point, dump, Decimal(1000))


def test_prefixed_namespace_feed(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "Usage-Subscription-Feed-Anonymized.xml")

    assert point.id.endswith("/UsagePoint/test-usage-point-id")
    assert point.title == "Test Usage Point"
    assert point.service_kind == "electricity"
    assert point.intervals == []
    assert point.errors == []

    assert len(point.meter_readings) == 1
    reading = point.meter_readings[0]
    assert reading.title == "Test Meter Reading"
    assert reading.uom == 72
    assert reading.unit == "kWh"
    assert reading.power_of_ten_multiplier == 0
    assert reading.interval_length == 3600
    assert reading.reading_count == 0


def test_prefixed_namespace_local_time(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "Usage-Subscription-Feed-Anonymized.xml")
    zone = point.local_zone
    assert zone is not None

    assert datetime(2025, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=-5)
    assert datetime(2025, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=-4)
    # 2025 DST in the US: 9 March to 2 November.
    assert datetime(2025, 3, 9, 7, 0, tzinfo=UTC).astimezone(zone).hour == 3
    assert datetime(2025, 11, 2, 6, 0, tzinfo=UTC).astimezone(zone).hour == 1


def test_gas_direct_therms(greenbutton_dir, dump_reader):
    point = only_usage_point(greenbutton_dir / "gas_direct.xml")
    dump = dump_reader(greenbutton_dir / "gas_direct.expected.txt")

    assert point.service_kind == "gas"
    assert point.local_zone is None
    assert {reading.unit for reading in dump} == {"therm"}
    assert {interval.unit for interval in point.intervals} == {"therm"}
    # <value>37000</value> with powerOfTenMultiplier -3 is 37 therms.
    assert point.intervals[0].value == Decimal(37)
    assert [interval.value for interval in point.intervals] == [37, 14, 21, 27, 41]
    assert_matches_dump(point, dump, Decimal(1))


def test_gas_billing_feed_matches_dump(greenbutton_dir, dump_reader):
    point = only_usage_point(greenbutton_dir / f"{GAS_BILLING}.xml")
    dump = dump_reader(greenbutton_dir / f"{GAS_BILLING}.expected.txt")

    assert len(dump) == 35
    assert point.errors == []
    assert_matches_dump(point, dump, Decimal(1))
    # 2021-10-26 period: 30 days plus the hour of the November DST change.
    assert point.intervals[5].seconds == 30 * 86400 + 3600


def test_gas_provider_prefixed_without_uom(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "ngma_gas_provider_2024-07-16.xml")

    assert point.title == "101 DOG ST BOBTOWN MA US 12345-9032,"
    assert point.service_kind is None  # <ns:kind/> is empty.
    assert point.intervals == []
    assert len(point.errors) == 1
    error = point.errors[0]
    assert "uom is missing" in error.reason
    assert "36 interval readings were skipped" in error.reason
    assert error.raw == "User/11111111/UsagePoint/01/MeterReading/01"


def test_gas_provider_local_zone(greenbutton_dir):
    point = only_usage_point(greenbutton_dir / "ngma_gas_provider_2024-07-16.xml")
    zone = point.local_zone
    assert zone is not None

    # The file gives tzOffset 18000 (UTC+5), and the zone must follow it.
    assert datetime(2024, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=5)
    assert datetime(2024, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=6)


def damage_gas_direct(greenbutton_dir: Path) -> str:
    text = (greenbutton_dir / "gas_direct.xml").read_text(encoding="utf-8")
    replacements = {
        "<value>14000</value>": "<value>14.5</value>",
        "<value>21000</value>": "",
        "<start>1630022400</start>": "<start>1630022400.5</start>",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1
        text = text.replace(old, new)
    return text


def line_containing(text: str, needle: str) -> int:
    lines = text.splitlines()
    matches = [number for number, line in enumerate(lines, start=1) if needle in line]
    assert len(matches) == 1
    return matches[0]


def test_malformed_readings_become_errors(greenbutton_dir):
    text = damage_gas_direct(greenbutton_dir)

    point = parse_green_button(text.encode("utf-8")).usage_points[0]

    assert [interval.value for interval in point.intervals] == [37, 41]
    assert len(point.errors) == 3
    bad_value, missing_value, bad_start = point.errors

    assert "'14.5' is not a whole number" in bad_value.reason
    assert "<value>14.5</value>" in bad_value.raw
    assert "value is missing" in missing_value.reason
    assert "<cost>3281000</cost>" in missing_value.raw
    assert "start '1630022400.5' is not a whole number" in bad_start.reason


def test_malformed_reading_line_numbers(greenbutton_dir):
    text = damage_gas_direct(greenbutton_dir)
    lines = text.splitlines()

    point = parse_green_button(text.encode("utf-8")).usage_points[0]

    # Each error points at the <IntervalReading> start tag of its reading.
    for error, cost in zip(point.errors, ["2493000", "3281000", "4207000"], strict=True):
        cost_line = line_containing(text, f"<cost>{cost}</cost>")
        assert error.line_number == cost_line - 1
        assert lines[error.line_number - 1].strip() == "<IntervalReading>"


def test_unlinked_interval_block_reported(greenbutton_dir):
    text = (greenbutton_dir / "gas_direct.xml").read_text(encoding="utf-8")
    block_href = "/v1/User/1234567890/UsagePoint/NET_USAGE/MeterReading/1/IntervalBlock/1"
    assert text.count(block_href) == 2  # The MeterReading's related link and the block's self.
    text = text.replace(block_href, "/v1/Orphan/IntervalBlock/1", 1)
    text = text.replace(block_href, "/v1/Elsewhere/IntervalBlock/1")

    feed = parse_green_button(text.encode("utf-8"))

    assert feed.usage_points[0].intervals == []
    assert len(feed.errors) == 1
    assert "not linked to any UsagePoint" in feed.errors[0].reason


def test_nested_self_href_links_block(greenbutton_dir):
    text = (greenbutton_dir / "gas_direct.xml").read_text(encoding="utf-8")
    block_href = "/v1/User/1234567890/UsagePoint/NET_USAGE/MeterReading/1/IntervalBlock/1"
    # Break only the MeterReading's related link. The block's self href still lies
    # under the MeterReading's self href.
    text = text.replace(block_href, "/v1/Elsewhere/IntervalBlock/1", 1)

    feed = parse_green_button(text.encode("utf-8"))

    assert feed.errors == []
    assert len(feed.usage_points[0].intervals) == 5


def test_not_xml_raises():
    with pytest.raises(ReadFileError, match="not well-formed XML"):
        parse_green_button(b"start,value\n2016-01-01T00:00:00Z,1\n")


def test_entity_expansion_rejected():
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>'
    )
    with pytest.raises(ReadFileError, match="forbidden XML feature"):
        parse_green_button(bomb)


def test_wrong_root_raises():
    with pytest.raises(ReadFileError, match="expected an Atom <feed>"):
        parse_green_button(b"<UsagePoint xmlns='http://naesb.org/espi'/>")


def test_empty_feed_has_no_points():
    feed = parse_green_button(b"<feed xmlns='http://www.w3.org/2005/Atom'/>")

    assert feed.usage_points == []
    assert feed.errors == []
