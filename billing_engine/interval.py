"""Rate a year of interval load as twelve calendar-month bills: ``rate_year``.

Value ``i`` of the load is local wall-clock time ``datetime(year, 1, 1) + i * interval``
with no daylight-saving shift (8760-hour load files are in standard time). Each month is
one bill over the whole calendar month.
"""

from __future__ import annotations

import calendar
import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from billing_engine.errors import InvalidLoad
from billing_engine.lines import ChargeKind, ChargeLine
from billing_engine.money import ZERO, ZERO_MONEY, round_money
from billing_engine.pricing import SegmentUsage, price_segment
from billing_engine.tariff import HOURS, MinimumCharge, MinimumPer, Tariff, bucket_index

SUPPORTED_INTERVALS = (60, 15)

#: Getter of the load values that fall in one bucket: takes the load, returns a tuple.
_Getter = Callable[[Sequence[Decimal]], tuple[Decimal, ...]]


@dataclass(frozen=True)
class MonthCharges:
    """One calendar month's bill, by kind of charge; ``total`` sums the rounded lines."""

    month: int
    energy_charge: Decimal
    demand_charge: Decimal
    fixed_charge: Decimal
    minimum_charge_adjustment: Decimal
    total: Decimal
    rider_charge: Decimal = ZERO_MONEY
    lines: tuple[ChargeLine, ...] = ()


@dataclass(frozen=True)
class YearCharges:
    """Twelve monthly bills; a yearly minimum's shortfall is in December's adjustment."""

    year: int
    months: tuple[MonthCharges, ...]
    annual_minimum_adjustment: Decimal

    @property
    def total(self) -> Decimal:
        return sum((month.total for month in self.months), ZERO_MONEY)


def _year_steps(year: int, interval_minutes: int) -> int:
    days = 366 if calendar.isleap(year) else 365
    return days * 24 * 60 // interval_minutes


def _check_load(load: Sequence[Decimal], year: int, interval_minutes: int) -> None:
    if interval_minutes not in SUPPORTED_INTERVALS:
        raise InvalidLoad(
            f"unsupported interval of {interval_minutes} minutes; use 60 (hourly) or 15"
        )
    expected = _year_steps(year, interval_minutes)
    if len(load) != expected:
        hint = ""
        for minutes in SUPPORTED_INTERVALS:
            if minutes != interval_minutes and len(load) == _year_steps(year, minutes):
                hint = f"; it matches {minutes}-minute data, so pass interval_minutes={minutes}"
        raise InvalidLoad(
            f"load has {len(load)} values, but {year} at {interval_minutes}-minute intervals "
            f"has {expected}{hint}"
        )
    lowest = min(load)
    if lowest < 0:
        index = list(load).index(lowest)
        raise InvalidLoad(
            f"load value {index} is negative ({lowest} kWh); the engine rates delivered "
            "energy only"
        )


class _SingleGetter:
    """Like ``itemgetter`` of one index, but returning a 1-tuple."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, values: Sequence[Decimal]) -> tuple[Decimal, ...]:
        return (values[self.index],)


@lru_cache(maxsize=16)
def _bucket_getters(
    year: int, interval_minutes: int, window_minutes: int
) -> tuple[tuple[int, _Getter], ...]:
    """Group the year's steps, or window-long blocks of steps, by bucket.

    With ``window_minutes == interval_minutes`` each group member is one step. Otherwise
    each member index is the first step of a block of ``window_minutes / interval_minutes``
    steps.
    """
    # Naive on purpose: the load is in local standard time with no daylight-saving shift.
    start = datetime(year, 1, 1)  # noqa: DTZ001
    step = timedelta(minutes=window_minutes)
    blocks = _year_steps(year, interval_minutes) * interval_minutes // window_minutes
    members: dict[int, list[int]] = {}
    for index in range(blocks):
        moment = start + index * step
        bucket = bucket_index(moment.month, moment.weekday() >= 5, moment.hour)
        members.setdefault(bucket, []).append(index)
    groups: list[tuple[int, _Getter]] = []
    for bucket, indexes in sorted(members.items()):
        if len(indexes) == 1:
            groups.append((bucket, _SingleGetter(indexes[0])))
        else:
            groups.append((bucket, itemgetter(*indexes)))
    return tuple(groups)


class _YearProfile:
    """Energy per bucket and demand peaks per bucket, for one year of load."""

    def __init__(self, load: Sequence[Decimal], year: int, interval_minutes: int) -> None:
        self.load = load
        self.year = year
        self.interval_minutes = interval_minutes
        self.kw_per_kwh = Decimal(60) / Decimal(interval_minutes)
        self.energy: dict[int, Decimal] = {}
        self._peaks: dict[int, dict[int, Decimal]] = {}
        peaks: dict[int, Decimal] = {}
        for bucket, getter in _bucket_getters(year, interval_minutes, interval_minutes):
            values = getter(load)
            self.energy[bucket] = sum(values, ZERO)
            peaks[bucket] = max(values) * self.kw_per_kwh
        self._peaks[interval_minutes] = peaks

    def peaks(self, window: int | None) -> dict[int, Decimal]:
        # A window no longer than the interval uses each interval's own average demand.
        effective = self.interval_minutes
        if window is not None and window > self.interval_minutes:
            effective = window
        if effective not in self._peaks:
            self._peaks[effective] = self._block_peaks(effective)
        return self._peaks[effective]

    def _block_peaks(self, window: int) -> dict[int, Decimal]:
        size = window // self.interval_minutes
        if window % self.interval_minutes or (24 * 60) % window:
            raise InvalidLoad(
                f"demand window of {window} minutes is not a whole number of "
                f"{self.interval_minutes}-minute intervals dividing a day"
            )
        block_energy = [
            sum(self.load[i : i + size], ZERO) for i in range(0, len(self.load), size)
        ]
        kw_per_kwh = Decimal(60) / Decimal(window)
        peaks: dict[int, Decimal] = {}
        for bucket, getter in _bucket_getters(self.year, self.interval_minutes, window):
            peaks[bucket] = max(getter(block_energy)) * kw_per_kwh
        return peaks


def _month_slice(values: Mapping[int, Decimal], month: int) -> dict[int, Decimal]:
    first = bucket_index(month, False, 0)
    return {b: v for b in range(first, first + 2 * HOURS) if (v := values.get(b)) is not None}


class _MonthPeaks:
    """Callable returning one month's peak buckets for a demand window."""

    def __init__(self, profile: _YearProfile, month: int) -> None:
        self.profile = profile
        self.month = month

    def __call__(self, window: int | None) -> dict[int, Decimal]:
        return _month_slice(self.profile.peaks(window), self.month)


def _sum_kind(lines: Sequence[ChargeLine], kind: ChargeKind) -> Decimal:
    return sum((line.amount for line in lines if line.kind == kind), ZERO_MONEY)


def rate_year(
    tariff: Tariff,
    load: Sequence[Decimal],
    *,
    year: int,
    interval_minutes: int = 60,
) -> YearCharges:
    """Rate a year of load (kWh per interval) as twelve full calendar-month bills.

    The load must have one value per interval of the year: 8760 or 8784 hourly values,
    35040 or 35136 quarter-hourly ones. A yearly minimum is compared with the sum of the
    twelve bills before their monthly minimum top-ups; the shortfall is added to
    December's ``minimum_charge_adjustment``.
    """
    _check_load(load, year, interval_minutes)
    profile = _YearProfile(load, year, interval_minutes)

    months: list[MonthCharges] = []
    for month in range(1, 13):
        days = calendar.monthrange(year, month)[1]
        energy = _month_slice(profile.energy, month)
        usage = SegmentUsage(
            days=days,
            nominal_days=days,
            month_days={month: days},
            consumption=sum(energy.values(), ZERO),
            unit=str(tariff.unit),
            energy_buckets=energy,
            peak_buckets=_MonthPeaks(profile, month),
        )
        lines = price_segment(tariff, usage)
        months.append(
            MonthCharges(
                month=month,
                energy_charge=_sum_kind(lines, ChargeKind.ENERGY),
                demand_charge=_sum_kind(lines, ChargeKind.DEMAND),
                fixed_charge=_sum_kind(lines, ChargeKind.FIXED),
                minimum_charge_adjustment=_sum_kind(lines, ChargeKind.MINIMUM),
                total=sum((line.amount for line in lines), ZERO_MONEY),
                rider_charge=_sum_kind(lines, ChargeKind.RIDER),
                lines=tuple(lines),
            )
        )

    annual = ZERO_MONEY
    yearly = [
        c for c in tariff.charges if isinstance(c, MinimumCharge) and c.per == MinimumPer.YEAR
    ]
    if yearly:
        before_top_ups = sum((m.total - m.minimum_charge_adjustment for m in months), ZERO)
        if before_top_ups < yearly[0].amount:
            annual = round_money(yearly[0].amount - before_top_ups)
            december = months[-1]
            months[-1] = MonthCharges(
                month=12,
                energy_charge=december.energy_charge,
                demand_charge=december.demand_charge,
                fixed_charge=december.fixed_charge,
                minimum_charge_adjustment=december.minimum_charge_adjustment + annual,
                total=december.total + annual,
                rider_charge=december.rider_charge,
                lines=december.lines,
            )
    return YearCharges(year=year, months=tuple(months), annual_minimum_adjustment=annual)


def load_csv(path: str | Path) -> list[Decimal]:
    """Read a one-column load CSV whose header is ``kWh``; return the values as Decimals."""
    values: list[Decimal] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != ["kwh"]:
            raise InvalidLoad(
                f"{path}: the first line must be the single header 'kWh', got {header!r}"
            )
        for line_number, row in enumerate(reader, start=2):
            if not row or not row[0].strip():
                continue
            if len(row) != 1:
                raise InvalidLoad(f"{path} line {line_number}: expected one value, got {row!r}")
            try:
                value = Decimal(row[0].strip())
            except InvalidOperation:
                raise InvalidLoad(
                    f"{path} line {line_number}: {row[0]!r} is not a number"
                ) from None
            if not value.is_finite():
                raise InvalidLoad(f"{path} line {line_number}: {row[0]!r} is not finite")
            values.append(value)
    return values


__all__ = ["MonthCharges", "YearCharges", "load_csv", "rate_year"]
