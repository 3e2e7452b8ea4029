"""Rate one service for one billing period: ``rate_service``.

The caller passes the tariff versions in effect (``TariffSegment``s, half-open date
ranges that together cover the service days), the nominal calendar period of the bill,
and the usage: one register quantity or interval data in local wall-clock time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing_engine.errors import RatingError
from billing_engine.lines import ChargeLine
from billing_engine.money import ZERO, ZERO_MONEY
from billing_engine.pricing import SegmentUsage, price_segment
from billing_engine.tariff import (
    DemandCharge,
    DemandKind,
    EnergyCharge,
    Tariff,
    bucket_index,
)
from billing_engine.units import Unit, convert

SECONDS_PER_HOUR = 3600
#: Decimal one: Decimals are immutable, so one instance serves every call.
ONE = Decimal(1)


@dataclass(frozen=True)
class Period:
    """A half-open range of local calendar dates ``[start, end)``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise RatingError(
                f"invalid period {self.start}..{self.end}: the end must be after the start "
                "(the end date is exclusive)",
                code="invalid_period",
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class TariffSegment:
    """The tariff version in effect on the half-open date range ``[start, end)``."""

    tariff: Tariff
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class RegisterUsage:
    """Consumption from register reads; ``peak_demand`` is a demand register's kW, if any."""

    quantity: Decimal
    unit: Unit | str
    peak_demand: Decimal | None = None


@dataclass(frozen=True)
class Interval:
    """Energy in kWh over ``seconds`` starting at ``start``, a naive local wall-clock time."""

    start: datetime
    seconds: int
    quantity: Decimal


@dataclass(frozen=True)
class IntervalUsage:
    intervals: Sequence[Interval]


@dataclass(frozen=True)
class ServiceCharges:
    """The lines of one service's bill; the total is the sum of the rounded lines."""

    lines: list[ChargeLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO_MONEY)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_days(start: date, end: date) -> dict[int, int]:
    """Return the number of days of ``[start, end)`` in each month of the year (1-12)."""
    if start < end <= _next_month(start):
        return {start.month: (end - start).days}  # one month, the common case, needs no loop
    days: dict[int, int] = {}
    current = start
    while current < end:
        stop = min(_next_month(current), end)
        days[current.month] = days.get(current.month, 0) + (stop - current).days
        current = stop
    return days


def _check_segments(segments: Sequence[TariffSegment], nominal: Period) -> None:
    if not segments:
        raise RatingError(
            "no tariff segments given; pass at least one TariffSegment covering the service days",
            code="segments_invalid",
        )
    for segment in segments:
        if segment.end <= segment.start:
            raise RatingError(
                f"tariff segment {segment.start}..{segment.end} of {segment.tariff.code!r} is "
                "empty or reversed; the end date is exclusive and must be after the start",
                code="segments_invalid",
            )
    for previous, current in zip(segments, segments[1:], strict=False):
        if current.start != previous.end:
            problem = "overlaps" if current.start < previous.end else "leaves a gap after"
            raise RatingError(
                f"tariff segment {current.start}..{current.end} {problem} segment "
                f"{previous.start}..{previous.end}; each segment must start on the previous "
                "segment's end date",
                code="segments_invalid",
            )
    if segments[0].start < nominal.start or segments[-1].end > nominal.end:
        raise RatingError(
            f"tariff segments {segments[0].start}..{segments[-1].end} extend outside the "
            f"billing period {nominal.start}..{nominal.end}; trim them to the period",
            code="segments_invalid",
        )


def _block_peaks(intervals: Sequence[Interval], window: int | None) -> dict[int, Decimal]:
    """Return the highest demand (kW) per bucket, averaged over ``window`` minutes.

    Intervals shorter than the window are summed into window-long blocks aligned to local
    midnight and divided by the window length, so a missing interval counts as zero. An
    interval as long as the window or longer is used as it is.
    """
    peaks: dict[int, Decimal] = {}

    def record(start: datetime, kilowatts: Decimal) -> None:
        bucket = bucket_index(start.month, start.weekday() >= 5, start.hour)
        if bucket not in peaks or kilowatts > peaks[bucket]:
            peaks[bucket] = kilowatts

    window_seconds = None if window is None else window * 60
    block_energy: dict[tuple[date, int], Decimal] = {}
    for interval in intervals:
        if window_seconds is None or interval.seconds >= window_seconds:
            record(interval.start, interval.quantity * SECONDS_PER_HOUR / interval.seconds)
            continue
        second_of_day = interval.start.hour * 3600 + interval.start.minute * 60
        key = (interval.start.date(), second_of_day // window_seconds)
        block_energy[key] = block_energy.get(key, ZERO) + interval.quantity
    for key, quantity in block_energy.items():
        day, block = key
        assert window_seconds is not None
        block_start = datetime.combine(day, datetime.min.time()) + timedelta(
            seconds=block * window_seconds
        )
        record(block_start, quantity * SECONDS_PER_HOUR / window_seconds)
    return peaks


class _IntervalSegment:
    """Interval usage of one segment, with demand peaks computed once per window."""

    def __init__(self, intervals: list[Interval]) -> None:
        self.intervals = intervals
        self.energy: dict[int, Decimal] = {}
        for interval in intervals:
            start = interval.start
            bucket = bucket_index(start.month, start.weekday() >= 5, start.hour)
            self.energy[bucket] = self.energy.get(bucket, ZERO) + interval.quantity
        self._peaks: dict[int | None, dict[int, Decimal]] = {}

    def peaks(self, window: int | None) -> Mapping[int, Decimal]:
        if window not in self._peaks:
            self._peaks[window] = _block_peaks(self.intervals, window)
        return self._peaks[window]


def _has_hourly_schedule(tariff: Tariff) -> bool:
    for charge in tariff.charges:
        if isinstance(charge, EnergyCharge) and not charge.is_month_constant:
            return True
        if isinstance(charge, DemandCharge) and charge.kind == DemandKind.TOU:
            return True
    return False


def _rate_register(
    segments: Sequence[TariffSegment],
    nominal: Period,
    usage: RegisterUsage,
    winter_average: Decimal | None,
    therms_per_ccf: Decimal | None,
) -> list[ChargeLine]:
    if usage.quantity < 0:
        raise RatingError(
            f"negative usage {usage.quantity} {usage.unit}; check the reads for a rollover "
            "or meter exchange before rating",
            code="negative_usage",
        )
    if usage.peak_demand is not None and usage.peak_demand < 0:
        raise RatingError(
            f"negative peak demand {usage.peak_demand} kW; check the demand register read",
            code="negative_usage",
        )
    if len(segments) == 1:
        service_days = segments[0].days
    else:
        service_days = sum(segment.days for segment in segments)
    nominal_days = nominal.days
    last = len(segments) - 1
    lines: list[ChargeLine] = []
    for number, segment in enumerate(segments):
        tariff = segment.tariff
        days = segment.days
        quantity = convert(
            usage.quantity, usage.unit, tariff.unit, therms_per_ccf=therms_per_ccf
        )
        cap_ratio = ONE
        if (
            tariff.winter_average_cap is not None
            and winter_average is not None
            and usage.quantity > winter_average
        ):
            cap_ratio = max(winter_average, ZERO) / usage.quantity
        segment_usage = SegmentUsage(
            days=days,
            nominal_days=nominal_days,
            month_days=month_days(segment.start, segment.end),
            consumption=quantity * days / service_days,
            unit=str(tariff.unit),
            register_peak_kw=usage.peak_demand,
            water_cap_ratio=cap_ratio,
            include_per_bill=number == last,
        )
        lines.extend(price_segment(tariff, segment_usage))
    return lines


def _rate_intervals(
    segments: Sequence[TariffSegment],
    nominal: Period,
    usage: IntervalUsage,
    winter_average: Decimal | None,
) -> list[ChargeLine]:
    by_segment: list[list[Interval]] = [[] for _ in segments]
    total = ZERO
    for interval in usage.intervals:
        if interval.seconds <= 0:
            raise RatingError(
                f"interval at {interval.start} has length {interval.seconds} s; it must be "
                "positive",
                code="invalid_interval",
            )
        if interval.quantity < 0:
            raise RatingError(
                f"negative usage {interval.quantity} kWh in the interval at {interval.start}; "
                "the engine rates delivered energy only",
                code="negative_usage",
            )
        day = interval.start.date()
        for index, segment in enumerate(segments):
            if segment.start <= day < segment.end:
                by_segment[index].append(interval)
                break
        else:
            raise RatingError(
                f"interval at {interval.start} is outside the tariff segments "
                f"{segments[0].start}..{segments[-1].end}; pass only the service days' data",
                code="interval_outside_service",
            )
        total += interval.quantity

    lines: list[ChargeLine] = []
    for number, (segment, intervals) in enumerate(zip(segments, by_segment, strict=True)):
        tariff = segment.tariff
        if tariff.unit != Unit.KWH:
            raise RatingError(
                f"interval usage is in kWh but tariff {tariff.code!r} prices {tariff.unit}; "
                "rate interval data on a kWh tariff",
                code="unit_mismatch",
            )
        long_interval = next((i for i in intervals if i.seconds > SECONDS_PER_HOUR), None)
        if long_interval is not None and _has_hourly_schedule(tariff):
            raise RatingError(
                f"interval at {long_interval.start} lasts {long_interval.seconds} s, but tariff "
                f"{tariff.code!r} has hourly periods; pass intervals of one hour or less",
                code="interval_too_long",
            )
        cap_ratio = Decimal(1)
        if tariff.winter_average_cap is not None and winter_average is not None:
            if total > winter_average:
                cap_ratio = max(winter_average, ZERO) / total
        aggregate = _IntervalSegment(intervals)
        segment_usage = SegmentUsage(
            days=segment.days,
            nominal_days=nominal.days,
            month_days=month_days(segment.start, segment.end),
            consumption=sum((i.quantity for i in intervals), ZERO),
            unit=str(tariff.unit),
            energy_buckets=aggregate.energy,
            peak_buckets=aggregate.peaks,
            water_cap_ratio=cap_ratio,
            include_per_bill=number == len(segments) - 1,
        )
        lines.extend(price_segment(tariff, segment_usage))
    return lines


def rate_service(
    tariff_segments: Sequence[TariffSegment],
    nominal: Period,
    usage: RegisterUsage | IntervalUsage,
    winter_average: Decimal | None = None,
    therms_per_ccf: Decimal | None = None,
) -> ServiceCharges:
    """Rate one service's usage for one billing period.

    Proration: a ``month`` fixed charge, a monthly minimum, ``month`` tier limits and
    demand charges are multiplied by service days / nominal days per segment. ``day``
    charges and limits are multiplied by the segment's days. A ``bill`` fixed charge is
    charged once, from the tariff of the last segment.

    Register usage is split across segments by days, interval usage by the date of each
    interval's start. ``winter_average`` (in the usage unit) caps the quantity of
    ``water``-basis energy charges when the tariff has a ``WinterAverageCap``.

    NOTE: a yearly minimum is not applied here because one bill cannot see the year;
    ``rate_year`` applies it.

    Each line sums its tiers and periods at full precision and is rounded once.
    """
    _check_segments(tariff_segments, nominal)
    if isinstance(usage, RegisterUsage):
        lines = _rate_register(tariff_segments, nominal, usage, winter_average, therms_per_ccf)
    else:
        lines = _rate_intervals(tariff_segments, nominal, usage, winter_average)
    return ServiceCharges(lines)
