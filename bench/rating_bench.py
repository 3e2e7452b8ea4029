"""Time the billing engine's year rating against PySAM 7's Utilityrate5 (C++ core).

For every saved URDB tariff (except the defective Seward County record) and both SAM
sample loads, the script rates 2018 with both engines and prints the median time per run.

* ours, rate: ``rate_year`` on an imported tariff.
* ours, import + rate: ``tariff_from_urdb`` then ``rate_year``.
* PySAM, execute: ``Utilityrate5.execute()`` on a model whose rates and load are set.
* PySAM, assign + execute: ``URDBv8_to_ElectricityRates``, ``ElectricityRates.assign``
  and ``execute()``.

Parsing the load (CSV to Decimal, or to a float list for PySAM) is outside every timing.
Run: ``.venv/bin/python bench/rating_bench.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import PySAM.Utilityrate5 as Utilityrate5
from PySAM.UtilityRateTools import URDBv8_to_ElectricityRates

from billing_engine import load_csv, rate_year, tariff_from_urdb

ROOT = Path(__file__).resolve().parent.parent
TARIFFS = ROOT / "tests" / "data" / "tariffs" / "urdb"
LOADS = ROOT / "tests" / "data" / "loads"
YEAR = 2018
# Tariffs with a feature the engine rejects by default; PySAM ignores the same features.
IGNORE_UNSUPPORTED = True


def interleaved_medians(runs: list[Callable[[], object]], repeat: int) -> list[float]:
    """Time each run ``repeat`` times, alternating between them, and return the medians.

    Alternating spreads any slowdown of a shared machine over all runs alike.
    """
    samples: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for index, run in enumerate(runs):
            start = time.perf_counter()
            run()
            samples[index].append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def pysam_model(doc: dict[str, Any], load: list[float]) -> Any:
    model = Utilityrate5.new()
    model.ElectricityRates.assign(URDBv8_to_ElectricityRates(copy.deepcopy(doc)))
    model.ElectricityRates.rate_escalation = [0.0]
    model.Lifetime.analysis_period = 1
    model.Lifetime.system_use_lifetime_output = 0
    model.Lifetime.inflation_rate = 0
    model.SystemOutput.gen = [0.0] * len(load)
    model.SystemOutput.degradation = [0.0]
    model.Load.load = load
    model.Load.load_escalation = [0.0]
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per case (median kept)")
    args = parser.parse_args()

    loads = {
        name: load_csv(LOADS / f"{name}_sam_default_8760.csv")
        for name in ("residential", "commercial")
    }
    files = sorted(p for p in TARIFFS.glob("*.json") if "DEFECTIVE" not in p.name)

    header = (
        f"{'tariff':44} {'load':11} {'ours ms':>8} {'ours+imp':>8} "
        f"{'pysam ms':>8} {'pysam+as':>8} {'ratio':>6} {'ratio+':>6}"
    )
    print(header)
    totals = {"ours": 0.0, "ours_import": 0.0, "pysam": 0.0, "pysam_assign": 0.0}
    for path in files:
        doc = json.loads(path.read_text())
        tariff = tariff_from_urdb(doc, ignore_unsupported=IGNORE_UNSUPPORTED)
        for load_name, load in loads.items():
            floats = [float(v) for v in load]
            model = pysam_model(doc, floats)

            def assign_and_execute(model: Any = model, doc: Any = doc) -> None:
                model.ElectricityRates.assign(URDBv8_to_ElectricityRates(copy.deepcopy(doc)))
                model.execute()

            def ours_rate(tariff: Any = tariff, load: Any = load) -> None:
                rate_year(tariff, load, year=YEAR)

            def ours_import_rate(doc: Any = doc, load: Any = load) -> None:
                imported = tariff_from_urdb(doc, ignore_unsupported=IGNORE_UNSUPPORTED)
                rate_year(imported, load, year=YEAR)

            ours_rate()  # the first call builds the calendar cache for the year
            ours, ours_import, pysam, pysam_assign = interleaved_medians(
                [ours_rate, ours_import_rate, model.execute, assign_and_execute], args.repeat
            )
            totals["ours"] += ours
            totals["ours_import"] += ours_import
            totals["pysam"] += pysam
            totals["pysam_assign"] += pysam_assign
            print(
                f"{path.stem[:44]:44} {load_name:11} {ours * 1e3:8.2f} {ours_import * 1e3:8.2f} "
                f"{pysam * 1e3:8.2f} {pysam_assign * 1e3:8.2f} "
                f"{ours / pysam:6.2f} {ours_import / pysam_assign:6.2f}"
            )
    cases = len(files) * len(loads)
    print()
    print(f"cases: {cases}, repeat: {args.repeat}, median per run, Python {sys.version.split()[0]}")
    print(
        f"mean ms per run: ours {totals['ours'] / cases * 1e3:.2f}, "
        f"ours with import {totals['ours_import'] / cases * 1e3:.2f}, "
        f"PySAM execute {totals['pysam'] / cases * 1e3:.2f}, "
        f"PySAM assign + execute {totals['pysam_assign'] / cases * 1e3:.2f}"
    )
    print(
        f"ratio ours / PySAM: {totals['ours'] / totals['pysam']:.2f} (rate only), "
        f"{totals['ours_import'] / totals['pysam_assign']:.2f} (with import / assignment)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
