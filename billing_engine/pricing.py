"""Price one tariff segment: tiers, periods, demand, minimum and riders.

Both ``rate_service`` (one bill) and ``rate_year`` (a year of calendar-month bills) reduce
their usage to a ``SegmentUsage`` and call ``price_segment``. Usage arrives already
aggregated per (month, day type, hour) bucket, so the tier arithmetic runs once per
period, not once per interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billing_engine.errors import RatingError
from billing_engine.lines import ChargeKind, ChargeLine, LineDetail
from billing_engine.money import ZERO, round_money
from billing_engine.tariff import (
    KW_PER_HP,
    ConsumptionBasis,
    DemandCharge,
    DemandKind,
    DemandUnit,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    MinimumCharge,
    MinimumPer,
    Rider,
    RiderKind,
    Tariff,
    TierBasis,
    Tiers,
    step_label,
)

HUNDRED = Decimal(100)


@dataclass
class SegmentUsage:
    """The usage of one tariff segment, reduced to what the charges need.

    ``energy_buckets`` and ``peak_buckets`` are keyed by ``tariff.bucket_index``; both
    are ``None`` for register (non-interval) usage. ``peak_buckets(window)`` returns the
    highest demand in kW per bucket, averaged over ``window`` minutes (``None``: each
    interval as it is).
    """

    days: int
    nominal_days: int
    month_days: Mapping[int, int]
    consumption: Decimal
    unit: str
    energy_buckets: Mapping[int, Decimal] | None = None
    peak_buckets: Callable[[int | None], Mapping[int, Decimal]] | None = None
    register_peak_kw: Decimal | None = None
    water_cap_ratio: Decimal = Decimal(1)
    include_per_bill: bool = True
    _billing_peak: Decimal | None = field(default=None, repr=False)

    def billing_peak_kw(self, code: str) -> Decimal:
        """Return the segment's highest demand in kW, for demand-based tier limits."""
        if self._billing_peak is None:
            if self.peak_buckets is not None:
                self._billing_peak = max(self.peak_buckets(None).values(), default=ZERO)
            elif self.register_peak_kw is not None:
                self._billing_peak = self.register_peak_kw
            else:
                raise RatingError(
                    f"charge {code!r} needs the peak demand in kW, but the register usage "
                    "has none; pass RegisterUsage(peak_demand=...) or interval data",
                    code="demand_required",
                )
        return self._billing_peak


def tier_quantities(total: Decimal, tiers: Tiers, scale: Decimal) -> list[Decimal]:
    """Split ``total`` into the tiers; each cumulative limit is multiplied by ``scale``.

    The last tier is unlimited, so the quantities always add up to ``total``.
    """
    # The conditional expressions pick the same operand that max() and min() return,
    # the first one on a tie, so each quantity keeps the same Decimal exponent.
    quantities: list[Decimal] = []
    lower = ZERO
    for tier in tiers:
        limit = tier.limit
        if limit is None:
            rest = total - lower
            quantities.append(ZERO if ZERO > rest else rest)
            break
        upper = limit * scale
        step = (upper if upper < total else total) - lower
        quantities.append(ZERO if ZERO > step else step)
        lower = lower if lower > upper else upper
    return quantities


def price_energy(
    charge: EnergyCharge,
    consumption: Mapping[int, Decimal],
    active_periods: Sequence[int],
    total_scale: Decimal,
    period_scales: Mapping[int, Decimal],
    unit: str,
) -> tuple[Decimal, list[LineDetail]]:
    """Price per-period consumption on the charge's tiers.

    ``total_scale`` multiplies the limits when all active periods share them (proportional
    split of the total); ``period_scales[p]`` multiplies period ``p``'s own limits otherwise.
    """
    if len(active_periods) == 1 and len(consumption) == 1 and active_periods[0] in consumption:
        periods = [active_periods[0]]  # one period, the common case, needs no set or sort
    else:
        periods = sorted(set(active_periods).union([p for p, q in consumption.items() if q]))
    tier_limits = charge.tier_limits
    labels = charge.step_labels
    amount = ZERO
    details: list[LineDetail] = []
    if len(periods) <= 1 or len({tier_limits[p] for p in periods}) == 1:
        total = sum([consumption.get(p, ZERO) for p in periods], ZERO)
        if total == 0:
            return ZERO, details
        reference = charge.periods[periods[0]]
        for tier, tier_quantity in enumerate(tier_quantities(total, reference, total_scale)):
            if tier_quantity == 0:
                continue
            for period in periods:
                quantity = consumption.get(period, ZERO)
                if quantity == 0:
                    continue
                share = tier_quantity * quantity / total
                price = charge.periods[period][tier].unit_price
                amount += share * price
                details.append(LineDetail(labels[period][tier], share, unit, price))
        return amount, details
    for period in periods:
        quantity = consumption.get(period, ZERO)
        if quantity == 0:
            continue
        tiers = charge.periods[period]
        for tier, tier_quantity in enumerate(
            tier_quantities(quantity, tiers, period_scales[period])
        ):
            if tier_quantity == 0:
                continue
            price = tiers[tier].unit_price
            amount += tier_quantity * price
            details.append(LineDetail(labels[period][tier], tier_quantity, unit, price))
    return amount, details


def price_demand_tiers(
    peak: Decimal, tiers: Tiers, label: str, unit: str, details: list[LineDetail]
) -> Decimal:
    """Price one peak on kW (or hp) tiers, appending a detail per tier used."""
    amount = ZERO
    for tier, quantity in enumerate(tier_quantities(peak, tiers, Decimal(1))):
        if quantity == 0:
            continue
        price = tiers[tier].unit_price
        amount += quantity * price
        details.append(LineDetail(step_label(label, tier, len(tiers)), quantity, unit, price))
    return amount


def _tier_scale(charge: EnergyCharge, usage: SegmentUsage, days: int) -> Decimal:
    """Return the factor on the tier limits of a period active ``days`` days of the segment."""
    basis = charge.tier_basis
    if basis == TierBasis.MONTH:
        return Decimal(days) / Decimal(usage.nominal_days)
    if basis == TierBasis.DAY:
        return Decimal(days)
    peak = usage.billing_peak_kw(charge.code)
    if basis == TierBasis.DEMAND:
        return peak
    return peak * days


def _one_month_register_line(charge: EnergyCharge, usage: SegmentUsage) -> ChargeLine:
    """Price register usage of a segment within one month on a month-constant charge.

    That month has one period, active on every day of the segment. This is the general
    path below with its dicts and sets of one entry unrolled: the same Decimal operations
    in the same order, so the line is the same.
    """
    ((month, days),) = usage.month_days.items()
    (period,) = charge.periods_by_month[month - 1]
    quantity = usage.consumption * days / usage.days
    if charge.consumption_basis == ConsumptionBasis.WATER and usage.water_cap_ratio != 1:
        quantity = quantity * usage.water_cap_ratio
    # With one period, the general path tiers the total on the segment's scale.
    tier_scale = _tier_scale(charge, usage, usage.days)
    # sum() of one value adds it to ZERO, which can change its exponent.
    total = ZERO + quantity
    amount = ZERO
    details: list[LineDetail] = []
    if total != 0:
        tiers = charge.periods[period]
        labels = charge.step_labels[period]
        unit = usage.unit
        for tier, tier_quantity in enumerate(tier_quantities(total, tiers, tier_scale)):
            if tier_quantity == 0:
                continue
            share = tier_quantity * quantity / total
            price = tiers[tier].unit_price
            amount += share * price
            details.append(LineDetail(labels[tier], share, unit, price))
    return ChargeLine(
        charge.code,
        ChargeKind.ENERGY,
        charge.name,
        total,
        usage.unit,
        round_money(amount),
        tuple(details),
    )


def _energy_line(tariff: Tariff, charge: EnergyCharge, usage: SegmentUsage) -> ChargeLine:
    if (
        usage.energy_buckets is None
        and len(usage.month_days) == 1
        and charge.is_month_constant
    ):
        return _one_month_register_line(charge, usage)
    periods_by_month = charge.periods_by_month
    days_by_period: dict[int, int] = {}
    for month, days in usage.month_days.items():
        for period in periods_by_month[month - 1]:
            days_by_period[period] = days_by_period.get(period, 0) + days

    consumption: dict[int, Decimal]
    if usage.energy_buckets is None:
        if not charge.is_month_constant:
            raise RatingError(
                f"charge {charge.code!r} of tariff {tariff.code!r} has time-of-use periods "
                "within a month; register usage cannot be split by hour, so interval data "
                "is required",
                code="interval_data_required",
            )
        total = usage.consumption
        segment_days = usage.days
        consumption = {
            period: total * days / segment_days for period, days in days_by_period.items()
        }
    else:
        consumption = {}
        bucket_periods = charge.bucket_periods
        for bucket, quantity in usage.energy_buckets.items():
            period = bucket_periods[bucket]
            consumption[period] = consumption.get(period, ZERO) + quantity

    if charge.consumption_basis == ConsumptionBasis.WATER and usage.water_cap_ratio != 1:
        ratio = usage.water_cap_ratio
        consumption = {p: q * ratio for p, q in consumption.items()}

    period_scales = {p: _tier_scale(charge, usage, d) for p, d in days_by_period.items()}
    # _tier_scale() is pure, so a period active on every day of the segment lends its result.
    segment_scale = next(
        (period_scales[p] for p, d in days_by_period.items() if d == usage.days), None
    )
    if segment_scale is None:
        segment_scale = _tier_scale(charge, usage, usage.days)
    for period in consumption:
        period_scales.setdefault(period, segment_scale)
    amount, details = price_energy(
        charge,
        consumption,
        sorted(days_by_period),
        segment_scale,
        period_scales,
        usage.unit,
    )
    billed = sum(consumption.values(), ZERO)
    return ChargeLine(
        charge.code,
        ChargeKind.ENERGY,
        charge.name,
        billed,
        usage.unit,
        round_money(amount),
        tuple(details),
    )


def _to_demand_unit(kilowatts: Decimal, unit: DemandUnit) -> Decimal:
    if unit == DemandUnit.HP:
        return kilowatts / KW_PER_HP
    return kilowatts


def _demand_line(tariff: Tariff, charge: DemandCharge, usage: SegmentUsage) -> ChargeLine:
    unit = str(charge.demand_unit)
    details: list[LineDetail] = []
    amount = ZERO
    proration = Decimal(usage.days) / Decimal(usage.nominal_days)
    if charge.kind == DemandKind.FLAT:
        if usage.peak_buckets is not None:
            peak_kw = max(usage.peak_buckets(charge.window_minutes).values(), default=ZERO)
        elif usage.register_peak_kw is not None:
            peak_kw = usage.register_peak_kw
        else:
            raise RatingError(
                f"demand charge {charge.code!r} of tariff {tariff.code!r} needs the peak "
                "demand in kW; pass RegisterUsage(peak_demand=...) or interval data",
                code="demand_required",
            )
        peak = _to_demand_unit(peak_kw, charge.demand_unit)
        # A segment that spans months of different seasons prices its peak on each
        # month's tiers, weighted by that month's share of the nominal days.
        for month, days in sorted(usage.month_days.items()):
            period = charge.month_periods[month - 1]
            month_details: list[LineDetail] = []
            month_amount = price_demand_tiers(
                peak, charge.periods[period], charge.period_name(period), unit, month_details
            )
            weight = Decimal(days) / Decimal(usage.nominal_days)
            amount += month_amount * weight
            details.extend(month_details)
        quantity: Decimal | None = peak
    else:
        if usage.peak_buckets is None:
            raise RatingError(
                f"demand charge {charge.code!r} of tariff {tariff.code!r} is time-of-use; "
                "register usage has no hourly demand, so interval data is required",
                code="interval_data_required",
            )
        period_peaks: dict[int, Decimal] = {}
        bucket_periods = charge.bucket_periods
        for bucket, kilowatts in usage.peak_buckets(charge.window_minutes).items():
            period = bucket_periods[bucket]
            if kilowatts > period_peaks.get(period, ZERO):
                period_peaks[period] = kilowatts
        for period in sorted(period_peaks):
            peak = _to_demand_unit(period_peaks[period], charge.demand_unit)
            amount += price_demand_tiers(
                peak, charge.periods[period], charge.period_name(period), unit, details
            )
        amount *= proration
        quantity = _to_demand_unit(max(period_peaks.values(), default=ZERO), charge.demand_unit)
    return ChargeLine(
        charge.code,
        ChargeKind.DEMAND,
        charge.name,
        quantity,
        unit,
        round_money(amount),
        tuple(details),
    )


def _fixed_line(charge: FixedCharge, usage: SegmentUsage) -> ChargeLine | None:
    if charge.per == FixedPer.BILL:
        if not usage.include_per_bill:
            return None
        detail = LineDetail("per bill", Decimal(1), "bill", charge.amount)
        return ChargeLine(
            charge.code, ChargeKind.FIXED, charge.name, None, None,
            round_money(charge.amount), (detail,),
        )
    days = Decimal(usage.days)
    if charge.per == FixedPer.MONTH:
        # A monthly charge is billed in months: 21 of 31 days is 21/31 of a month.
        quantity = days / Decimal(usage.nominal_days)
        unit = "month"
        amount = charge.amount * days / Decimal(usage.nominal_days)
        label = f"{usage.days} of {usage.nominal_days} days"
    else:
        quantity = days
        unit = "day"
        amount = charge.amount * days
        label = f"{usage.days} days"
    return ChargeLine(
        charge.code, ChargeKind.FIXED, charge.name, quantity, unit, round_money(amount),
        (LineDetail(label, quantity, unit, charge.amount),),
    )


def _minimum_line(charge: MinimumCharge, base: Decimal, usage: SegmentUsage) -> ChargeLine | None:
    if charge.per == MinimumPer.YEAR:
        return None
    if charge.per == MinimumPer.MONTH:
        threshold = charge.amount * usage.days / Decimal(usage.nominal_days)
    else:
        threshold = charge.amount * usage.days
    if base >= threshold:
        return None
    detail = LineDetail("minimum less charges", Decimal(1), "bill", threshold - base)
    return ChargeLine(
        charge.code, ChargeKind.MINIMUM, charge.name, None, None,
        round_money(threshold - base), (detail,),
    )


def _rider_line(charge: Rider, lines: Mapping[str, ChargeLine], usage: SegmentUsage) -> ChargeLine:
    if charge.kind == RiderKind.PER_UNIT:
        amount = charge.rate * usage.consumption
        detail = LineDetail(charge.name, usage.consumption, usage.unit, charge.rate)
        return ChargeLine(
            charge.code, ChargeKind.RIDER, charge.name, usage.consumption, usage.unit,
            round_money(amount), (detail,),
        )
    base = sum((lines[c].amount for c in charge.applies_to if c in lines), ZERO)
    price = charge.rate / HUNDRED
    detail = LineDetail(f"{charge.rate}% of {', '.join(charge.applies_to)}", base, "$", price)
    return ChargeLine(
        charge.code, ChargeKind.RIDER, charge.name, base, "$", round_money(base * price),
        (detail,),
    )


def price_segment(tariff: Tariff, usage: SegmentUsage) -> list[ChargeLine]:
    """Return the lines of one tariff segment, in the tariff's charge order.

    Fixed, energy and demand lines come first; the minimum tops up their rounded sum;
    riders then apply to the lines they name.
    """
    lines: dict[str, ChargeLine] = {}
    minimums: list[MinimumCharge] = []
    riders: list[Rider] = []
    for charge in tariff.charges:
        line: ChargeLine | None = None
        if isinstance(charge, FixedCharge):
            line = _fixed_line(charge, usage)
        elif isinstance(charge, EnergyCharge):
            line = _energy_line(tariff, charge, usage)
        elif isinstance(charge, DemandCharge):
            line = _demand_line(tariff, charge, usage)
        elif isinstance(charge, MinimumCharge):
            minimums.append(charge)
        elif isinstance(charge, Rider):
            riders.append(charge)
        if line is not None:
            lines[charge.code] = line

    if minimums:
        base = sum((line.amount for line in lines.values()), ZERO)
        for charge in minimums:
            minimum = _minimum_line(charge, base, usage)
            if minimum is not None:
                lines[charge.code] = minimum

    for charge in riders:
        lines[charge.code] = _rider_line(charge, lines, usage)

    return [lines[c.code] for c in tariff.charges if c.code in lines]
