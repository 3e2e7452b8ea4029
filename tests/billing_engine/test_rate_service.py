"""rate_service: proration, tariff version changes, units, sewer cap, riders, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from billing_engine import (
    ChargeKind,
    ConsumptionBasis,
    DemandCharge,
    DemandKind,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    Interval,
    IntervalUsage,
    MinimumCharge,
    Period,
    RatingError,
    RegisterUsage,
    Rider,
    RiderKind,
    Service,
    Tariff,
    TariffSegment,
    Tier,
    Unit,
    UnitConversionError,
    WinterAverageCap,
    constant_schedule,
    rate_service,
)

D = Decimal
FLAT = constant_schedule([0] * 12)
JULY = Period(date(2024, 7, 1), date(2024, 8, 1))


def energy(*tiers: Tier, code: str = "energy",
           basis: ConsumptionBasis = ConsumptionBasis.METERED) -> EnergyCharge:
    return EnergyCharge(code, "Energy", (tuple(tiers),), FLAT, FLAT, consumption_basis=basis)


def electric(code: str, *charges: object) -> Tariff:
    return Tariff(code, code, Service.ELECTRIC, Unit.KWH, tuple(charges))  # type: ignore[arg-type]


def amounts(result: object) -> dict[str, Decimal]:
    return {line.code: line.amount for line in result.lines}  # type: ignore[attr-defined]


BASIC = electric("basic", FixedCharge("fixed", "Customer charge", D(10)),
                 energy(Tier(None, D("0.10"))))


def test_full_month() -> None:
    result = rate_service([TariffSegment(BASIC, JULY.start, JULY.end)], JULY,
                          RegisterUsage(D(100), Unit.KWH))

    assert amounts(result) == {"fixed": D("10.00"), "energy": D("10.00")}
    assert result.total == D("20.00")


def test_service_start_prorates_monthly_charge() -> None:
    # Service starts July 11: 21 of 31 days.
    result = rate_service([TariffSegment(BASIC, date(2024, 7, 11), JULY.end)], JULY,
                          RegisterUsage(D(100), Unit.KWH))

    # 10 x 21 / 31 = 6.774...
    assert amounts(result)["fixed"] == D("6.77")
    assert result.total == D("16.77")


def test_tier_limit_prorated_at_stop() -> None:
    tariff = Tariff("w", "water", Service.WATER, Unit.KGAL,
                    (energy(Tier(D(10), D(2)), Tier(None, D(3))),))
    september = Period(date(2024, 9, 1), date(2024, 10, 1))
    # Service stops after Sep 15: 15 of 30 days, so the first block holds 5 kgal.
    result = rate_service([TariffSegment(tariff, september.start, date(2024, 9, 16))],
                          september, RegisterUsage(D(8), Unit.KGAL))

    # 5 x 2 + 3 x 3
    assert result.total == D("19.00")


def test_version_change_splits_by_days() -> None:
    new = electric("new", FixedCharge("fixed", "Customer charge", D(12)),
                   energy(Tier(None, D("0.12"))))
    segments = [
        TariffSegment(BASIC, JULY.start, date(2024, 7, 16)),
        TariffSegment(new, date(2024, 7, 16), JULY.end),
    ]
    result = rate_service(segments, JULY, RegisterUsage(D(310), Unit.KWH))

    # 15 days then 16 days; 310 kWh splits 150 / 160.
    assert [line.amount for line in result.lines] == [
        D("4.84"),   # 10 x 15 / 31 = 4.8387
        D("15.00"),  # 150 x 0.10
        D("6.19"),   # 12 x 16 / 31 = 6.1935
        D("19.20"),  # 160 x 0.12
    ]
    assert result.total == D("45.23")


def test_per_bill_charge_once_across_versions() -> None:
    old = electric("old", FixedCharge("bill", "Bill fee", D(3), FixedPer.BILL))
    new = electric("new", FixedCharge("bill", "Bill fee", D(4), FixedPer.BILL))
    segments = [TariffSegment(old, JULY.start, date(2024, 7, 10)),
                TariffSegment(new, date(2024, 7, 10), JULY.end)]
    result = rate_service(segments, JULY, RegisterUsage(D(1), Unit.KWH))

    # Charged once, from the tariff of the last segment, never prorated.
    assert [line.amount for line in result.lines] == [D("4.00")]


def test_daily_fixed_charge() -> None:
    tariff = electric("d", FixedCharge("fixed", "Customer charge", D("0.5"), FixedPer.DAY))
    result = rate_service([TariffSegment(tariff, date(2024, 7, 11), JULY.end)], JULY,
                          RegisterUsage(D(0), Unit.KWH))

    # 21 days x 0.50
    assert result.total == D("10.50")


def test_minimum_prorated() -> None:
    tariff = electric("m", energy(Tier(None, D("0.10"))),
                      MinimumCharge("minimum", "Minimum bill", D(31)))
    result = rate_service([TariffSegment(tariff, date(2024, 7, 11), JULY.end)], JULY,
                          RegisterUsage(D(50), Unit.KWH))

    # Minimum 31 x 21 / 31 = 21.00; energy 5.00; top-up 16.00
    assert amounts(result) == {"energy": D("5.00"), "minimum": D("16.00")}


def test_riders() -> None:
    tariff = electric(
        "r",
        FixedCharge("fixed", "Customer charge", D(10)),
        energy(Tier(None, D("0.1234"))),
        Rider("fuel", "Fuel adjustment", RiderKind.PER_UNIT, D("0.01")),
        Rider("tax", "Franchise fee", RiderKind.PERCENT, D(5), ("fixed", "energy")),
    )
    result = rate_service([TariffSegment(tariff, JULY.start, JULY.end)], JULY,
                          RegisterUsage(D(100), Unit.KWH))

    # energy 12.34; fuel 100 x 0.01 = 1.00; tax 5 % of (10.00 + 12.34) = 1.117
    assert amounts(result) == {
        "fixed": D("10.00"), "energy": D("12.34"), "fuel": D("1.00"), "tax": D("1.12"),
    }


def sewer() -> Tariff:
    return Tariff("s", "sewer", Service.SEWER, Unit.KGAL,
                  (energy(Tier(None, D(5)), basis=ConsumptionBasis.WATER),),
                  winter_average_cap=WinterAverageCap((12, 1, 2)))


@pytest.mark.parametrize(
    ("usage", "winter", "expected"),
    [
        (D(12), D("7.5"), D("37.50")),  # capped: 7.5 x 5
        (D(12), None, D("60.00")),      # no winter history: 12 x 5
        (D(6), D("7.5"), D("30.00")),   # below the cap: 6 x 5
    ],
)
def test_sewer_winter_average_cap(usage: Decimal, winter: Decimal | None,
                                  expected: Decimal) -> None:
    result = rate_service([TariffSegment(sewer(), JULY.start, JULY.end)], JULY,
                          RegisterUsage(usage, Unit.KGAL), winter_average=winter)

    assert result.total == expected


def test_usage_converted_to_tariff_unit() -> None:
    tariff = Tariff("w", "water", Service.WATER, Unit.CCF, (energy(Tier(None, D(3))),))
    result = rate_service([TariffSegment(tariff, JULY.start, JULY.end)], JULY,
                          RegisterUsage(D(500), Unit.FT3))

    # 500 ft3 = 5 ccf x 3
    assert result.total == D("15.00")
    assert result.lines[0].quantity == D(5)


def test_gas_needs_heat_factor() -> None:
    tariff = Tariff("g", "gas", Service.GAS, Unit.THERM, (energy(Tier(None, D(1))),))
    segment = [TariffSegment(tariff, JULY.start, JULY.end)]

    # 5 ccf x 1.037 = 5.185 therm, half-up to 5.19
    result = rate_service(segment, JULY, RegisterUsage(D(5), Unit.CCF),
                          therms_per_ccf=D("1.037"))
    assert result.total == D("5.19")
    with pytest.raises(UnitConversionError) as caught:
        rate_service(segment, JULY, RegisterUsage(D(5), Unit.CCF))
    assert caught.value.code == "heat_factor_required"


def test_kwh_never_converts_to_volume() -> None:
    with pytest.raises(UnitConversionError) as caught:
        rate_service([TariffSegment(BASIC, JULY.start, JULY.end)], JULY,
                     RegisterUsage(D(5), Unit.GAL))

    assert caught.value.code == "unit_mismatch"


def test_negative_usage_rejected() -> None:
    with pytest.raises(RatingError) as caught:
        rate_service([TariffSegment(BASIC, JULY.start, JULY.end)], JULY,
                     RegisterUsage(D(-1), Unit.KWH))

    assert caught.value.code == "negative_usage"
    assert "-1" in str(caught.value)


WEEKDAY_PEAK = tuple(tuple(1 if 12 <= h < 18 else 0 for h in range(24)) for _ in range(12))
TOU = electric("tou", EnergyCharge("energy", "Energy",
                                   ((Tier(None, D("0.10")),), (Tier(None, D("0.30")),)),
                                   WEEKDAY_PEAK, FLAT))


def test_tou_on_register_usage_rejected() -> None:
    with pytest.raises(RatingError) as caught:
        rate_service([TariffSegment(TOU, JULY.start, JULY.end)], JULY,
                      RegisterUsage(D(100), Unit.KWH))

    assert caught.value.code == "interval_data_required"
    assert "interval data is required" in str(caught.value)


@pytest.mark.parametrize(
    "segments",
    [
        [(date(2024, 7, 1), date(2024, 7, 10)), (date(2024, 7, 11), date(2024, 8, 1))],
        [(date(2024, 7, 1), date(2024, 7, 12)), (date(2024, 7, 11), date(2024, 8, 1))],
        [(date(2024, 6, 30), date(2024, 8, 1))],
        [(date(2024, 7, 5), date(2024, 7, 5))],
        [],
    ],
    ids=["gap", "overlap", "outside-period", "empty", "none"],
)
def test_bad_segments_rejected(segments: list[tuple[date, date]]) -> None:
    with pytest.raises(RatingError) as caught:
        rate_service([TariffSegment(BASIC, s, e) for s, e in segments], JULY,
                     RegisterUsage(D(1), Unit.KWH))

    assert caught.value.code == "segments_invalid"


def hourly(start: datetime, values: list[Decimal]) -> IntervalUsage:
    return IntervalUsage([Interval(start + timedelta(hours=i), 3600, v)
                          for i, v in enumerate(values)])


def test_interval_usage_time_of_use() -> None:
    # Monday July 1 2024, 24 hours of 1 kWh: 6 peak hours.
    day = Period(date(2024, 7, 1), date(2024, 7, 2))
    result = rate_service([TariffSegment(TOU, day.start, day.end)], day,
                          hourly(datetime(2024, 7, 1), [D(1)] * 24))

    # 6 x 0.30 + 18 x 0.10, one line with a detail per period
    assert result.total == D("3.60")
    assert len(result.lines) == 1
    assert {d.label: d.quantity for d in result.lines[0].detail} == {
        "period 0": D(18), "period 1": D(6),
    }


def test_interval_usage_split_by_segment() -> None:
    cheap = electric("cheap", energy(Tier(None, D("0.10"))))
    dear = electric("dear", energy(Tier(None, D("0.20"))))
    period = Period(date(2024, 7, 1), date(2024, 7, 3))
    segments = [TariffSegment(cheap, date(2024, 7, 1), date(2024, 7, 2)),
                TariffSegment(dear, date(2024, 7, 2), date(2024, 7, 3))]
    result = rate_service(segments, period, hourly(datetime(2024, 7, 1), [D(1)] * 48))

    # 24 kWh at 0.10 on July 1, 24 at 0.20 on July 2
    assert [line.amount for line in result.lines] == [D("2.40"), D("4.80")]


def test_demand_window_averages_short_intervals() -> None:
    tariff = electric("dem", DemandCharge("demand", "Demand", DemandKind.FLAT,
                                          ((Tier(None, D(10)),),), month_periods=(0,) * 12,
                                          window_minutes=60))
    # Four 15-min intervals of 1 kWh in hour 10 (4 kW over the hour); one 2 kWh interval
    # in hour 11 (8 kW for 15 minutes, 2 kW over the hour).
    start = datetime(2024, 7, 1, 10)
    intervals = [Interval(start + timedelta(minutes=15 * i), 900, D(1)) for i in range(4)]
    intervals.append(Interval(datetime(2024, 7, 1, 11), 900, D(2)))
    result = rate_service([TariffSegment(tariff, JULY.start, JULY.end)], JULY,
                          IntervalUsage(intervals))

    # Peak 4 kW x $10
    assert result.total == D("40.00")
    assert result.lines[0].quantity == D(4)


def test_register_demand_from_peak_register() -> None:
    tariff = electric("dem", DemandCharge("demand", "Demand", DemandKind.FLAT,
                                          ((Tier(D(5), D(0)), Tier(None, D(8))),),
                                          month_periods=(0,) * 12))
    result = rate_service([TariffSegment(tariff, JULY.start, JULY.end)], JULY,
                          RegisterUsage(D(100), Unit.KWH, peak_demand=D("12.5")))

    # First 5 kW free, 7.5 kW x $8
    assert result.total == D("60.00")
    with pytest.raises(RatingError) as caught:
        rate_service([TariffSegment(tariff, JULY.start, JULY.end)], JULY,
                     RegisterUsage(D(100), Unit.KWH))
    assert caught.value.code == "demand_required"


def test_line_rounded_once() -> None:
    # Two periods of 0.3333 kWh at 0.015 cost 0.0049995 each: rounded apart, 0.00 + 0.00.
    day = Period(date(2024, 7, 1), date(2024, 7, 2))
    tariff = electric("tou", EnergyCharge(
        "energy", "Energy", ((Tier(None, D("0.015")),), (Tier(None, D("0.015")),)),
        WEEKDAY_PEAK, FLAT))
    intervals = IntervalUsage([
        Interval(datetime(2024, 7, 1, 1), 3600, D("0.3333")),
        Interval(datetime(2024, 7, 1, 13), 3600, D("0.3333")),
    ])
    result = rate_service([TariffSegment(tariff, day.start, day.end)], day, intervals)

    # One line: 0.6666 x 0.015 = 0.009999, rounded once to 0.01
    assert result.lines[0].amount == D("0.01")
    assert result.lines[0].kind == ChargeKind.ENERGY
    assert sum(d.quantity * d.price for d in result.lines[0].detail) == D("0.009999")
