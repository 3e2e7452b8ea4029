"""Leak, burst, meter-flag and high-usage rules over hand-made hourly series.

Every expected quantity is the hour count times the hourly value, worked out by hand in
the comment next to it. Local days are America/Chicago: 2026-03-08 has 23 hours
(06:00Z to 05:00Z) and 2026-11-01 has 25 (05:00Z to 06:00Z).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from metering.leaks import (
    DEFAULT_THRESHOLDS,
    Finding,
    FindingKind,
    HourlySeries,
    MeterFlag,
    Severity,
    detect_flow,
    flag_findings,
    high_usage,
    hourly_series,
    thresholds_for_unit,
)
from metering.types import IntervalRead

CHICAGO = ZoneInfo("America/Chicago")
HOUR = timedelta(hours=1)
START = datetime(2026, 6, 1, 5, tzinfo=UTC)


def make_series(
    values: list[str], start: datetime = START, typical_max: Decimal | None = None
) -> HourlySeries:
    starts = [start + index * HOUR for index in range(len(values))]
    return HourlySeries(7, "gal", starts, [Decimal(value) for value in values], typical_max)


def leaks(series: HourlySeries) -> list[Finding]:
    return [f for f in detect_flow(series, DEFAULT_THRESHOLDS) if f.kind == FindingKind.LEAK]


def test_continuous_flow_24_hours_is_minor_leak() -> None:
    [finding] = leaks(make_series(["0.5"] * 24))

    assert finding.severity == Severity.MINOR
    assert finding.started_at == START
    assert finding.last_seen_at == START + 24 * HOUR
    assert finding.is_open
    assert finding.quantity == Decimal("12.0")  # 24 h x 0.5 gal


def test_continuous_flow_23_hours_is_not_leak() -> None:
    assert leaks(make_series(["0.5"] * 23)) == []


def test_flow_floor_makes_major_and_critical() -> None:
    [major] = leaks(make_series(["2"] * 24))
    [critical] = leaks(make_series(["60"] * 24))
    [one_hour_short] = leaks(make_series(["60"] * 23 + ["59"]))

    assert major.severity == Severity.MAJOR
    assert major.quantity == Decimal(48)  # 24 x 2
    assert critical.severity == Severity.CRITICAL
    assert critical.quantity == Decimal(1440)  # 24 x 60
    assert one_hour_short.severity == Severity.MAJOR


def test_spring_forward_day_needs_hour_before() -> None:
    midnight = datetime(2026, 3, 8, tzinfo=CHICAGO).astimezone(UTC)
    next_midnight = datetime(2026, 3, 9, tzinfo=CHICAGO).astimezone(UTC)
    assert next_midnight - midnight == 23 * HOUR

    whole_day = make_series(["1"] * 23, start=midnight)
    assert leaks(whole_day) == []

    [finding] = leaks(make_series(["1"] * 24, start=midnight - HOUR))
    assert finding.started_at == midnight - HOUR
    assert finding.quantity == Decimal(24)  # 23 hours of the day and 1 before, x 1 gal


def test_fall_back_day_leak_before_day_ends() -> None:
    midnight = datetime(2026, 11, 1, tzinfo=CHICAGO).astimezone(UTC)
    assert datetime(2026, 11, 2, tzinfo=CHICAGO).astimezone(UTC) - midnight == 25 * HOUR

    # Flow in the first 24 of the 25 hours, none in the last (23:00 to 24:00 CST).
    [finding] = leaks(make_series(["1"] * 24 + ["0"], start=midnight))

    assert finding.severity == Severity.MAJOR
    assert finding.closed_at == midnight + 24 * HOUR
    assert finding.quantity == Decimal(24)


def test_fall_back_repeated_hour_counts_twice() -> None:
    midnight = datetime(2026, 11, 1, tzinfo=CHICAGO).astimezone(UTC)
    values = ["1"] * 25
    # 01:00 CDT is 06:00Z and 01:00 CST is 07:00Z; only the second one has no flow.
    values[2] = "0"
    assert (midnight + 2 * HOUR).astimezone(CHICAGO).strftime("%H:%M %Z") == "01:00 CST"

    assert leaks(make_series(values, start=midnight)) == []


def test_zero_hour_closes_episode() -> None:
    [finding] = leaks(make_series(["3"] * 30 + ["0"] + ["3"] * 5))

    assert finding.closed_at == START + 30 * HOUR
    assert finding.last_seen_at == START + 30 * HOUR
    assert finding.quantity == Decimal(90)  # 30 x 3


def test_floor_not_met_closes_major_leak() -> None:
    series = make_series(["5"] * 24 + ["0.5"] * 24)

    first, second = leaks(series)

    assert first.severity == Severity.MAJOR
    assert first.closed_at == START + 24 * HOUR
    assert first.quantity == Decimal(120)  # 24 x 5
    # The slow flow that goes on is a minor leak of its own after 24 hours.
    assert second.severity == Severity.MINOR
    assert second.started_at == START + 24 * HOUR
    assert second.is_open
    assert second.quantity == Decimal("12.0")  # 24 x 0.5


def test_one_slow_hour_keeps_major_leak_open() -> None:
    [finding] = leaks(make_series(["5"] * 24 + ["0.5"] + ["5"] * 3))

    assert finding.is_open
    assert finding.quantity == Decimal("135.5")  # 27 x 5 + 0.5


def test_missing_hour_breaks_run() -> None:
    values = [Decimal(1)] * 24
    starts = [START + index * HOUR for index in range(25) if index != 12]

    series = HourlySeries(7, "gal", starts, values)

    assert leaks(series) == []


def test_burst_against_typical_max() -> None:
    # Two days of ordinary use (busy hours of 20 gal, quiet nights), then a break.
    day = ["0"] * 6 + ["20"] * 4 + ["5"] * 14
    series = make_series(day + day + ["400", "450", "0"])

    [burst] = [f for f in detect_flow(series, DEFAULT_THRESHOLDS) if f.kind == FindingKind.BURST]

    assert burst.severity == Severity.CRITICAL
    assert burst.started_at == START + 48 * HOUR
    assert burst.closed_at == START + 50 * HOUR
    assert burst.quantity == Decimal(850)  # 400 + 450


def test_burst_needs_sustained_hours() -> None:
    day = ["0"] * 6 + ["20"] * 4 + ["5"] * 14
    series = make_series(day + ["400", "0"])

    assert [f for f in detect_flow(series, DEFAULT_THRESHOLDS) if f.kind == FindingKind.BURST] == []


def test_burst_level_scales_with_typical_max() -> None:
    # A register that often uses 200 gal an hour needs 4 x 200 = 800 for a burst.
    series = make_series(["0", "500", "500", "0"], typical_max=Decimal(200))

    assert detect_flow(series, DEFAULT_THRESHOLDS) == []


def test_thresholds_convert_to_cubic_feet() -> None:
    thresholds = thresholds_for_unit("ft3")

    assert thresholds is not None
    # 1 gal = 231/1728 ft3
    expected = Fraction(231, 1728)
    assert abs(Fraction(thresholds.leak_floor) - expected) < Fraction(1, 10**20)
    assert abs(Fraction(thresholds.critical_floor) - 60 * expected) < Fraction(1, 10**20)


def test_thresholds_skip_energy_units() -> None:
    assert thresholds_for_unit("kWh") is None
    assert thresholds_for_unit("therm") is None


def test_meter_flags_make_episodes() -> None:
    flags = [
        MeterFlag(7, "leak", START),
        MeterFlag(7, "leak", START + 2 * HOUR),
        MeterFlag(7, "leak", START + 40 * HOUR),
        MeterFlag(7, "backflow", START + 41 * HOUR),
        MeterFlag(7, "dry", START + 41 * HOUR),
    ]
    series = make_series(["2"] * 45)

    first, second, backflow = flag_findings(flags, now=START + 45 * HOUR, unit="gal", series=series)

    assert first.kind == FindingKind.METER_LEAK
    assert first.closed_at == START + 26 * HOUR  # 24 hours after the last flag
    assert first.quantity == Decimal(52)  # hours 0..25, 26 x 2
    assert second.kind == FindingKind.METER_LEAK
    assert second.is_open
    assert second.quantity == Decimal(10)  # hours 40..44, 5 x 2
    assert backflow.kind == FindingKind.BACKFLOW
    assert backflow.is_open


def test_high_usage_against_last_year() -> None:
    finding = high_usage(Decimal(7000), last_year=Decimal(3000), previous=[])

    assert finding is not None
    assert finding.basis == "last_year"
    assert finding.severity == Severity.MINOR  # 7000 / 3000 = 2.33


def test_high_usage_against_three_periods() -> None:
    finding = high_usage(
        Decimal(6500), last_year=None, previous=[Decimal(1000), Decimal(2000), Decimal(3000)]
    )

    assert finding is not None
    assert finding.basis == "previous_periods"
    assert finding.baseline == Decimal(2000)
    assert finding.severity == Severity.MAJOR  # 6500 / 2000 = 3.25


@pytest.mark.parametrize(
    ("current", "last_year", "previous"),
    [
        ("900", "100", []),  # below the 1000 minimum
        ("5000", "3000", []),  # 1.67 times last year
        ("5000", None, ["1000", "1000"]),  # only two earlier periods
        ("5000", "0", []),  # no use last year and no earlier periods
    ],
)
def test_high_usage_not_found(current: str, last_year: str | None, previous: list[str]) -> None:
    found = high_usage(
        Decimal(current),
        last_year=Decimal(last_year) if last_year is not None else None,
        previous=[Decimal(value) for value in previous],
    )

    assert found is None


def test_hourly_series_sums_quarter_hours() -> None:
    intervals = [
        IntervalRead(START + index * timedelta(minutes=15), 900, Decimal("0.25"), "gal")
        for index in range(8)
    ]

    series = hourly_series(7, intervals)

    assert list(series.starts) == [START, START + HOUR]
    assert list(series.values) == [Decimal("1.00"), Decimal("1.00")]


def test_hourly_series_rejects_mixed_units() -> None:
    intervals = [
        IntervalRead(START, 3600, Decimal(1), "gal"),
        IntervalRead(START + HOUR, 3600, Decimal(1), "ft3"),
    ]

    with pytest.raises(ValueError, match="several units"):
        hourly_series(7, intervals)
