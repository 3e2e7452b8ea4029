"""Every saved URDB tariff x both SAM sample loads, month by month against PySAM 7.1.

Year 2018 starts on a Monday, as SAM's calendar does. Where PySAM is known to bill
differently from the utility, the case id names the divergence and the expected value is
PySAM's figure corrected by a hand calculation written out in the case.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest
from pysam_oracle import PysamYear, read_load, read_urdb, run_pysam

from billing_engine import InvalidTariff, YearCharges, rate_year, tariff_from_urdb

YEAR = 2018
TOLERANCE = 0.02
KW_PER_HP = 0.745699872

# expected(pysam, month 1-12, load) -> the month's expected total in dollars.
Expected = Callable[[PysamYear, int, Sequence[Decimal]], float]


def pysam_total(p: PysamYear, month: int, load: Sequence[Decimal]) -> float:
    return p.bill[month - 1]


def plus_legacy_fixed(amount: float) -> Expected:
    """PySAM's helper ignores legacy ``fixedmonthlycharge``: add it back each month."""

    def expected(p: PysamYear, month: int, load: Sequence[Decimal]) -> float:
        return p.bill[month - 1] + amount

    return expected


def month_hours(month: int) -> range:
    first = sum(calendar.monthrange(YEAR, m)[1] for m in range(1, month)) * 24
    return range(first, first + calendar.monthrange(YEAR, month)[1] * 24)


def pge_fixed_per_day(p: PysamYear, month: int, load: Sequence[Decimal]) -> float:
    # PySAM bills $19.71253/day as 365/12 days every month; the utility bills real days.
    per_day = 19.71253
    days = calendar.monthrange(YEAR, month)[1]
    return p.bill[month - 1] - per_day * 365 / 12 + per_day * days


def missoula_hp_demand(p: PysamYear, month: int, load: Sequence[Decimal]) -> float:
    # PySAM reads the hp tiers as kW. Billed demand is the month's peak hourly kW in hp:
    # first 10 hp at $0, the rest at $9.15/hp.
    peak_kw = max(float(load[h]) for h in month_hours(month))
    peak_hp = peak_kw / KW_PER_HP
    demand = max(peak_hp - 10, 0) * 9.15
    return p.bill[month - 1] - p.demand_tou[month - 1] + demand


def fpl_rs1_legacy(p: PysamYear, month: int, load: Sequence[Decimal]) -> float:
    # Legacy fixedmonthlycharge $7.57 and minimum $50 (key "minmonthlycharge'") are both
    # ignored by PySAM's helper.
    return max(p.bill[month - 1] + 7.57, 50.0)


def urdbv7_legacy(p: PysamYear, month: int, load: Sequence[Decimal]) -> float:
    # Legacy fixedmonthlycharge $35.28 and minmonthlycharge $1.00, both ignored by PySAM.
    # The legacy annualmincharge $12 is checked by the test on the year's sum.
    return max(p.bill[month - 1] + 35.28, 1.0)


CASES: list[tuple[str, bool, Expected]] = [
    ("austin_energy__residential", False, pysam_total),
    ("jackson_emc__a_residential_senior_low_income", False, pysam_total),
    ("xcel_psco__re_tou_residential_energy_tou", False, pysam_total),
    ("xcel_psco__rd_residential_demand", False, pysam_total),
    ("fpl__gsld1_general_service_large_demand", False, pysam_total),
    ("south_central_ppd__lp1_large_power", False, pysam_total),
    ("smud__ci_tod3_secondary_500_999kw", False, pysam_total),
    ("sce__tou8_option_d_under_2kv", True, pysam_total),
    ("city_of_glendale__pc1b_large_business_tou", True, pysam_total),
    ("fpl__rs1_residential_service", False, fpl_rs1_legacy),
    ("skamania_pud__small_industrial_demand_meter", False, plus_legacy_fixed(40.76)),
    ("nipsco__rate_724_general_service_large", False, plus_legacy_fixed(954.5)),
    ("entergy_arkansas__pst_large_power_tou", False, plus_legacy_fixed(468.6)),
    ("georgia_power__tou_gsd10", False, plus_legacy_fixed(261.32)),
    ("peco__gs_ht_high_tension", True, plus_legacy_fixed(298.92)),
    ("pysam_test_fixture__urdbv7", False, urdbv7_legacy),
    ("pge__e19_medium_general_demand_tou_secondary", False, pge_fixed_per_day),
    ("missoula_electric_coop__irrigation_5_10hp", False, missoula_hp_demand),
]

IDS = {
    "sce__tou8_option_d_under_2kv": "sce-tou8-reactive-power-ignored",
    "city_of_glendale__pc1b_large_business_tou": "glendale-reactive-power-ignored",
    "fpl__rs1_residential_service": "fpl-rs1-legacy-fixed-and-minimum",
    "skamania_pud__small_industrial_demand_meter": "skamania-legacy-fixed",
    "nipsco__rate_724_general_service_large": "nipsco-legacy-fixed",
    "entergy_arkansas__pst_large_power_tou": "entergy-legacy-fixed",
    "georgia_power__tou_gsd10": "georgia-power-legacy-fixed",
    "peco__gs_ht_high_tension": "peco-legacy-fixed-coincident-ignored",
    "pysam_test_fixture__urdbv7": "urdbv7-legacy-fixed-and-minimums",
    "pge__e19_medium_general_demand_tou_secondary": "pge-e19-fixed-per-day-real-days",
    "missoula_electric_coop__irrigation_5_10hp": "missoula-hp-demand",
}


def rate(name: str, ignore_unsupported: bool, load_name: str) -> YearCharges:
    tariff = tariff_from_urdb(read_urdb(name), ignore_unsupported=ignore_unsupported)
    return rate_year(tariff, read_load(load_name), year=YEAR)


@pytest.mark.parametrize("load_name", ["residential", "commercial"])
@pytest.mark.parametrize(
    ("name", "ignore_unsupported", "expected"),
    CASES,
    ids=[IDS.get(name, name) for name, _, _ in CASES],
)
def test_monthly_totals_match_pysam(
    name: str, ignore_unsupported: bool, expected: Expected, load_name: str
) -> None:
    load = read_load(load_name)
    pysam = run_pysam(read_urdb(name), load)
    ours = rate(name, ignore_unsupported, load_name)

    assert [m.month for m in ours.months] == list(range(1, 13))
    for month in ours.months:
        want = expected(pysam, month.month, load)
        assert abs(float(month.total) - want) <= TOLERANCE, (
            f"{name} {load_name} month {month.month}: ours {month.total}, expected {want:.4f}"
        )


def test_urdbv7_annual_minimum_not_binding() -> None:
    ours = rate("pysam_test_fixture__urdbv7", False, "residential")

    assert ours.total > Decimal(12)
    assert ours.annual_minimum_adjustment == Decimal("0.00")


def test_pysam_ignores_legacy_fixed_charge() -> None:
    # The divergence the legacy cases correct for: PySAM's fixed charge is zero.
    pysam = run_pysam(read_urdb("fpl__rs1_residential_service"), read_load("residential"))

    assert pysam.fixed == (0.0,) * 12


@pytest.mark.parametrize("load_name", ["residential", "commercial"])
def test_charge_kinds_match_pysam(load_name: str) -> None:
    # SMUD has energy, flat and TOU demand and a monthly fixed charge: compare each kind.
    name = "smud__ci_tod3_secondary_500_999kw"
    pysam = run_pysam(read_urdb(name), read_load(load_name))
    ours = rate(name, False, load_name)

    for month in ours.months:
        index = month.month - 1
        assert abs(float(month.energy_charge) - pysam.energy[index]) <= 0.005
        demand = pysam.demand_flat[index] + pysam.demand_tou[index]
        assert abs(float(month.demand_charge) - demand) <= 0.01
        assert abs(float(month.fixed_charge) - pysam.fixed[index]) <= 0.005
        assert month.minimum_charge_adjustment == 0


def test_gsld1_minimum_matches_pysam() -> None:
    # GSLD-1's $6833.67 monthly minimum tops up the small residential load's bills.
    name = "fpl__gsld1_general_service_large_demand"
    pysam = run_pysam(read_urdb(name), read_load("residential"))
    ours = rate(name, False, "residential")

    for month in ours.months:
        assert abs(float(month.minimum_charge_adjustment) - pysam.minimum[month.month - 1]) <= 0.01
        assert month.total == Decimal("6833.67")


def test_seward_county_rejected() -> None:
    doc = read_urdb("seward_county_ppd__urban_general_service_d28_DEFECTIVE")

    with pytest.raises(InvalidTariff) as caught:
        tariff_from_urdb(doc)

    message = str(caught.value)
    assert "energyweekdayschedule" in message
    assert "month 1 hour 0" in message
    assert "period 1" in message
    assert caught.value.code == "invalid_tariff"
