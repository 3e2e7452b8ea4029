"""The tariff model: frozen dataclasses for a rate schedule and its charges.

A schedule is 12 rows (January to December) of 24 hourly period indexes, 0-based, in
local wall-clock time. Weekdays are Monday to Friday and use ``weekday_schedule``;
Saturday and Sunday use ``weekend_schedule``. Holidays are not modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from billing_engine.errors import InvalidTariff
from billing_engine.money import ZERO
from billing_engine.units import Unit

Schedule = tuple[tuple[int, ...], ...]

MONTHS = 12
HOURS = 24
#: Number of (month, day type, hour) buckets: 12 months x weekday/weekend x 24 hours.
BUCKETS = MONTHS * 2 * HOURS


class Service(StrEnum):
    WATER = "water"
    SEWER = "sewer"
    TRASH = "trash"
    ELECTRIC = "electric"
    GAS = "gas"


class FixedPer(StrEnum):
    BILL = "bill"
    MONTH = "month"
    DAY = "day"


class TierBasis(StrEnum):
    """Scaling of an energy tier limit: per bill, per day, per kW of peak, per kW per day."""

    MONTH = "month"
    DAY = "day"
    DEMAND = "demand"
    DEMAND_DAY = "demand_day"


class ConsumptionBasis(StrEnum):
    """Quantity an energy charge bills: the metered usage, or water usage under a winter cap."""

    METERED = "metered"
    WATER = "water"


class DemandKind(StrEnum):
    FLAT = "flat"
    TOU = "tou"


class DemandUnit(StrEnum):
    KW = "kW"
    HP = "hp"


class MinimumPer(StrEnum):
    MONTH = "month"
    DAY = "day"
    YEAR = "year"


class RiderKind(StrEnum):
    PER_UNIT = "per_unit"
    PERCENT = "percent"


#: Kilowatts in one mechanical horsepower (550 ft*lbf/s).
KW_PER_HP = Decimal("0.745699872")


def bucket_index(month: int, weekend: bool, hour: int) -> int:
    """Return the index of a (month 1-12, day type, hour 0-23) bucket in 0..BUCKETS-1."""
    return ((month - 1) * 2 + (1 if weekend else 0)) * HOURS + hour


def constant_schedule(month_periods: Sequence[int]) -> Schedule:
    """Build a 12x24 schedule whose every hour of month m is ``month_periods[m-1]``."""
    if len(month_periods) != MONTHS:
        raise InvalidTariff(f"expected 12 month periods, got {len(month_periods)}")
    return tuple(tuple(int(p) for _ in range(HOURS)) for p in month_periods)


@dataclass(frozen=True)
class Tier:
    """One block of a tiered price.

    ``limit`` is the cumulative upper bound of the block (``None`` for the unlimited last
    block). The billed price per unit is ``price + adjustment``.
    """

    limit: Decimal | None
    price: Decimal
    adjustment: Decimal = ZERO

    @property
    def unit_price(self) -> Decimal:
        return self.price + self.adjustment


Tiers = tuple[Tier, ...]


def _check_tiers(code: str, field_name: str, period: int, tiers: Tiers) -> None:
    if not tiers:
        raise InvalidTariff(f"charge {code!r}: {field_name} period {period} has no tiers")
    previous = ZERO
    for number, tier in enumerate(tiers, start=1):
        last = number == len(tiers)
        if last and tier.limit is not None:
            raise InvalidTariff(
                f"charge {code!r}: {field_name} period {period} last tier has limit "
                f"{tier.limit}; the last tier must be unlimited (limit null)"
            )
        if not last:
            if tier.limit is None:
                raise InvalidTariff(
                    f"charge {code!r}: {field_name} period {period} tier {number} is "
                    "unlimited but is not the last tier"
                )
            if tier.limit <= previous:
                raise InvalidTariff(
                    f"charge {code!r}: {field_name} period {period} tier {number} limit "
                    f"{tier.limit} must be greater than the previous limit {previous}"
                )
            previous = tier.limit


def _check_schedule(code: str, field_name: str, schedule: Schedule, period_count: int) -> None:
    if len(schedule) != MONTHS or any(len(row) != HOURS for row in schedule):
        raise InvalidTariff(f"charge {code!r}: {field_name} must be 12 rows of 24 hours")
    for month, row in enumerate(schedule, start=1):
        for hour, period in enumerate(row):
            if not 0 <= period < period_count:
                raise InvalidTariff(
                    f"charge {code!r}: {field_name} month {month} hour {hour} names period "
                    f"{period}, but the charge defines periods 0..{period_count - 1}"
                )


def step_label(name: str, tier: int, tier_count: int) -> str:
    """Return a line detail's label: the period name, with the tier when there are several."""
    if tier_count == 1:
        return name
    return f"{name} tier {tier + 1}"


def _period_name(names: Sequence[str], count: int, period: int, only: str) -> str:
    """Name a period: its given name, ``only`` for a charge's one period, else its number."""
    if names:
        return names[period]
    if count == 1:
        return only
    return f"period {period}"


def _step_labels(
    periods: Sequence[Tiers], period_name: Callable[[int], str]
) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(step_label(period_name(period), tier, len(tiers)) for tier in range(len(tiers)))
        for period, tiers in enumerate(periods)
    )


def _bucket_periods(weekday: Schedule, weekend: Schedule) -> tuple[int, ...]:
    periods = [0] * BUCKETS
    for month in range(1, MONTHS + 1):
        for hour in range(HOURS):
            periods[bucket_index(month, False, hour)] = weekday[month - 1][hour]
            periods[bucket_index(month, True, hour)] = weekend[month - 1][hour]
    return tuple(periods)


def _month_constant(weekday: Schedule, weekend: Schedule) -> bool:
    return all(
        len(set(weekday[m]) | set(weekend[m])) == 1 for m in range(MONTHS)
    )


def _periods_by_month(weekday: Schedule, weekend: Schedule) -> tuple[frozenset[int], ...]:
    return tuple(frozenset(weekday[m]) | frozenset(weekend[m]) for m in range(MONTHS))


@dataclass(frozen=True)
class FixedCharge:
    """A fixed amount per bill (never prorated), per month (prorated by days) or per day."""

    code: str
    name: str
    amount: Decimal
    per: FixedPer = FixedPer.MONTH


@dataclass(frozen=True)
class EnergyCharge:
    """A per-unit charge with optional tiers (blocks), seasons and time-of-use periods.

    ``periods[p]`` is the tier list of period ``p``. Tier limits are cumulative; the
    last tier is unlimited. With tiers and several periods active in one month, the
    engine applies one of two rules:

    * every period active in the month has the same tier limits: the limits apply to the
      month's total consumption and each tier's quantity is split across the periods in
      proportion to each period's share of the month's consumption (the rule of NREL SAM);
    * the limits differ: each period's consumption is tiered on its own limits.
    """

    code: str
    name: str
    periods: tuple[Tiers, ...]
    weekday_schedule: Schedule
    weekend_schedule: Schedule
    tier_basis: TierBasis = TierBasis.MONTH
    period_names: tuple[str, ...] = ()
    consumption_basis: ConsumptionBasis = ConsumptionBasis.METERED

    def __post_init__(self) -> None:
        if not self.periods:
            raise InvalidTariff(f"charge {self.code!r}: energy charge has no periods")
        for index, tiers in enumerate(self.periods):
            _check_tiers(self.code, "periods", index, tiers)
        _check_schedule(self.code, "weekday_schedule", self.weekday_schedule, len(self.periods))
        _check_schedule(self.code, "weekend_schedule", self.weekend_schedule, len(self.periods))
        if self.period_names and len(self.period_names) != len(self.periods):
            raise InvalidTariff(
                f"charge {self.code!r}: {len(self.period_names)} period names for "
                f"{len(self.periods)} periods"
            )

    @cached_property
    def bucket_periods(self) -> tuple[int, ...]:
        """Period of each (month, day type, hour) bucket, indexed by ``bucket_index``."""
        return _bucket_periods(self.weekday_schedule, self.weekend_schedule)

    @cached_property
    def is_month_constant(self) -> bool:
        """True when every hour of a month has one period (seasons by month, no TOU)."""
        return _month_constant(self.weekday_schedule, self.weekend_schedule)

    @cached_property
    def periods_by_month(self) -> tuple[frozenset[int], ...]:
        return _periods_by_month(self.weekday_schedule, self.weekend_schedule)

    @cached_property
    def tier_limits(self) -> tuple[tuple[Decimal | None, ...], ...]:
        """Tier limits of each period, compared to see whether periods share their tiers."""
        return tuple(tuple(tier.limit for tier in tiers) for tiers in self.periods)

    @cached_property
    def step_labels(self) -> tuple[tuple[str, ...], ...]:
        """Detail label of each tier of each period."""
        return _step_labels(self.periods, self.period_name)

    def period_name(self, period: int) -> str:
        return _period_name(self.period_names, len(self.periods), period, "all usage")


@dataclass(frozen=True)
class DemandCharge:
    """A charge per kW (or hp) of peak demand.

    ``flat``: the month's highest demand, priced on the tiers of ``month_periods[m-1]``.
    ``tou``: each period of the schedules has its own peak, priced on its own tiers.
    Demand is the average over ``window_minutes``; ``None`` uses each interval as it is.
    """

    code: str
    name: str
    kind: DemandKind
    periods: tuple[Tiers, ...]
    month_periods: tuple[int, ...] = ()
    weekday_schedule: Schedule = ()
    weekend_schedule: Schedule = ()
    demand_unit: DemandUnit = DemandUnit.KW
    window_minutes: int | None = None
    period_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.periods:
            raise InvalidTariff(f"charge {self.code!r}: demand charge has no periods")
        for index, tiers in enumerate(self.periods):
            _check_tiers(self.code, "periods", index, tiers)
        count = len(self.periods)
        if self.kind == DemandKind.FLAT:
            if len(self.month_periods) != MONTHS:
                raise InvalidTariff(
                    f"charge {self.code!r}: flat demand needs 12 month_periods, got "
                    f"{len(self.month_periods)}"
                )
            for month, period in enumerate(self.month_periods, start=1):
                if not 0 <= period < count:
                    raise InvalidTariff(
                        f"charge {self.code!r}: month_periods month {month} names period "
                        f"{period}, but the charge defines periods 0..{count - 1}"
                    )
        else:
            _check_schedule(self.code, "weekday_schedule", self.weekday_schedule, count)
            _check_schedule(self.code, "weekend_schedule", self.weekend_schedule, count)
        if self.window_minutes is not None and self.window_minutes <= 0:
            raise InvalidTariff(
                f"charge {self.code!r}: window_minutes {self.window_minutes} must be positive"
            )

    @cached_property
    def bucket_periods(self) -> tuple[int, ...]:
        if self.kind == DemandKind.FLAT:
            schedule = constant_schedule(self.month_periods)
            return _bucket_periods(schedule, schedule)
        return _bucket_periods(self.weekday_schedule, self.weekend_schedule)

    @cached_property
    def step_labels(self) -> tuple[tuple[str, ...], ...]:
        """Detail label of each tier of each period."""
        return _step_labels(self.periods, self.period_name)

    def period_name(self, period: int) -> str:
        return _period_name(self.period_names, len(self.periods), period, "peak demand")


@dataclass(frozen=True)
class MinimumCharge:
    """A minimum bill: a top-up line when fixed + energy + demand falls below ``amount``."""

    code: str
    name: str
    amount: Decimal
    per: MinimumPer = MinimumPer.MONTH


@dataclass(frozen=True)
class Rider:
    """A surcharge: ``rate`` per unit of consumption, or ``rate`` percent of named lines.

    For ``percent`` riders ``rate`` is in percent (2.5 means 2.5 %) of the sum of the
    rounded amounts of the lines whose charge codes are in ``applies_to``.
    """

    code: str
    name: str
    kind: RiderKind
    rate: Decimal
    applies_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class WinterAverageCap:
    """Caps water-based consumption at the customer's average over winter months."""

    months: tuple[int, ...] = (12, 1, 2)

    def __post_init__(self) -> None:
        check_winter_months(self.months)


def check_winter_months(months: Sequence[int]) -> None:
    """Raise ``InvalidTariff`` unless ``months`` are distinct and contiguous in order."""
    if not months or len(months) > MONTHS:
        raise InvalidTariff(f"winter months {tuple(months)} must list 1 to 12 months")
    for month in months:
        if not 1 <= month <= MONTHS:
            raise InvalidTariff(f"winter month {month} is not in 1..12")
    for previous, current in zip(months, months[1:], strict=False):
        if current != previous % MONTHS + 1:
            raise InvalidTariff(
                f"winter months {tuple(months)} are not contiguous: {current} does not "
                f"follow {previous}"
            )


Charge = FixedCharge | EnergyCharge | DemandCharge | MinimumCharge | Rider


@dataclass(frozen=True)
class Tariff:
    """A rate schedule: what a service costs, in the order its lines print."""

    code: str
    name: str
    service: Service
    unit: Unit
    charges: tuple[Charge, ...]
    winter_average_cap: WinterAverageCap | None = None
    ignored_features: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        seen: set[str] = set()
        minimum_periods: set[MinimumPer] = set()
        for charge in self.charges:
            if charge.code in seen:
                raise InvalidTariff(
                    f"tariff {self.code!r}: charge code {charge.code!r} is used twice; "
                    "give each charge a distinct code"
                )
            if isinstance(charge, Rider) and charge.kind == RiderKind.PERCENT:
                for target in charge.applies_to:
                    if target not in seen:
                        raise InvalidTariff(
                            f"tariff {self.code!r}: rider {charge.code!r} applies to "
                            f"{target!r}, which is not a charge listed before the rider"
                        )
            if isinstance(charge, MinimumCharge):
                kind = MinimumPer.YEAR if charge.per == MinimumPer.YEAR else MinimumPer.MONTH
                if kind in minimum_periods:
                    raise InvalidTariff(
                        f"tariff {self.code!r}: minimum charge {charge.code!r} is a second "
                        f"{'yearly' if kind == MinimumPer.YEAR else 'monthly or daily'} "
                        "minimum; a tariff has at most one of each"
                    )
                minimum_periods.add(kind)
            seen.add(charge.code)

    @property
    def fixed_charges(self) -> tuple[FixedCharge, ...]:
        return tuple(c for c in self.charges if isinstance(c, FixedCharge))

    @property
    def energy_charges(self) -> tuple[EnergyCharge, ...]:
        return tuple(c for c in self.charges if isinstance(c, EnergyCharge))

    @property
    def demand_charges(self) -> tuple[DemandCharge, ...]:
        return tuple(c for c in self.charges if isinstance(c, DemandCharge))

    @property
    def minimum_charges(self) -> tuple[MinimumCharge, ...]:
        return tuple(c for c in self.charges if isinstance(c, MinimumCharge))

    @property
    def riders(self) -> tuple[Rider, ...]:
        return tuple(c for c in self.charges if isinstance(c, Rider))
