"""The demo city's own water, sewer and trash tariffs, and its URDB electric tariffs.

The water, sewer and trash prices are illustrative figures for a mid-size city, not any
real utility's rates. The electric tariffs are real URDB records (see data/tariffs).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from billing_engine.tariff import (
    ConsumptionBasis,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    Rider,
    RiderKind,
    Service,
    Tariff,
    Tier,
    WinterAverageCap,
    constant_schedule,
)
from billing_engine.units import Unit
from billing_engine.urdb import tariff_from_urdb

DATA = Path(__file__).resolve().parent / "data"

#: Water is dearer per gallon from June to September (period 1) than the rest of the year.
SUMMER_MONTHS = constant_schedule([0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0])


def _tiers(*steps: tuple[str | None, str]) -> tuple[Tier, ...]:
    return tuple(
        Tier(None if limit is None else Decimal(limit), Decimal(price)) for limit, price in steps
    )


def water_tariff() -> Tariff:
    return Tariff(
        code="W-RES",
        name="Residential water",
        service=Service.WATER,
        unit=Unit.KGAL,
        charges=(
            FixedCharge("base", "Base charge, 5/8-inch meter", Decimal("14.50"), FixedPer.MONTH),
            EnergyCharge(
                code="usage",
                name="Water usage",
                periods=(
                    _tiers(("3", "3.10"), ("10", "4.25"), ("20", "5.60"), (None, "7.40")),
                    _tiers(("3", "3.10"), ("10", "4.60"), ("20", "6.35"), (None, "8.50")),
                ),
                weekday_schedule=SUMMER_MONTHS,
                weekend_schedule=SUMMER_MONTHS,
                period_names=("October to May", "June to September"),
            ),
            Rider("state-fee", "State drinking water fee", RiderKind.PER_UNIT, Decimal("0.12")),
        ),
    )


def sewer_tariff() -> Tariff:
    return Tariff(
        code="S-RES",
        name="Residential sewer, winter-average",
        service=Service.SEWER,
        unit=Unit.KGAL,
        charges=(
            FixedCharge("base", "Sewer base charge", Decimal("12.00"), FixedPer.MONTH),
            EnergyCharge(
                code="usage",
                name="Sewer usage, billed on water use",
                periods=(_tiers((None, "5.35")),),
                weekday_schedule=constant_schedule([0] * 12),
                weekend_schedule=constant_schedule([0] * 12),
                consumption_basis=ConsumptionBasis.WATER,
            ),
        ),
        winter_average_cap=WinterAverageCap((12, 1, 2)),
    )


def trash_tariff() -> Tariff:
    return Tariff(
        code="T-RES",
        name="Residential trash and recycling",
        service=Service.TRASH,
        unit=Unit.GAL,
        charges=(
            FixedCharge("cart", "Trash collection, one 96-gallon cart", Decimal("18.75")),
            FixedCharge("recycling", "Curbside recycling", Decimal("4.25")),
        ),
    )


#: Demo electric tariffs: code, URDB file, and whether it is for commercial customers.
ELECTRIC_TARIFFS = (
    ("E-RES", "austin_energy__residential.json", False),
    ("E-RES-TOU", "xcel_psco__re_tou_residential_energy_tou.json", False),
    ("E-COM-E19", "pge__e19_medium_general_demand_tou_secondary.json", True),
    ("E-COM-TOD3", "smud__ci_tod3_secondary_500_999kw.json", True),
)


def electric_tariff(code: str, filename: str) -> tuple[Tariff, str]:
    """Import a URDB file as a demo tariff; return it and its URDB label for the source."""
    record = json.loads((DATA / "tariffs" / filename).read_text(encoding="utf-8"))
    imported = tariff_from_urdb(record)
    tariff = Tariff(
        code=code,
        name=f"{record.get('utility', '')}: {record.get('name', code)}"[:200],
        service=imported.service,
        unit=imported.unit,
        charges=imported.charges,
        winter_average_cap=imported.winter_average_cap,
        ignored_features=imported.ignored_features,
    )
    return tariff, f"URDB {record.get('label', filename)}"
