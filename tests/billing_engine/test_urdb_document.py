"""URDB import rules and the native tariff document."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pysam_oracle import TARIFFS, read_urdb, run_pysam

from billing_engine import (
    ConsumptionBasis,
    DemandCharge,
    DemandKind,
    DemandUnit,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    InvalidTariff,
    MinimumCharge,
    MinimumPer,
    Rider,
    RiderKind,
    Service,
    Tariff,
    Tier,
    TierBasis,
    Unit,
    UnsupportedTariffFeature,
    WinterAverageCap,
    constant_schedule,
    rate_year,
    tariff_from_document,
    tariff_from_urdb,
    tariff_to_document,
)

D = Decimal
GOOD_FILES = sorted(p.stem for p in TARIFFS.glob("*.json") if "DEFECTIVE" not in p.stem)


@pytest.mark.parametrize("name", GOOD_FILES)
def test_urdb_document_round_trip(name: str) -> None:
    tariff = tariff_from_urdb(read_urdb(name), ignore_unsupported=True)
    text = json.dumps(tariff_to_document(tariff))

    assert tariff_from_document(json.loads(text)) == tariff


def test_native_document_round_trip() -> None:
    weekday = tuple(tuple(1 if 12 <= h < 18 else 0 for h in range(24)) for _ in range(12))
    tariff = Tariff(
        code="E-TEST",
        name="Every charge",
        service=Service.SEWER,
        unit=Unit.KGAL,
        charges=(
            FixedCharge("base", "Base", D("12.50"), FixedPer.MONTH),
            FixedCharge("bill", "Bill fee", D("1.00"), FixedPer.BILL),
            EnergyCharge("volume", "Volume", (
                (Tier(D("3.000"), D("4.10")), Tier(None, D("5.20"), D("0.015"))),
                (Tier(D("3.000"), D("4.30")), Tier(None, D("5.40"))),
            ), weekday, constant_schedule([0] * 12), TierBasis.DAY, ("off", "on"),
                ConsumptionBasis.WATER),
            DemandCharge("dem", "Demand", DemandKind.FLAT, ((Tier(None, D("7.1")),),),
                         month_periods=(0,) * 12, demand_unit=DemandUnit.HP,
                         window_minutes=15),
            MinimumCharge("min", "Minimum", D("20"), MinimumPer.DAY),
            Rider("tax", "Tax", RiderKind.PERCENT, D("2.5"), ("base", "volume")),
        ),
        winter_average_cap=WinterAverageCap((11, 12, 1, 2, 3)),
        ignored_features=("example",),
    )
    document = json.loads(json.dumps(tariff_to_document(tariff)))

    assert tariff_from_document(document) == tariff
    assert document["charges"][2]["periods"][0][1]["adjustment"] == "0.015"


def test_document_rejects_float_prices() -> None:
    document: dict[str, Any] = {
        "code": "x", "service": "water", "unit": "gal",
        "charges": [{"type": "fixed", "code": "f", "amount": 1.1}],
    }

    with pytest.raises(InvalidTariff, match="decimal string"):
        tariff_from_document(document)


def test_document_rejects_capped_last_tier() -> None:
    document: dict[str, Any] = {
        "code": "x", "service": "water", "unit": "gal",
        "charges": [{"type": "energy", "code": "e",
                     "periods": [[{"limit": "10", "price": "1"}]]}],
    }

    with pytest.raises(InvalidTariff, match="last tier must be unlimited"):
        tariff_from_document(document)


def minimal_urdb(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "label": "test",
        "energyratestructure": [[{"rate": 0.1, "unit": "kWh"}]],
        "energyweekdayschedule": [[0] * 24 for _ in range(12)],
        "energyweekendschedule": [[0] * 24 for _ in range(12)],
    }
    doc.update(extra)
    return doc


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"coincidentratestructure": [[{"rate": 0.79}]]}, "coincidentratestructure"),
        ({"demandreactivepowercharge": 0.66}, "demandreactivepowercharge"),
        ({"lookbackpercent": 0.8}, "lookbackpercent"),
        ({"flatdemandstructure": [[{"rate": 5}]], "flatdemandmonths": [0] * 12,
          "flatdemandunit": "kVA"}, "flatdemandunit"),
    ],
    ids=["coincident", "reactive", "ratchet", "kva"],
)
def test_unsupported_feature(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(UnsupportedTariffFeature) as caught:
        tariff_from_urdb(minimal_urdb(**extra))

    assert caught.value.field == field
    assert field in str(caught.value)
    assert caught.value.code == "unsupported_tariff_feature"
    ignored = tariff_from_urdb(minimal_urdb(**extra), ignore_unsupported=True)
    assert ignored.ignored_features == (field,)
    assert not ignored.demand_charges


def test_zero_ratchet_accepted() -> None:
    assert tariff_from_urdb(minimal_urdb(lookbackpercent=0)).ignored_features == ()


def test_sell_and_dgrules_ignored() -> None:
    doc = minimal_urdb(dgrules="Net Metering")
    doc["energyratestructure"][0][0]["sell"] = 0.05

    assert tariff_from_urdb(doc) == tariff_from_urdb(minimal_urdb())


def test_fpl_rs1_stray_quote_minimum() -> None:
    tariff = tariff_from_urdb(read_urdb("fpl__rs1_residential_service"))

    assert tariff.minimum_charges == (MinimumCharge("minimum", "Minimum charge", D(50)),)
    assert tariff.fixed_charges[0].amount == D("7.57")


def test_fpl_rs1_minimum_tops_up_small_load() -> None:
    tariff = tariff_from_urdb(read_urdb("fpl__rs1_residential_service"))
    # 0.01 kWh an hour: January energy 7.44 x (0.07531 + 0.0119) = 0.6488 + 7.57 fixed,
    # far below the $50 minimum.
    year = rate_year(tariff, [D("0.01")] * 8760, year=2018)

    assert year.months[0].total == D("50.00")
    assert year.months[0].minimum_charge_adjustment == D("41.78")


def test_urdbv7_legacy_minimums() -> None:
    tariff = tariff_from_urdb(read_urdb("pysam_test_fixture__urdbv7"))

    assert {(m.per, m.amount) for m in tariff.minimum_charges} == {
        (MinimumPer.MONTH, D("1.0")), (MinimumPer.YEAR, D("12.0")),
    }


def test_per_day_fixed_and_hp_demand_read() -> None:
    pge = tariff_from_urdb(read_urdb("pge__e19_medium_general_demand_tou_secondary"))
    missoula = tariff_from_urdb(read_urdb("missoula_electric_coop__irrigation_5_10hp"))
    smud = tariff_from_urdb(read_urdb("smud__ci_tod3_secondary_500_999kw"))

    assert pge.fixed_charges[0].per == FixedPer.DAY
    assert missoula.demand_charges[0].demand_unit == DemandUnit.HP
    assert {c.kind for c in smud.demand_charges} == {DemandKind.FLAT, DemandKind.TOU}


def test_demand_window_read() -> None:
    entergy = tariff_from_urdb(read_urdb("entergy_arkansas__pst_large_power_tou"))

    assert entergy.demand_charges[0].window_minutes == 15


def test_schedule_period_out_of_range_named() -> None:
    doc = minimal_urdb()
    doc["energyweekendschedule"][6][17] = 3

    with pytest.raises(InvalidTariff) as caught:
        tariff_from_urdb(doc)

    assert str(caught.value).startswith("energyweekendschedule month 7 hour 17 names period 3")


def test_capped_last_tier_divergence() -> None:
    # PySAM leaves kWh above a capped last tier free; the utility bills them at that tier.
    doc = minimal_urdb(energyratestructure=[[
        {"max": 500, "rate": 0.10, "unit": "kWh"}, {"max": 600, "rate": 0.20, "unit": "kWh"},
    ]])
    load = [D(1)] * 8760
    pysam = run_pysam(doc, load)
    ours = rate_year(tariff_from_urdb(doc), load, year=2018)

    # January, 744 kWh. PySAM: 500 x 0.10 + 100 x 0.20 = 70.00 (144 kWh free).
    assert abs(pysam.bill[0] - 70.00) < 1e-6
    # Ours: 500 x 0.10 + 244 x 0.20 = 98.80
    assert ours.months[0].total == D("98.80")


def test_hp_demand_divergence_hand_check() -> None:
    # Missoula: first 10 hp free then $9.15/hp. A 20 kW peak is 26.8205 hp.
    load = [D(1)] * 8760
    load[100] = D(20)
    tariff = tariff_from_urdb(read_urdb("missoula_electric_coop__irrigation_5_10hp"))
    year = rate_year(tariff, load, year=2018)

    # (20 / 0.745699872 - 10) x 9.15 = 16.82052... x 9.15 = 153.9078
    assert year.months[0].demand_charge == D("153.91")
    # PySAM reads the tiers as kW: (20 - 10) x 9.15 = 91.50
    assert abs(run_pysam(read_urdb("missoula_electric_coop__irrigation_5_10hp"),
                         load).demand_tou[0] - 91.50) < 1e-6

