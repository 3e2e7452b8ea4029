"""Random tariffs in the subset both engines share, and random loads, against PySAM.

The subset: flat, tiered and time-of-use energy (tier limits equal across periods, per
month or per day), flat and time-of-use demand with tiers, a monthly fixed charge and a
monthly minimum. Every last tier is unlimited, which is where PySAM and a utility agree.
PySAM rejects periods of one month with different tier limits, for energy and for
time-of-use demand, so the generated periods share their limits.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysam_oracle import run_pysam

from billing_engine import rate_year, tariff_from_urdb

HOURS = 8760
TOLERANCE = 0.02

prices = st.decimals(min_value=0, max_value=Decimal("0.5"), places=4)
demand_prices = st.decimals(min_value=0, max_value=30, places=2)


@st.composite
def tier_list(draw: st.DrawFn, limits: list[int], price: st.SearchStrategy[Decimal]
              ) -> list[dict[str, Any]]:
    tiers: list[dict[str, Any]] = []
    for index in range(len(limits) + 1):
        tier: dict[str, Any] = {"rate": float(draw(price))}
        if draw(st.booleans()):
            tier["adj"] = float(draw(price)) / 10
        if index < len(limits):
            tier["max"] = limits[index]
        tiers.append(tier)
    return tiers


@st.composite
def limit_list(draw: st.DrawFn, high: int) -> list[int]:
    count = draw(st.integers(0, 2))
    return sorted(draw(st.sets(st.integers(1, high), min_size=count, max_size=count)))


def schedule(rng: random.Random, periods: int, hourly: bool) -> list[list[int]]:
    if not hourly:
        return [[rng.randrange(periods)] * 24 for _ in range(12)]
    return [[rng.randrange(periods) for _ in range(24)] for _ in range(12)]


@st.composite
def urdb_tariffs(draw: st.DrawFn) -> dict[str, Any]:
    rng = random.Random(draw(st.integers(0, 2**32)))
    doc: dict[str, Any] = {"label": "hypothesis"}

    daily = draw(st.booleans())
    unit = "kWh daily" if daily else "kWh"
    limits = draw(limit_list(40 if daily else 1500))
    periods = draw(st.integers(1, 3))
    structure = [draw(tier_list(limits, prices)) for _ in range(periods)]
    for tiers in structure:
        for tier in tiers:
            tier["unit"] = unit
    doc["energyratestructure"] = structure
    hourly = draw(st.booleans())
    doc["energyweekdayschedule"] = schedule(rng, periods, hourly)
    doc["energyweekendschedule"] = schedule(rng, periods, hourly)

    if draw(st.booleans()):
        flat_periods = draw(st.integers(1, 2))
        doc["flatdemandstructure"] = [
            draw(tier_list(draw(limit_list(200)), demand_prices)) for _ in range(flat_periods)
        ]
        doc["flatdemandmonths"] = [rng.randrange(flat_periods) for _ in range(12)]
    if draw(st.booleans()):
        tou_periods = draw(st.integers(1, 2))
        # PySAM requires the same tier limits in every TOU demand period of a month.
        tou_limits = draw(limit_list(200))
        doc["demandratestructure"] = [
            draw(tier_list(tou_limits, demand_prices)) for _ in range(tou_periods)
        ]
        doc["demandweekdayschedule"] = schedule(rng, tou_periods, True)
        doc["demandweekendschedule"] = schedule(rng, tou_periods, True)
    if draw(st.booleans()):
        doc["fixedchargefirstmeter"] = float(draw(st.decimals(0, 50, places=2)))
        doc["fixedchargeunits"] = "$/month"
    if draw(st.booleans()):
        doc["mincharge"] = float(draw(st.decimals(0, 400, places=2)))
        doc["minchargeunits"] = "$/month"
    return doc


@st.composite
def loads(draw: st.DrawFn) -> list[Decimal]:
    rng = random.Random(draw(st.integers(0, 2**32)))
    scale = draw(st.sampled_from([1, 5, 200]))
    zero_share = draw(st.sampled_from([0.0, 0.3]))
    values: list[Decimal] = []
    for _ in range(HOURS):
        if rng.random() < zero_share:
            values.append(Decimal(0))
        else:
            values.append(Decimal(rng.randrange(0, 1000 * scale)) / 1000)
    return values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(doc=urdb_tariffs(), load=loads())
def test_random_tariff_matches_pysam(doc: dict[str, Any], load: list[Decimal]) -> None:
    pysam = run_pysam(doc, load)
    ours = rate_year(tariff_from_urdb(doc), load, year=2018)

    for month in ours.months:
        want = pysam.bill[month.month - 1]
        assert abs(float(month.total) - want) <= TOLERANCE + 1e-9, (
            f"month {month.month}: ours {month.total}, PySAM {want:.6f}"
        )
