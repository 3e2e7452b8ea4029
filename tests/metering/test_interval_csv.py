"""Interval CSV parsing and local-day totals on a real US Central series."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.interval_csv import parse_interval_csv
from metering.local_days import daily_totals, intervals_on
from metering.types import ReadFileError

CENTRAL = ZoneInfo("America/Chicago")


ILLINOIS = (
    Path(__file__).resolve().parent.parent / "data/interval/il-electricity-cdd-hdd-hourly.csv.gz"
)


@pytest.fixture(scope="module")
def illinois_series():
    path = ILLINOIS
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    return parse_interval_csv(text, "kWh", 3600)


def test_illinois_series_parses(illinois_series):
    assert illinois_series.errors == []
    assert len(illinois_series.reads) == 19417
    assert {read.unit for read in illinois_series.reads} == {"kWh"}
    assert {read.seconds for read in illinois_series.reads} == {3600}
    assert illinois_series.reads[0].start == datetime(2015, 11, 22, 6, 0, tzinfo=UTC)


def test_spring_forward_day(illinois_series):
    day = intervals_on(illinois_series.reads, CENTRAL, date(2016, 3, 13))

    assert len(day) == 23
    assert sum(read.value for read in day) == Decimal("9.80")
    # 01:00-06:00 is followed by 03:00-05:00: one hour later in UTC, no gap to fill.
    assert day[1].start == datetime(2016, 3, 13, 7, 0, tzinfo=UTC)
    assert day[2].start == datetime(2016, 3, 13, 8, 0, tzinfo=UTC)


def test_fall_back_day(illinois_series):
    day = intervals_on(illinois_series.reads, CENTRAL, date(2016, 11, 6))

    assert len(day) == 25
    assert sum(read.value for read in day) == Decimal("18.54")
    # Both 01:00 rows are kept: 01:00-05:00 (06:00 UTC) and 01:00-06:00 (07:00 UTC).
    one_oclock = [read for read in day if read.start.astimezone(CENTRAL).hour == 1]
    assert [read.start for read in one_oclock] == [
        datetime(2016, 11, 6, 6, 0, tzinfo=UTC),
        datetime(2016, 11, 6, 7, 0, tzinfo=UTC),
    ]
    assert [read.value for read in one_oclock] == [Decimal("0.37"), Decimal("0.27")]


def test_daily_totals_on_dst_days(illinois_series):
    totals = daily_totals(illinois_series.reads, CENTRAL)

    assert totals[date(2016, 3, 13)] == Decimal("9.80")
    assert totals[date(2016, 11, 6)] == Decimal("18.54")
    assert sum(totals.values()) == sum(read.value for read in illinois_series.reads)


def test_no_repeated_instants(illinois_series):
    starts = [read.start for read in illinois_series.reads]

    assert len(set(starts)) == len(starts)


def test_bad_rows_become_errors():
    text = (
        "start,value\r\n"
        "2016-03-13T00:00:00-06:00,0.33\r\n"
        "2016-03-13T01:00:00,0.32\r\n"
        "2016-03-13T03:00:00-05:00,abc\r\n"
        "not a time,0.1\r\n"
        "2016-03-13T04:00:00-05:00,0.17,extra\r\n"
        "2016-03-13T05:00:00-05:00,-0.26\r\n"
    )

    result = parse_interval_csv(text, "kWh")

    assert [read.value for read in result.reads] == [Decimal("0.33"), Decimal("-0.26")]
    assert [error.line_number for error in result.errors] == [3, 4, 5, 6]
    naive, bad_value, bad_time, extra = result.errors
    assert "'2016-03-13T01:00:00' has no UTC offset" in naive.reason
    assert "value 'abc' is not a decimal number" in bad_value.reason
    assert "start 'not a time' is not an ISO 8601 timestamp" in bad_time.reason
    assert "Line has 3 fields" in extra.reason
    assert extra.raw == "2016-03-13T04:00:00-05:00,0.17,extra"


def test_columns_swapped():
    result = parse_interval_csv("value,start\n1.5,2016-01-01T00:00:00Z\n", "therm", 86400)

    (read,) = result.reads
    assert read.value == Decimal("1.5")
    assert read.unit == "therm"
    assert read.seconds == 86400


def test_wrong_header_raises():
    with pytest.raises(ReadFileError, match="exactly the columns start and value"):
        parse_interval_csv("time,kwh\n2016-01-01T00:00:00Z,1\n", "kWh")


def test_empty_interval_file_raises():
    with pytest.raises(ReadFileError, match="empty"):
        parse_interval_csv("", "kWh")


def test_non_positive_seconds_raises():
    with pytest.raises(ValueError, match="seconds must be positive"):
        parse_interval_csv("start,value\n", "kWh", 0)
