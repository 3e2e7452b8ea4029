"""ESPI DST rules and the time zone built from LocalTimeParameters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from metering.espi_time import DstRule, EspiLocalTime, local_time_zone
from metering.local_days import daily_totals
from metering.types import IntervalRead

US_START = "360E2000"  # Second Sunday of March, 02:00.
US_END = "B40E2000"  # First Sunday of November, 02:00.


def test_us_start_rule_fields():
    rule = DstRule.from_hex(US_START)

    assert rule.month == 3
    assert rule.operator == 3
    assert rule.day_of_week == 7
    assert rule.hour == 2
    assert rule.seconds == 0


@pytest.mark.parametrize(
    ("rule", "year", "expected"),
    [
        (US_START, 2011, datetime(2011, 3, 13, 2)),
        (US_END, 2011, datetime(2011, 11, 6, 2)),
        (US_START, 2012, datetime(2012, 3, 11, 2)),
        (US_END, 2012, datetime(2012, 11, 4, 2)),
        (US_START, 2016, datetime(2016, 3, 13, 2)),
        # Last Sunday of March at 01:00 (EU style): month 3, operator 7, Sunday, hour 1.
        ("3E0E1000", 2024, datetime(2024, 3, 31, 1)),
        # 1 April at 00:00: month 4, operator 0, day of month 1.
        ("40100000", 2024, datetime(2024, 4, 1, 0)),
        # First Sunday on or after 8 March at 02:00: month 3, operator 1, day 8, Sunday.
        ("328E2000", 2024, datetime(2024, 3, 10, 2)),
    ],
)
def test_rule_wall_time(rule, year, expected):
    assert DstRule.from_hex(rule).wall_time(year) == expected


@pytest.mark.parametrize("text", ["zz", "0E0E2000", "D60E2000", "36002000", "1FFFFFFFF"])
def test_invalid_rule_raises(text):
    with pytest.raises(ValueError, match="DST rule"):
        DstRule.from_hex(text)


def test_matches_zoneinfo_every_hour():
    pacific = local_time_zone(-28800, 3600, US_START, US_END)
    reference = ZoneInfo("America/Los_Angeles")
    assert isinstance(pacific, EspiLocalTime)

    moment = datetime(2011, 1, 1, tzinfo=UTC)
    while moment.year < 2013:
        ours = moment.astimezone(pacific)
        theirs = moment.astimezone(reference)
        assert ours.replace(tzinfo=None) == theirs.replace(tzinfo=None), moment
        assert ours.fold == theirs.fold, moment
        assert ours.utcoffset() == theirs.utcoffset(), moment
        moment += timedelta(minutes=30)


@pytest.mark.parametrize(
    "wall",
    [
        datetime(2011, 3, 13, 2, 30),  # Skipped when clocks go forward.
        datetime(2011, 11, 6, 1, 30),  # Repeated when clocks go back.
        datetime(2011, 3, 13, 1, 59),
        datetime(2011, 3, 13, 3, 0),
        datetime(2011, 11, 6, 0, 59),
        datetime(2011, 11, 6, 2, 0),
    ],
)
@pytest.mark.parametrize("fold", [0, 1])
def test_wall_time_offsets_match_zoneinfo(wall, fold):
    pacific = local_time_zone(-28800, 3600, US_START, US_END)
    reference = ZoneInfo("America/Los_Angeles")

    ours = wall.replace(tzinfo=pacific, fold=fold).utcoffset()
    theirs = wall.replace(tzinfo=reference, fold=fold).utcoffset()

    assert ours == theirs


def test_without_rules_fixed_offset():
    zone = local_time_zone(-18000, 3600, None, None)

    assert zone == timezone(timedelta(hours=-5))


def test_disabled_rule_fixed_offset():
    zone = local_time_zone(-18000, 3600, "FFFFFFFF", "FFFFFFFF")

    assert zone == timezone(timedelta(hours=-5))


def test_daily_totals_rejects_mixed_units():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    reads = [
        IntervalRead(start, 3600, Decimal(1), "kWh"),
        IntervalRead(start, 3600, Decimal(1), "therm"),
    ]

    with pytest.raises(ValueError, match="several units"):
        daily_totals(reads, ZoneInfo("America/Chicago"))


def test_daily_totals_local_date():
    zone = ZoneInfo("America/Chicago")
    reads = [
        IntervalRead(datetime(2024, 7, 1, 4, 0, tzinfo=UTC), 3600, Decimal("1.5"), "kWh"),
        IntervalRead(datetime(2024, 7, 1, 5, 0, tzinfo=UTC), 3600, Decimal("2.5"), "kWh"),
    ]

    # 04:00 UTC is 23:00 CDT on 30 June, and 05:00 UTC is midnight on 1 July.
    assert daily_totals(reads, zone) == {
        date(2024, 6, 30): Decimal("1.5"),
        date(2024, 7, 1): Decimal("2.5"),
    }
