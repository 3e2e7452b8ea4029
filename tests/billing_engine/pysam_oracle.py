"""Run NREL PySAM 7's Utilityrate5 on a URDB record and an hourly load (the test oracle).

Floats appear only here, at the PySAM boundary.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import PySAM.Utilityrate5 as Utilityrate5
from PySAM.UtilityRateTools import URDBv8_to_ElectricityRates

DATA = Path(__file__).resolve().parent.parent / "data"
TARIFFS = DATA / "tariffs" / "urdb"
LOADS = DATA / "loads"
HOURS_2018 = 8760


@dataclass(frozen=True)
class PysamYear:
    """PySAM's first-year monthly charges (index 0 is January)."""

    energy: tuple[float, ...]
    demand_flat: tuple[float, ...]
    demand_tou: tuple[float, ...]
    fixed: tuple[float, ...]
    minimum: tuple[float, ...]
    bill: tuple[float, ...]


def pysam_rates(doc: dict[str, Any]) -> dict[str, Any]:
    # URDBv8_to_ElectricityRates shifts schedule periods in place, so give it a copy.
    return URDBv8_to_ElectricityRates(copy.deepcopy(doc))


def new_model(rates: dict[str, Any], load: Sequence[float]) -> Any:
    model = Utilityrate5.new()
    model.ElectricityRates.assign(rates)
    model.ElectricityRates.rate_escalation = [0.0]
    model.Lifetime.analysis_period = 1
    model.Lifetime.system_use_lifetime_output = 0
    model.Lifetime.inflation_rate = 0
    model.SystemOutput.gen = [0.0] * HOURS_2018
    model.SystemOutput.degradation = [0.0]
    model.Load.load = list(load)
    model.Load.load_escalation = [0.0]
    return model


def run_pysam(doc: dict[str, Any], load: Sequence[Decimal]) -> PysamYear:
    """Compute a year of monthly bills with PySAM for a URDB record and a load in kWh."""
    model = new_model(pysam_rates(doc), [float(value) for value in load])
    model.execute()
    outputs = model.Outputs
    # Row 0 of each *_ym output is year 0 (before operation); row 1 is the first year.
    return PysamYear(
        energy=tuple(outputs.charge_w_sys_ec_ym[1]),
        demand_flat=tuple(outputs.charge_w_sys_dc_fixed_ym[1]),
        demand_tou=tuple(outputs.charge_w_sys_dc_tou_ym[1]),
        fixed=tuple(outputs.charge_w_sys_fixed_ym[1]),
        minimum=tuple(outputs.charge_w_sys_minimum_ym[1]),
        bill=tuple(outputs.utility_bill_w_sys_ym[1]),
    )


def read_urdb(name: str) -> dict[str, Any]:
    """Read one saved URDB record by file stem."""
    import json

    data: dict[str, Any] = json.loads((TARIFFS / f"{name}.json").read_text())
    return data


_LOAD_CACHE: dict[str, list[Decimal]] = {}


def read_load(name: str) -> list[Decimal]:
    """Read ``residential`` or ``commercial``, the SAM sample loads of 8760 hours."""
    from billing_engine import load_csv

    if name not in _LOAD_CACHE:
        _LOAD_CACHE[name] = load_csv(LOADS / f"{name}_sam_default_8760.csv")
    return _LOAD_CACHE[name]
