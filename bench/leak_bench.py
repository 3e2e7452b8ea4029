"""Time leak detection and interval validation over many registers' last 24 hours.

The script makes ``--registers`` hourly water series of 24 hours each, in chunks of
``--chunk`` registers so memory stays bounded, and runs on every register:

* ``metering.leaks.hourly_series`` (summing interval reads into hours),
* ``metering.leaks.detect_flow`` (continuous flow, flow floor and burst rules),
* ``metering.validation.validate_intervals`` (negative values, gaps and spikes).

The series are seeded pseudo-random use: most homes use nothing at night, 5 in 100
leak all day, 1 in 100 bursts. Making the series is outside the timing. The script
prints the detection time, the findings and the peak resident memory of the process.

Run: ``.venv/bin/python bench/leak_bench.py [--registers 50000] [--chunk 1000]``.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from metering.leaks import DEFAULT_THRESHOLDS, detect_flow, hourly_series
from metering.types import IntervalRead
from metering.validation import validate_intervals

START = datetime(2026, 6, 14, 5, tzinfo=UTC)
HOURS = [START + timedelta(hours=hour) for hour in range(24)]
#: Hours after the series' start (00:00 in Chicago) in which an ordinary home uses nothing.
NIGHT_HOURS = range(0, 6)


def make_intervals(generator: random.Random, register_id: int) -> list[IntervalRead]:
    """Return one register's 24 hourly reads: ordinary use, a leak or a burst."""
    kind = generator.random()
    values: list[Decimal] = []
    for hour in range(24):
        if kind < 0.05:
            gallons = 3 + generator.randint(0, 40)  # a leak under ordinary use
        elif kind < 0.06 and hour >= 20:
            gallons = 1300 + generator.randint(0, 200)  # a burst in the last 4 hours
        elif hour in NIGHT_HOURS:
            gallons = 0
        else:
            gallons = generator.randint(0, 30)
        values.append(Decimal(gallons) / 4)
    return [IntervalRead(HOURS[hour], 3600, values[hour], "gal") for hour in range(24)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registers", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=6)
    arguments = parser.parse_args()

    generator = random.Random(arguments.seed)
    findings: Counter[str] = Counter()
    validation_findings = 0
    detecting = 0.0
    detecting_cpu = 0.0
    leak_cpu = 0.0
    started = time.perf_counter()
    for first in range(0, arguments.registers, arguments.chunk):
        last = min(first + arguments.chunk, arguments.registers)
        chunk = [make_intervals(generator, register_id) for register_id in range(first, last)]
        clock = time.perf_counter()
        cpu_clock = time.process_time()
        for offset, intervals in enumerate(chunk):
            series = hourly_series(first + offset, intervals)
            for finding in detect_flow(series, DEFAULT_THRESHOLDS):
                findings[f"{finding.kind}/{finding.severity}"] += 1
        leak_cpu += time.process_time() - cpu_clock
        for intervals in chunk:
            validation_findings += len(validate_intervals(intervals))
        detecting += time.perf_counter() - clock
        detecting_cpu += time.process_time() - cpu_clock
    total = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    print(f"registers: {arguments.registers:,} x 24 hourly reads, chunks of {arguments.chunk:,}")
    print(
        f"detection and validation: {detecting:.2f} s wall, {detecting_cpu:.2f} s CPU "
        f"(with making the series: {total:.2f} s wall)"
    )
    print(f"of which leak rules: {leak_cpu:.2f} s CPU, interval validation: the rest")
    print(f"per register: {detecting / arguments.registers * 1e6:.0f} us wall")
    print(
        f"findings: {dict(sorted(findings.items()))}; validation findings: {validation_findings:,}"
    )
    print(f"peak RSS: {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
