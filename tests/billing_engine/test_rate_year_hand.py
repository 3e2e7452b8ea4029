"""Hand-calculated years: a constant 1 kWh every hour of 2018 (Jan 1 is a Monday).

January has 744 hours and 23 weekdays; February has 672 hours and 20 weekdays.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_engine import (
    DemandCharge,
    DemandKind,
    EnergyCharge,
    FixedCharge,
    InvalidLoad,
    MinimumCharge,
    MinimumPer,
    Service,
    Tariff,
    Tier,
    TierBasis,
    Unit,
    constant_schedule,
    rate_year,
)

D = Decimal
FLAT = constant_schedule([0] * 12)
# Weekdays 12:00-18:00 are period 1, every other hour period 0.
WEEKDAY_PEAK = tuple(tuple(1 if 12 <= h < 18 else 0 for h in range(24)) for _ in range(12))


def tariff(*charges: object) -> Tariff:
    return Tariff("t", "test", Service.ELECTRIC, Unit.KWH, tuple(charges))  # type: ignore[arg-type]


def energy(periods: tuple[tuple[Tier, ...], ...], weekday=FLAT, weekend=FLAT,
           basis: TierBasis = TierBasis.MONTH) -> EnergyCharge:
    return EnergyCharge("energy", "Energy", periods, weekday, weekend, basis)


ONES = [D(1)] * 8760
FIXED_10 = FixedCharge("fixed", "Customer charge", D("10"))


def test_flat_rate_and_fixed() -> None:
    year = rate_year(tariff(FIXED_10, energy(((Tier(None, D("0.10")),),))), ONES, year=2018)

    # 744 kWh x $0.10 + $10
    assert year.months[0].total == D("84.40")
    assert year.months[0].energy_charge == D("74.40")
    assert year.months[0].fixed_charge == D("10.00")


def test_inclining_tiers() -> None:
    tiers = ((Tier(D(500), D("0.10")), Tier(None, D("0.20"))),)
    year = rate_year(tariff(energy(tiers)), ONES, year=2018)

    # Jan: 500 x 0.10 + 244 x 0.20; Feb: 500 x 0.10 + 172 x 0.20
    assert year.months[0].total == D("98.80")
    assert year.months[1].total == D("84.40")


def test_time_of_use_weekday_peak() -> None:
    periods = ((Tier(None, D("0.10")),), (Tier(None, D("0.30")),))
    year = rate_year(tariff(energy(periods, WEEKDAY_PEAK, FLAT)), ONES, year=2018)

    # Jan: 23 weekdays x 6 h = 138 kWh x 0.30 + 606 x 0.10
    assert year.months[0].total == D("102.00")
    # Feb: 20 x 6 = 120 kWh x 0.30 + 552 x 0.10
    assert year.months[1].total == D("91.20")


def test_daily_tier_limit() -> None:
    tiers = ((Tier(D(10), D("0.10")), Tier(None, D("0.20"))),)
    year = rate_year(tariff(energy(tiers, basis=TierBasis.DAY)), ONES, year=2018)

    # Jan limit 31 x 10 = 310: 310 x 0.10 + 434 x 0.20
    assert year.months[0].total == D("117.80")
    # Feb limit 280: 280 x 0.10 + 392 x 0.20
    assert year.months[1].total == D("106.40")


def test_demand_tier_limit() -> None:
    # 100 kWh per kW of peak; the peak is 2 kW on Jan 1 00:00, so the limit is 200 kWh.
    load = list(ONES)
    load[0] = D(2)
    tiers = ((Tier(D(100), D("0.10")), Tier(None, D("0.05"))),)
    year = rate_year(tariff(energy(tiers, basis=TierBasis.DEMAND)), load, year=2018)

    # Jan: 745 kWh: 200 x 0.10 + 545 x 0.05 = 47.25
    assert year.months[0].energy_charge == D("47.25")


def test_monthly_minimum_top_up() -> None:
    minimum = MinimumCharge("minimum", "Minimum bill", D("100"))
    year = rate_year(
        tariff(FIXED_10, energy(((Tier(None, D("0.10")),),)), minimum), ONES, year=2018
    )

    # Jan: 74.40 + 10 = 84.40, topped up by 15.60 to 100
    assert year.months[0].minimum_charge_adjustment == D("15.60")
    assert year.months[0].total == D("100.00")


def test_annual_minimum_added_to_december() -> None:
    minimum = MinimumCharge("minimum_annual", "Annual minimum", D("1200"), MinimumPer.YEAR)
    year = rate_year(
        tariff(FIXED_10, energy(((Tier(None, D("0.10")),),)), minimum), ONES, year=2018
    )

    # Year: 8760 x 0.10 + 12 x 10 = 996; 1200 - 996 = 204 in December
    assert year.annual_minimum_adjustment == D("204.00")
    assert year.months[11].minimum_charge_adjustment == D("204.00")
    assert year.total == D("1200.00")


def test_flat_and_weekday_demand_with_weekend_spike() -> None:
    load = list(ONES)
    # Feb 10 2018 is a Saturday; hour 12 of that day gets 5 kWh.
    load[(31 + 9) * 24 + 12] = D(5)
    flat = DemandCharge("flat", "Demand", DemandKind.FLAT, ((Tier(None, D(10)),),),
                        month_periods=(0,) * 12)
    weekday_only = tuple(tuple(1 for _ in range(24)) for _ in range(12))
    weekend_off = tuple(tuple(0 for _ in range(24)) for _ in range(12))
    tou = DemandCharge("tou", "Weekday demand", DemandKind.TOU,
                       ((Tier(None, D(0)),), (Tier(None, D(10)),)),
                       weekday_schedule=weekday_only, weekend_schedule=weekend_off)
    year = rate_year(tariff(flat, tou), load, year=2018)

    # Flat: 5 kW x $10 = 50; weekday TOU: 1 kW x $10 = 10
    assert year.months[1].demand_charge == D("60.00")
    assert year.months[0].demand_charge == D("20.00")


def test_tiered_tou_proportional_split() -> None:
    periods = (
        (Tier(D(500), D("0.10")), Tier(None, D("0.20"))),
        (Tier(D(500), D("0.30")), Tier(None, D("0.40"))),
    )
    year = rate_year(tariff(energy(periods, WEEKDAY_PEAK, FLAT)), ONES, year=2018)

    # Jan: 138 of 744 kWh in the peak period.
    # tier 1: 500 x (138 x 0.30 + 606 x 0.10) / 744 = 68.548...
    # tier 2: 244 x (138 x 0.40 + 606 x 0.20) / 744 = 57.851...
    assert year.months[0].energy_charge == D("126.40")


def test_different_limits_tier_each_period() -> None:
    periods = (
        (Tier(D(100), D("0.10")), Tier(None, D("0.20"))),
        (Tier(None, D("0.30")),),
    )
    year = rate_year(tariff(energy(periods, WEEKDAY_PEAK, FLAT)), ONES, year=2018)

    # Jan: off-peak 606 kWh: 100 x 0.10 + 506 x 0.20 = 111.20; peak 138 x 0.30 = 41.40
    assert year.months[0].energy_charge == D("152.60")


def test_quarter_hour_load_with_window() -> None:
    load = [D("0.25")] * 35040
    # Jan 2 (a Tuesday) 10:00-10:15 gets 1 kWh: 4 kW for 15 minutes, 1.75 kW over the hour.
    load[(24 + 10) * 4] = D(1)
    charge = DemandCharge("flat", "Demand", DemandKind.FLAT, ((Tier(None, D(10)),),),
                          month_periods=(0,) * 12, window_minutes=60)
    instant = DemandCharge("flat15", "Demand", DemandKind.FLAT, ((Tier(None, D(10)),),),
                           month_periods=(0,) * 12)
    year = rate_year(tariff(charge, instant), load, year=2018, interval_minutes=15)

    # 60-min window: 1.75 kW x 10 = 17.50; 15-min intervals as they are: 4 kW x 10 = 40
    lines = {line.code: line.amount for line in year.months[0].lines}
    assert lines["flat"] == D("17.50")
    assert lines["flat15"] == D("40.00")


def test_wrong_load_length_rejected() -> None:
    with pytest.raises(InvalidLoad) as caught:
        rate_year(tariff(FIXED_10), [D(1)] * 8000, year=2018)

    assert "8000" in str(caught.value)
    assert "8760" in str(caught.value)


def test_quarter_hour_length_hint() -> None:
    with pytest.raises(InvalidLoad, match="interval_minutes=15"):
        rate_year(tariff(FIXED_10), [D(1)] * 35040, year=2018)


def test_leap_year_needs_8784() -> None:
    year = rate_year(tariff(FIXED_10), [D(1)] * 8784, year=2020)

    assert year.total == D("120.00")
    with pytest.raises(InvalidLoad):
        rate_year(tariff(FIXED_10), [D(1)] * 8760, year=2020)


def test_negative_load_rejected() -> None:
    load = list(ONES)
    load[5] = D(-1)

    with pytest.raises(InvalidLoad, match="value 5"):
        rate_year(tariff(FIXED_10), load, year=2018)
