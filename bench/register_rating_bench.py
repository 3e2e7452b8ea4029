"""Time ``rate_service`` on register usage with the demo water, sewer and trash tariffs.

This is the call that the bill run makes three times per household. Each case is one
full calendar month of 2024 (one tariff segment), chosen at random, with a random water
consumption in gallons, which converts to the kgal of the water and sewer tariffs. The
sewer call gets a random winter average in gallons for about half of the cases, and
``None`` otherwise. The trash call gets zero gallons, as the bill run passes.

Run: ``.venv/bin/python bench/register_rating_bench.py [--cases N] [--repeat N]``.
To time another copy of the engine, put its parent folder first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

import billing_engine  # noqa: E402
from app.demo.tariffs import sewer_tariff, trash_tariff, water_tariff  # noqa: E402
from billing_engine import Period, RegisterUsage, TariffSegment, Unit, rate_service  # noqa: E402

YEAR = 2024
SEED = 20240701
#: Calls per timed chunk.
CHUNK = 500


def month_period(month: int) -> Period:
    end = date(YEAR + 1, 1, 1) if month == 12 else date(YEAR, month + 1, 1)
    return Period(date(YEAR, month, 1), end)


#: Arguments of one rate_service call: the nominal period, segments, usage, winter average.
Call = tuple[Period, list[TariffSegment], RegisterUsage, Decimal | None]


def rate_all(calls: list[Call]) -> None:
    for period, segments, usage, winter in calls:
        rate_service(segments, period, usage, winter_average=winter)


def make_cases(count: int, seed: int) -> list[tuple[Period, Decimal, Decimal | None]]:
    """Return (month, gallons, winter average in gallons or None) for each case."""
    generator = random.Random(seed)
    cases = []
    for _ in range(count):
        period = month_period(generator.randint(1, 12))
        gallons = Decimal(generator.randint(0, 25_000))
        winter = Decimal(generator.randint(1_500, 9_000)) if generator.random() < 0.5 else None
        cases.append((period, gallons, winter))
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="random cases per tariff")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the cases")
    args = parser.parse_args()

    water = water_tariff()
    sewer = sewer_tariff()
    trash = trash_tariff()
    cases = make_cases(args.cases, SEED)
    count = len(cases)
    by_tariff: dict[str, list[Call]] = {
        "water": [
            (period, [TariffSegment(water, period.start, period.end)],
             RegisterUsage(gallons, Unit.GAL), None)
            for period, gallons, _ in cases
        ],
        "sewer": [
            (period, [TariffSegment(sewer, period.start, period.end)],
             RegisterUsage(gallons, Unit.GAL), winter)
            for period, gallons, winter in cases
        ],
        "trash": [
            (period, [TariffSegment(trash, period.start, period.end)],
             RegisterUsage(Decimal(0), Unit.GAL), None)
            for period, _, _ in cases
        ],
    }
    for tariff_calls in by_tariff.values():
        rate_all(tariff_calls)  # warm caches, so that the timed passes compare like with like
    # Short chunks, alternating between the tariffs: the median of many short timings
    # is less sensitive to a busy shared machine than one long timing.
    samples: dict[str, list[float]] = {name: [] for name in by_tariff}
    for _ in range(args.repeat):
        for first in range(0, count, CHUNK):
            for name, tariff_calls in by_tariff.items():
                chunk = tariff_calls[first : first + CHUNK]
                start = time.perf_counter()
                rate_all(chunk)
                samples[name].append((time.perf_counter() - start) / len(chunk))

    print(f"engine: {Path(billing_engine.__file__).parent}")
    print(f"cases: {count} per tariff, repeat: {args.repeat}, median of {CHUNK}-call chunks, "
          f"Python {sys.version.split()[0]}")
    total = 0.0
    for name, per_call in samples.items():
        median = statistics.median(per_call)
        total += median
        print(f"{name:6} {median * 1e6:8.1f} us per call")
    print(f"{'mean':6} {total / len(samples) * 1e6:8.1f} us per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
