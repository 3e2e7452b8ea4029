"""Estimation of missing interval data and missing register reads (the E of VEE).

Interval gaps:

- A gap of at most ``max_interpolated`` intervals with a known interval on each side is
  filled by linear interpolation between those two neighbours.
- A longer gap, or one at the edge of the data, is filled by a like-day average. That is
  the mean of the interval at the same local weekday and wall-clock time over the last
  ``like_days`` like days. Holidays, estimates and days without that interval are skipped.
- When the register reads that bound the span are known, their difference is the span's
  true total, and every estimate is scaled so that the known and estimated intervals add
  up to exactly that total.

Slots are stepped in UTC from the span's start, so a local spring-forward day has 23
hourly slots and a fall-back day 25. No "missing 02:00" is reported on the short day.

Register reads: see ``estimate_register_read`` for the rule that picks between the
average of recent periods and the same period of last year.

Every estimate carries its ``EstimateMethod`` code. Nothing here touches a database or
the clock; callers pass the zone, the dates and the history.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from metering.types import IntervalRead

__all__ = [
    "ESTIMATED_QUALITY",
    "EstimateMethod",
    "EstimationError",
    "IntervalEstimate",
    "IntervalEstimation",
    "PeriodUsage",
    "RegisterEstimate",
    "estimate_interval_gaps",
    "estimate_register_read",
    "interpolate_gap",
    "missing_slots",
    "prior_year_window",
]

#: The quality code that marks an interval as an estimate, here and in storage.
ESTIMATED_QUALITY = "estimated"
#: Interval gaps up to this many intervals are interpolated (4 hours of hourly data).
DEFAULT_MAX_INTERPOLATED = 4
#: Like days averaged for a longer gap.
DEFAULT_LIKE_DAYS = 4
#: Weeks searched back for like days, so holidays and gaps in history can be skipped.
LIKE_DAY_SEARCH_WEEKS = 8
#: Recent periods averaged for a missing register read.
DEFAULT_RECENT_PERIODS = 3


class EstimateMethod(StrEnum):
    """Method code of an estimate, stored with it (a read's source is ``estimate:<code>``)."""

    INTERPOLATION = "interpolation"
    LIKE_DAY = "like_day"
    RECENT_AVERAGE = "recent_average"
    PRIOR_YEAR = "prior_year"


class EstimationError(ValueError):
    """No estimate can be made from the history given; the message names what is missing."""


@dataclass(frozen=True)
class IntervalEstimate:
    """An estimated interval: its UTC start, length in seconds, value and method."""

    start: datetime
    seconds: int
    value: Decimal
    method: EstimateMethod


@dataclass
class IntervalEstimation:
    """Estimates for a span's gaps, and the slots (UTC starts) that could not be filled."""

    estimates: list[IntervalEstimate] = field(default_factory=list)
    unfilled: list[datetime] = field(default_factory=list)


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _fit_to_total(values: Sequence[Decimal], total: Decimal, places: int) -> list[Decimal]:
    """Scale ``values`` so they sum to ``total``, rounding each and putting the rest last.

    Values that are all zero are replaced by an even share of the total.
    """
    if not values:
        return []
    shape_sum = sum(values, Decimal(0))
    if shape_sum == 0:
        shares = [total / len(values)] * len(values)
    else:
        shares = [value * total / shape_sum for value in values]
    rounded = [_quantize(share, places) for share in shares[:-1]]
    rounded.append(total - sum(rounded, Decimal(0)))
    return rounded


def _straight_line(previous: Decimal, following: Decimal, count: int) -> list[Decimal]:
    if count < 1:
        raise ValueError(f"gap of {count} intervals; a gap has at least one interval")
    step = (following - previous) / (count + 1)
    return [previous + step * k for k in range(1, count + 1)]


def interpolate_gap(
    previous: Decimal,
    following: Decimal,
    count: int,
    *,
    total: Decimal | None = None,
    places: int = 3,
) -> list[Decimal]:
    """Return ``count`` values on the straight line from ``previous`` to ``following``.

    The k-th missing value is ``previous + (following - previous) * k / (count + 1)``.
    With ``total``, the values are scaled to sum to it exactly. Each value is rounded
    half-up to ``places`` decimals, and the last takes the rounding remainder.
    """
    values = _straight_line(previous, following, count)
    if total is not None:
        return _fit_to_total(values, total, places)
    return [_quantize(value, places) for value in values]


def missing_slots(
    intervals: Iterable[IntervalRead], begin: datetime, end: datetime, seconds: int
) -> list[datetime]:
    """Return the UTC starts of the ``seconds``-long slots from ``begin`` to ``end`` that
    no interval starts at.

    ``begin`` and ``end`` are aware instants, usually local midnights, so a local day of
    23 or 25 hours has 23 or 25 hourly slots.
    """
    if seconds <= 0:
        raise ValueError(f"interval length {seconds} s; it must be positive")
    present = {interval.start.astimezone(begin.tzinfo) for interval in intervals}
    step = timedelta(seconds=seconds)
    slots = []
    slot = begin
    while slot < end:
        if slot not in present:
            slots.append(slot)
        slot += step
    return slots


def _runs(slots: Sequence[datetime], step: timedelta) -> list[list[datetime]]:
    runs: list[list[datetime]] = []
    for slot in slots:
        if runs and slot - runs[-1][-1] == step:
            runs[-1].append(slot)
        else:
            runs.append([slot])
    return runs


def _like_day_value(
    slot: datetime,
    known: dict[datetime, IntervalRead],
    zone: tzinfo,
    like_days: int,
    holidays: Collection[date],
) -> Decimal | None:
    """Average the interval at the slot's weekday and wall-clock time over like days."""
    local = slot.astimezone(zone)
    by_wall_time: dict[tuple[date, int, int], IntervalRead] = {}
    for start, interval in known.items():
        wall = start.astimezone(zone)
        key = (wall.date(), wall.hour, wall.minute)
        # On a fall-back day two intervals share a wall time; the earlier one is kept.
        if key not in by_wall_time or start < by_wall_time[key].start:
            by_wall_time[key] = interval
    values: list[Decimal] = []
    for weeks_back in range(1, LIKE_DAY_SEARCH_WEEKS + 1):
        day = local.date() - timedelta(weeks=weeks_back)
        if day in holidays:
            continue
        found = by_wall_time.get((day, local.hour, local.minute))
        if found is None or found.quality == ESTIMATED_QUALITY:
            continue
        values.append(found.value)
        if len(values) == like_days:
            break
    if not values:
        return None
    return sum(values, Decimal(0)) / len(values)


def estimate_interval_gaps(
    intervals: Iterable[IntervalRead],
    begin: datetime,
    end: datetime,
    seconds: int,
    zone: tzinfo,
    *,
    history: Iterable[IntervalRead] = (),
    total: Decimal | None = None,
    max_interpolated: int = DEFAULT_MAX_INTERPOLATED,
    like_days: int = DEFAULT_LIKE_DAYS,
    holidays: Collection[date] = (),
    places: int = 3,
) -> IntervalEstimation:
    """Estimate every missing ``seconds``-long slot from ``begin`` to ``end``.

    ``intervals`` are the span's stored intervals. ``history`` adds earlier intervals for
    like days and may overlap ``intervals``. Estimated intervals (quality ``estimated``)
    are never used as a like day, but a stored estimate may bound an interpolation.

    ``total`` is the span's consumption from its bounding register reads. When given,
    the estimates are scaled so that stored plus estimated intervals sum to it. It raises
    EstimationError when the stored intervals already exceed it, because then a read or
    an interval is wrong and must be reviewed first.
    """
    span = list(intervals)
    known: dict[datetime, IntervalRead] = {}
    for interval in [*history, *span]:
        known[interval.start.astimezone(begin.tzinfo)] = interval
    step = timedelta(seconds=seconds)
    result = IntervalEstimation()
    values: list[Decimal] = []
    slots: list[datetime] = []
    methods: list[EstimateMethod] = []
    for run in _runs(missing_slots(span, begin, end, seconds), step):
        before = known.get(run[0] - step)
        after = known.get(run[-1] + step)
        if len(run) <= max_interpolated and before is not None and after is not None:
            values.extend(_straight_line(before.value, after.value, len(run)))
            slots.extend(run)
            methods.extend([EstimateMethod.INTERPOLATION] * len(run))
            continue
        for slot in run:
            average = _like_day_value(slot, known, zone, like_days, holidays)
            if average is None:
                result.unfilled.append(slot)
                continue
            values.append(average)
            slots.append(slot)
            methods.append(EstimateMethod.LIKE_DAY)

    if total is not None and not result.unfilled:
        stored = sum(
            (interval.value for interval in span if begin <= interval.start < end), Decimal(0)
        )
        remaining = total - stored
        if remaining < 0:
            raise EstimationError(
                f"stored intervals sum to {stored}, more than the register reads' total of "
                f"{total}; review the reads and intervals before estimating"
            )
        values = _fit_to_total(values, remaining, places)
    else:
        values = [_quantize(value, places) for value in values]

    result.estimates = [
        IntervalEstimate(slot, seconds, value, method)
        for slot, value, method in zip(slots, values, methods, strict=True)
    ]
    return result


@dataclass(frozen=True)
class PeriodUsage:
    """Consumption in register units between two reads, from ``start`` to ``end``."""

    start: date
    end: date
    consumption: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class RegisterEstimate:
    """An estimated register read: its value, the consumption it adds and its method."""

    read_date: date
    value: Decimal
    consumption: Decimal
    method: EstimateMethod


def _one_year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def prior_year_window(start: date, end: date) -> tuple[date, date]:
    """Return the dates one year before ``start`` and ``end`` (29 February gives the 28th)."""
    return _one_year_earlier(start), _one_year_earlier(end)


def _prior_year_daily(history: Sequence[PeriodUsage], start: date, end: date) -> Decimal | None:
    """Daily use over last year's window, or None when history does not cover all of it.

    Each period contributes its daily average times the days it shares with the window.
    """
    window_start, window_end = prior_year_window(start, end)
    covered = 0
    used = Decimal(0)
    for period in history:
        if period.days <= 0:
            continue
        overlap = (min(period.end, window_end) - max(period.start, window_start)).days
        if overlap <= 0:
            continue
        covered += overlap
        used += period.consumption * overlap / period.days
    window_days = (window_end - window_start).days
    if window_days <= 0 or covered < window_days:
        return None
    return used / window_days


def _recent_daily(history: Sequence[PeriodUsage], before: date, count: int) -> Decimal | None:
    recent = sorted(
        (period for period in history if period.end <= before and period.days > 0),
        key=lambda period: period.end,
    )[-count:]
    days = sum(period.days for period in recent)
    if days == 0:
        return None
    return sum((period.consumption for period in recent), Decimal(0)) / days


def estimate_register_read(
    *,
    previous_date: date,
    previous_value: Decimal,
    read_date: date,
    history: Sequence[PeriodUsage],
    recent_periods: int = DEFAULT_RECENT_PERIODS,
    dials: int | None = None,
    places: int = 0,
) -> RegisterEstimate:
    """Estimate the register read on ``read_date`` from the previous read and history.

    The rule: when ``history`` covers every day of the same dates one year earlier, the
    estimate uses last year's daily use, because water and gas use follow the season and
    the months just before a summer month understate it. Otherwise it uses the average
    daily use of the last ``recent_periods`` periods that end on or before
    ``previous_date``. Either daily use times the days since the previous read is the
    consumption, rounded half-up to ``places`` decimals. A negative history gives zero
    consumption, so an estimate is never below the previous read. With ``dials``, the
    value rolls over at 10**dials as the register would.

    Raises EstimationError when the history has no usable period.
    """
    days = (read_date - previous_date).days
    if days <= 0:
        raise EstimationError(
            f"estimate date {read_date} is not after the previous read of {previous_date}; "
            "pick a later date"
        )
    method = EstimateMethod.PRIOR_YEAR
    daily = _prior_year_daily(history, previous_date, read_date)
    if daily is None:
        method = EstimateMethod.RECENT_AVERAGE
        daily = _recent_daily(history, previous_date, recent_periods)
    if daily is None:
        raise EstimationError(
            f"no usage history before {previous_date} to estimate the read of {read_date}; "
            "enter an actual read"
        )
    consumption = max(_quantize(daily * days, places), Decimal(0))
    value = previous_value + consumption
    if dials is not None:
        value %= Decimal(10) ** dials
    return RegisterEstimate(read_date, value, consumption, method)
