"""Rate a year of interval load as twelve calendar-month bills: ``rate_year``.

Value ``i`` of the load is local wall-clock time ``datetime(year, 1, 1) + i * interval``
with no daylight-saving shift (8760-hour load files are in standard time). Each month is
one bill over the whole calendar month.
"""

from __future__ import annotations

import calendar
import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation, getcontext
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from billing_engine.errors import InvalidLoad
from billing_engine.lines import ChargeKind, ChargeLine
from billing_engine.money import ZERO, ZERO_MONEY, round_money
from billing_engine.pricing import SegmentUsage, price_segment
from billing_engine.scaled_load import LoadList, ScaledLoad, scale_load, scaled_form_of
from billing_engine.tariff import (
    HOURS,
    DemandCharge,
    DemandKind,
    EnergyCharge,
    MinimumCharge,
    MinimumPer,
    Tariff,
    TierBasis,
    bucket_index,
)

SUPPORTED_INTERVALS = (60, 15)

#: Getter of the load values that fall in one bucket: takes the load (its Decimals or its
#: scaled ints, or a per-value list such as decimal places), returns a tuple.
_Getter = Callable[[Sequence[Any]], tuple[Any, ...]]


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


def _check_load(
    load: Sequence[Decimal], year: int, interval_minutes: int, scaled: ScaledLoad | None
) -> None:
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
    if scaled is not None:
        return  # a load with a scaled form has no signed value
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

    def __call__(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return (values[self.index],)


@lru_cache(maxsize=16)
def _bucket_members(
    year: int, interval_minutes: int, window_minutes: int
) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Return, per bucket, the indexes of the year's steps (or window-long blocks) in it.

    With ``window_minutes == interval_minutes`` each index is one step. Otherwise each
    index is a block of ``window_minutes / interval_minutes`` steps.
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
    return tuple((bucket, tuple(indexes)) for bucket, indexes in sorted(members.items()))


@lru_cache(maxsize=64)
def _group_getters(
    year: int, interval_minutes: int, window_minutes: int, signature: tuple[tuple[int, ...], ...]
) -> tuple[tuple[int, _Getter, tuple[int, ...]], ...]:
    """Merge the buckets that no charge distinguishes; return (bucket, getter, indexes) each.

    ``signature`` holds the bucket-to-period map of each charge with hourly periods. Two
    buckets of one month with the same period under every map are billed alike, so their
    steps are summed (and their peak taken) together. Each group is keyed by one of its
    buckets, which maps to the group's periods like any other member would. The getter
    returns the group's values in the order of ``indexes``.
    """
    groups: dict[tuple[int, ...], tuple[int, list[int]]] = {}
    for bucket, members in _bucket_members(year, interval_minutes, window_minutes):
        key = (bucket // (2 * HOURS), *(periods[bucket] for periods in signature))
        if key in groups:
            groups[key][1].extend(members)
        else:
            groups[key] = (bucket, list(members))
    getters: list[tuple[int, _Getter, tuple[int, ...]]] = []
    for bucket, indexes in groups.values():
        getter: _Getter
        if len(indexes) == 1:
            getter = _SingleGetter(indexes[0])
        else:
            getter = itemgetter(*indexes)
        getters.append((bucket, getter, tuple(indexes)))
    return tuple(getters)


def _needs_peaks(tariff: Tariff) -> bool:
    return any(
        isinstance(c, DemandCharge)
        or (
            isinstance(c, EnergyCharge)
            and c.tier_basis in (TierBasis.DEMAND, TierBasis.DEMAND_DAY)
        )
        for c in tariff.charges
    )


def _signature(tariff: Tariff) -> tuple[tuple[int, ...], ...]:
    maps: list[tuple[int, ...]] = []
    for charge in tariff.charges:
        if isinstance(charge, EnergyCharge) and not charge.is_month_constant:
            maps.append(charge.bucket_periods)
        elif isinstance(charge, DemandCharge) and charge.kind == DemandKind.TOU:
            maps.append(charge.bucket_periods)
    return tuple(maps)


def _by_month(values: dict[int, Decimal]) -> list[dict[int, Decimal]]:
    months: list[dict[int, Decimal]] = [{} for _ in range(12)]
    for bucket, value in values.items():
        months[bucket // (2 * HOURS)][bucket] = value
    return months


class _YearProfile:
    """Energy and demand peaks per month and bucket group, for one year of load."""

    def __init__(
        self,
        load: Sequence[Decimal],
        scaled: ScaledLoad | None,
        year: int,
        interval_minutes: int,
        signature: tuple[tuple[int, ...], ...],
        needs_peaks: bool,
    ) -> None:
        self.load = load
        self.scaled = scaled
        self.year = year
        self.interval_minutes = interval_minutes
        self.signature = signature
        groups = _group_getters(year, interval_minutes, interval_minutes, signature)
        found = None
        if scaled is not None:
            found = _scaled_energy_and_peaks(load, scaled, groups, needs_peaks)
        if found is None:
            found = _decimal_energy_and_peaks(load, groups, needs_peaks)
        energy, peaks = found
        kw_per_kwh = Decimal(60) / Decimal(interval_minutes)
        if kw_per_kwh != 1:
            peaks = {bucket: value * kw_per_kwh for bucket, value in peaks.items()}
        self.energy = _by_month(energy)
        self._peaks: dict[int, list[dict[int, Decimal]]] = {}
        if needs_peaks:
            self._peaks[interval_minutes] = _by_month(peaks)

    def peaks(self, window: int | None, month: int) -> dict[int, Decimal]:
        # A window no longer than the interval uses each interval's own average demand.
        # Peaks skipped in __init__ (needs_peaks false) are computed here on first use.
        effective = self.interval_minutes
        if window is not None and window > self.interval_minutes:
            effective = window
        if effective not in self._peaks:
            self._peaks[effective] = _by_month(self._block_peaks(effective))
        return self._peaks[effective][month - 1]

    def _block_peaks(self, window: int) -> dict[int, Decimal]:
        size = window // self.interval_minutes
        if window == self.interval_minutes:
            series: Sequence[Decimal] = self.load
        elif window % self.interval_minutes or (24 * 60) % window:
            raise InvalidLoad(
                f"demand window of {window} minutes is not a whole number of "
                f"{self.interval_minutes}-minute intervals dividing a day"
            )
        else:
            series = [sum(self.load[i : i + size], ZERO) for i in range(0, len(self.load), size)]
        kw_per_kwh = Decimal(60) / Decimal(window)
        peaks: dict[int, Decimal] = {}
        groups = _group_getters(self.year, self.interval_minutes, window, self.signature)
        for bucket, getter, _ in groups:
            peaks[bucket] = max(getter(series)) * kw_per_kwh
        return peaks


_Groups = tuple[tuple[int, _Getter, tuple[int, ...]], ...]
_EnergyAndPeaks = tuple[dict[int, Decimal], dict[int, Decimal]]


def _decimal_energy_and_peaks(
    load: Sequence[Decimal], groups: _Groups, needs_peaks: bool
) -> _EnergyAndPeaks:
    """Sum each group's energy (kWh) and take its largest value, on the Decimals."""
    energy: dict[int, Decimal] = {}
    peaks: dict[int, Decimal] = {}
    if needs_peaks:
        for bucket, getter, _ in groups:
            values = getter(load)
            energy[bucket] = sum(values, ZERO)
            peaks[bucket] = max(values)
    else:
        for bucket, getter, _ in groups:
            energy[bucket] = sum(getter(load), ZERO)
    return energy, peaks


def _scaled_energy_and_peaks(
    load: Sequence[Decimal], scaled: ScaledLoad, groups: _Groups, needs_peaks: bool
) -> _EnergyAndPeaks | None:
    """Compute what ``_decimal_energy_and_peaks`` returns, equal digit for digit, on ints.

    Each energy sum is the Decimal with the most decimal places of its terms, as the
    Decimal sum has. Each peak is the load's own first largest Decimal of the group.
    Returns ``None`` when a sum has more digits than the context precision, because the
    Decimal sum rounds there.
    """
    precision = getcontext().prec
    packed = scaled.packed
    bits = scaled.flag_bits
    flags = (1 << bits) - 1
    places = scaled.places
    energy: dict[int, Decimal] = {}
    peaks: dict[int, Decimal] = {}
    for bucket, getter, indexes in groups:
        values = getter(packed)
        packed_total = sum(values)
        if packed_total & flags or not places:
            group_places = places
        else:
            group_places = max(getter(scaled.value_places))
        total = scaled.to_decimal(packed_total >> bits, group_places, precision)
        if total is None:
            return None
        energy[bucket] = total
        if needs_peaks:
            peaks[bucket] = load[indexes[_first_max_position(values)]]
    return energy, peaks


def _first_max_position(packed: tuple[int, ...]) -> int:
    """Return the position of the first largest value, ignoring the flag bit.

    The flag is the lowest bit, so only an unflagged copy of a flagged maximum can
    compare equal to it without the flag, and it may come first.
    """
    top = max(packed)
    position = packed.index(top)
    if top & 1:
        try:
            position = packed.index(top - 1, 0, position)
        except ValueError:
            pass
    return position


class _MonthPeaks:
    """Callable returning one month's peak per bucket group for a demand window."""

    def __init__(self, profile: _YearProfile, month: int) -> None:
        self.profile = profile
        self.month = month

    def __call__(self, window: int | None) -> dict[int, Decimal]:
        return self.profile.peaks(window, self.month)


def _month_charges(month: int, lines: Sequence[ChargeLine]) -> MonthCharges:
    # One pass adds each kind's amounts in line order from ZERO_MONEY, as sum() would.
    by_kind = dict.fromkeys(ChargeKind, ZERO_MONEY)
    total = ZERO_MONEY
    for line in lines:
        by_kind[line.kind] += line.amount
        total += line.amount
    return MonthCharges(
        month=month,
        energy_charge=by_kind[ChargeKind.ENERGY],
        demand_charge=by_kind[ChargeKind.DEMAND],
        fixed_charge=by_kind[ChargeKind.FIXED],
        minimum_charge_adjustment=by_kind[ChargeKind.MINIMUM],
        total=total,
        rider_charge=by_kind[ChargeKind.RIDER],
        lines=tuple(lines),
    )


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
    scaled = scaled_form_of(load)
    _check_load(load, year, interval_minutes, scaled)
    profile = _YearProfile(
        load, scaled, year, interval_minutes, _signature(tariff), _needs_peaks(tariff)
    )

    months: list[MonthCharges] = []
    for month in range(1, 13):
        days = calendar.monthrange(year, month)[1]
        energy = profile.energy[month - 1]
        usage = SegmentUsage(
            days=days,
            nominal_days=days,
            month_days={month: days},
            consumption=sum(energy.values(), ZERO),
            unit=str(tariff.unit),
            energy_buckets=energy,
            peak_buckets=_MonthPeaks(profile, month),
        )
        months.append(_month_charges(month, price_segment(tariff, usage)))

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
    """Read a one-column load CSV whose header is ``kWh``; return the values as Decimals.

    The list also carries the values' exact scaled-integer form, which ``rate_year``
    sums faster than the Decimals. Changing the list drops that form (see
    ``billing_engine.scaled_load``) but never changes a result.
    """
    values = LoadList()
    texts: list[str] = []
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
            text = row[0].strip()
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise InvalidLoad(
                    f"{path} line {line_number}: {row[0]!r} is not a number"
                ) from None
            if not value.is_finite():
                raise InvalidLoad(f"{path} line {line_number}: {row[0]!r} is not finite")
            values.append(value)
            texts.append(text)
    values.scaled_form = scale_load(values, texts)
    return values


__all__ = ["MonthCharges", "YearCharges", "load_csv", "rate_year"]
