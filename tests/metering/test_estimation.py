"""Estimation of interval gaps and register reads; expected values are hand-computed."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.estimation import (
    ESTIMATED_QUALITY,
    EstimateMethod,
    EstimationError,
    PeriodUsage,
    estimate_interval_gaps,
    estimate_register_read,
    interpolate_gap,
    missing_slots,
)
from metering.interval_csv import parse_interval_csv
from metering.local_days import intervals_on
from metering.types import IntervalRead

CENTRAL = ZoneInfo("America/Chicago")
HOUR = 3600
ILLINOIS = (
    Path(__file__).resolve().parent.parent / "data/interval/il-electricity-cdd-hdd-hourly.csv.gz"
)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=CENTRAL).astimezone(UTC)


def _hourly(start: datetime, values: list[str | None], quality: str | None = None):
    return [
        IntervalRead(start + timedelta(hours=index), HOUR, Decimal(value), "kWh", quality)
        for index, value in enumerate(values)
        if value is not None
    ]


@pytest.fixture(scope="module")
def illinois():
    text = gzip.decompress(ILLINOIS.read_bytes()).decode("utf-8")
    return parse_interval_csv(text, "kWh", HOUR).reads


# --- interpolation -------------------------------------------------------------------


def test_interpolate_three_missing():
    # Straight line from 1.0 to 2.0 over four steps: 1.25, 1.5, 1.75.
    assert interpolate_gap(Decimal("1.0"), Decimal("2.0"), 3) == [
        Decimal("1.250"),
        Decimal("1.500"),
        Decimal("1.750"),
    ]


def test_interpolate_scaled_to_total():
    # Shape 1.25 + 1.5 + 1.75 = 4.5, scaled by 6 / 4.5: 1.6667, 2.0, 2.3333.
    values = interpolate_gap(Decimal("1.0"), Decimal("2.0"), 3, total=Decimal(6))

    assert values == [Decimal("1.667"), Decimal("2.000"), Decimal("2.333")]
    assert sum(values) == Decimal(6)


def test_interpolate_rejects_empty_gap():
    with pytest.raises(ValueError, match="at least one interval"):
        interpolate_gap(Decimal(1), Decimal(2), 0)


def test_short_gap_interpolated():
    begin = _midnight(date(2026, 3, 18))
    stored = _hourly(begin, ["1.0", "2.0", None, None, "5.0", "1.0"])

    result = estimate_interval_gaps(stored, begin, begin + timedelta(hours=6), HOUR, CENTRAL)

    assert result.unfilled == []
    assert [e.start for e in result.estimates] == [
        begin + timedelta(hours=2),
        begin + timedelta(hours=3),
    ]
    assert [e.value for e in result.estimates] == [Decimal("3.000"), Decimal("4.000")]
    assert {e.method for e in result.estimates} == {EstimateMethod.INTERPOLATION}


def test_short_gap_sums_to_register_total():
    # Stored 1 + 2 + 5 + 1 = 9; the reads give 23, so the gap holds 14, split 3:4.
    begin = _midnight(date(2026, 3, 18))
    stored = _hourly(begin, ["1.0", "2.0", None, None, "5.0", "1.0"])

    result = estimate_interval_gaps(
        stored, begin, begin + timedelta(hours=6), HOUR, CENTRAL, total=Decimal(23)
    )

    assert [e.value for e in result.estimates] == [Decimal("6.000"), Decimal("8.000")]


def test_total_below_stored_rejected():
    begin = _midnight(date(2026, 3, 18))
    stored = _hourly(begin, ["1.0", "2.0", None, None, "5.0", "1.0"])

    with pytest.raises(EstimationError, match="more than the register reads' total of 8"):
        estimate_interval_gaps(
            stored, begin, begin + timedelta(hours=6), HOUR, CENTRAL, total=Decimal(8)
        )


# --- like days -----------------------------------------------------------------------


def _like_day_history() -> list[IntervalRead]:
    """Six earlier Wednesdays, each hour at one value per week.

    2026-03-04 is a holiday and hour 10 of 2026-02-25 is itself an estimate.
    """
    history: list[IntervalRead] = []
    for weeks_back, value in [(1, "2"), (2, "4"), (3, "6"), (4, "8"), (5, "10"), (6, "12")]:
        day = date(2026, 3, 18) - timedelta(weeks=weeks_back)
        begin = _midnight(day)
        for hour in range(24):
            quality = ESTIMATED_QUALITY if (weeks_back == 3 and hour == 10) else None
            history.append(
                IntervalRead(begin + timedelta(hours=hour), HOUR, Decimal(value), "kWh", quality)
            )
    return history


def test_long_gap_uses_like_days():
    day = date(2026, 3, 18)
    begin = _midnight(day)
    values: list[str | None] = ["1.0"] * 24
    for hour in range(8, 14):
        values[hour] = None

    result = estimate_interval_gaps(
        _hourly(begin, values),
        begin,
        _midnight(day + timedelta(days=1)),
        HOUR,
        CENTRAL,
        history=_like_day_history(),
        holidays={date(2026, 3, 4)},
    )

    by_hour = {e.start.astimezone(CENTRAL).hour: e for e in result.estimates}
    assert sorted(by_hour) == [8, 9, 10, 11, 12, 13]
    assert {e.method for e in result.estimates} == {EstimateMethod.LIKE_DAY}
    # Holiday 03-04 skipped: (2 + 6 + 8 + 10) / 4 = 6.5 at most hours.
    assert by_hour[8].value == Decimal("6.500")
    assert by_hour[13].value == Decimal("6.500")
    # Hour 10 also skips 02-25's estimate: (2 + 8 + 10 + 12) / 4 = 8.
    assert by_hour[10].value == Decimal("8.000")


def test_long_gap_without_history_unfilled():
    day = date(2026, 3, 18)
    begin = _midnight(day)
    values: list[str | None] = ["1.0"] * 24
    for hour in range(8, 14):
        values[hour] = None

    result = estimate_interval_gaps(
        _hourly(begin, values), begin, _midnight(day + timedelta(days=1)), HOUR, CENTRAL
    )

    assert result.estimates == []
    assert len(result.unfilled) == 6


# --- DST days on a real series -------------------------------------------------------


def test_spring_forward_day_complete(illinois):
    day = date(2016, 3, 13)
    begin, end = _midnight(day), _midnight(day + timedelta(days=1))

    assert end - begin == timedelta(hours=23)
    assert missing_slots(illinois, begin, end, HOUR) == []
    result = estimate_interval_gaps(intervals_on(illinois, CENTRAL, day), begin, end, HOUR, CENTRAL)
    assert result.estimates == []
    assert result.unfilled == []


def test_fall_back_day_complete(illinois):
    day = date(2016, 11, 6)
    begin, end = _midnight(day), _midnight(day + timedelta(days=1))

    assert end - begin == timedelta(hours=25)
    stored = intervals_on(illinois, CENTRAL, day)
    assert len(stored) == 25
    assert sum(read.value for read in stored) == Decimal("18.54")
    assert missing_slots(stored, begin, end, HOUR) == []
    assert estimate_interval_gaps(stored, begin, end, HOUR, CENTRAL).estimates == []


def test_spring_forward_gap_filled_at_true_instant(illinois):
    # Drop 03:00 CDT (08:00 UTC), the hour after the skipped 02:00. The one estimate is
    # at 08:00 UTC, the mean of its neighbours at 07:00 and 09:00 UTC.
    day = date(2016, 3, 13)
    begin, end = _midnight(day), _midnight(day + timedelta(days=1))
    stored = intervals_on(illinois, CENTRAL, day)
    dropped = datetime(2016, 3, 13, 8, 0, tzinfo=UTC)
    before = next(r.value for r in stored if r.start == dropped - timedelta(hours=1))
    after = next(r.value for r in stored if r.start == dropped + timedelta(hours=1))
    kept = [read for read in stored if read.start != dropped]

    result = estimate_interval_gaps(kept, begin, end, HOUR, CENTRAL)

    assert [e.start for e in result.estimates] == [dropped]
    assert result.estimates[0].value == ((before + after) / 2).quantize(Decimal("0.001"))


# --- register reads ------------------------------------------------------------------

RECENT = [
    # An old, large period that must not count: only the last three do.
    PeriodUsage(date(2026, 2, 1), date(2026, 3, 1), Decimal(1000)),
    PeriodUsage(date(2026, 3, 1), date(2026, 4, 1), Decimal(50)),
    PeriodUsage(date(2026, 4, 1), date(2026, 5, 1), Decimal(64)),
    PeriodUsage(date(2026, 5, 1), date(2026, 6, 1), Decimal(70)),
]


def test_register_estimate_recent_average():
    # (50 + 64 + 70) / (31 + 30 + 31) = 2 a day, times 30 days = 60.
    estimate = estimate_register_read(
        previous_date=date(2026, 6, 1),
        previous_value=Decimal(1000),
        read_date=date(2026, 7, 1),
        history=RECENT,
    )

    assert estimate.method == EstimateMethod.RECENT_AVERAGE
    assert estimate.consumption == Decimal(60)
    assert estimate.value == Decimal(1060)


def test_register_estimate_prior_year():
    # Last year's 2025-06-01..07-01 is 14 days of 124/31 = 4 a day (56) plus 16 days of
    # 180/30 = 6 a day (96): 152 over 30 days, and this year's gap is 30 days too.
    history = [
        PeriodUsage(date(2025, 5, 15), date(2025, 6, 15), Decimal(124)),
        PeriodUsage(date(2025, 6, 15), date(2025, 7, 15), Decimal(180)),
        *RECENT,
    ]

    estimate = estimate_register_read(
        previous_date=date(2026, 6, 1),
        previous_value=Decimal(1000),
        read_date=date(2026, 7, 1),
        history=history,
    )

    assert estimate.method == EstimateMethod.PRIOR_YEAR
    assert estimate.consumption == Decimal(152)
    assert estimate.value == Decimal(1152)


def test_register_estimate_partial_year_uses_recent():
    # Last year covers only 06-15..07-01 of the window, so the recent average applies.
    history = [PeriodUsage(date(2025, 6, 15), date(2025, 7, 15), Decimal(180)), *RECENT]

    estimate = estimate_register_read(
        previous_date=date(2026, 6, 1),
        previous_value=Decimal(1000),
        read_date=date(2026, 7, 1),
        history=history,
    )

    assert estimate.method == EstimateMethod.RECENT_AVERAGE
    assert estimate.value == Decimal(1060)


def test_register_estimate_never_below_previous():
    history = [PeriodUsage(date(2026, 5, 1), date(2026, 6, 1), Decimal(-31))]

    estimate = estimate_register_read(
        previous_date=date(2026, 6, 1),
        previous_value=Decimal(1000),
        read_date=date(2026, 7, 1),
        history=history,
    )

    assert estimate.consumption == Decimal(0)
    assert estimate.value == Decimal(1000)


def test_register_estimate_rolls_over():
    # 9990 + 60 on a four-dial register reads 0050.
    estimate = estimate_register_read(
        previous_date=date(2026, 6, 1),
        previous_value=Decimal(9990),
        read_date=date(2026, 7, 1),
        history=RECENT,
        dials=4,
    )

    assert estimate.value == Decimal(50)
    assert estimate.consumption == Decimal(60)


def test_register_estimate_needs_history():
    with pytest.raises(EstimationError, match="no usage history before 2026-06-01"):
        estimate_register_read(
            previous_date=date(2026, 6, 1),
            previous_value=Decimal(1000),
            read_date=date(2026, 7, 1),
            history=[],
        )


def test_register_estimate_date_after_previous():
    with pytest.raises(EstimationError, match="not after the previous read"):
        estimate_register_read(
            previous_date=date(2026, 6, 1),
            previous_value=Decimal(1000),
            read_date=date(2026, 6, 1),
            history=RECENT,
        )
