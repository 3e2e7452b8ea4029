"""The one-month register energy path must price exactly like the general path."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from billing_engine import (
    ConsumptionBasis,
    EnergyCharge,
    Service,
    Tariff,
    Tier,
    TierBasis,
    Unit,
    constant_schedule,
)
from billing_engine.pricing import SegmentUsage, price_segment

D = Decimal
# July and August share period 1, so a zero-day August leaves the result unchanged
# but sends the segment down the general path, which handles several months.
SEASONS = constant_schedule([0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
TIERS = (
    (Tier(D(3), D("3.10")), Tier(D(10), D("4.25")), Tier(D(20), D("5.60")), Tier(None, D("7.40"))),
    (Tier(D(3), D("3.10")), Tier(D(10), D("4.60"), D("0.015")), Tier(None, D("8.50"))),
)


def tariff(basis: TierBasis, consumption_basis: ConsumptionBasis) -> Tariff:
    charge = EnergyCharge(
        "usage", "Usage", TIERS, SEASONS, SEASONS, basis, consumption_basis=consumption_basis
    )
    return Tariff("W", "Water", Service.WATER, Unit.KGAL, (charge,))


def usage(month_days: dict[int, int], days: int, quantity: Decimal, cap: Decimal) -> SegmentUsage:
    return SegmentUsage(
        days=days,
        nominal_days=31,
        month_days=month_days,
        consumption=quantity,
        unit="kgal",
        register_peak_kw=D("12.5"),
        water_cap_ratio=cap,
    )


@pytest.mark.parametrize("basis", list(TierBasis))
@pytest.mark.parametrize("consumption_basis", list(ConsumptionBasis))
def test_one_month_path_matches_general(
    basis: TierBasis, consumption_basis: ConsumptionBasis
) -> None:
    generator = random.Random(f"{basis}-{consumption_basis}")
    rate = tariff(basis, consumption_basis)
    for _ in range(200):
        days = generator.randint(1, 31)
        quantity = D(generator.randint(0, 40_000)).scaleb(generator.randint(-3, 1))
        cap = generator.choice([D(1), D("0.4050222762251923855791818550"), D("0.5")])
        one_month = price_segment(rate, usage({7: days}, days, quantity, cap))
        general = price_segment(rate, usage({7: days, 8: 0}, days, quantity, cap))

        # repr shows each Decimal's exponent, which == ignores.
        assert repr(one_month) == repr(general)
