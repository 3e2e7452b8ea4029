"""Time a day of AMI reads for many water meters through upm, on PostgreSQL.

This is the daily job of an AMI utility, end to end through the services the import
and its hooks call:

1. ingest: ``import_reads`` on one mapped CSV file with ``--meters`` meters x 24 hourly
   intervals (hooks off, so this is parsing and storing alone);
2. validation: ``validate_interval_data`` on the day just stored, as the import's hook
   calls it (loads the intervals and their neighbours, runs the rules, stores findings);
3. leak detection: ``scan_registers`` on the same registers, as the scan task runs it
   (loads the last 48 hours and open episodes, looks up the typical hour of registers
   over the burst floor in the 7 days before, runs the rules, opens episodes).

The script recreates the database that ``--database-url`` names (default
``upm_meter_day_bench`` on the local server), adds the meters, and stores
``--history-days`` earlier days by COPY outside the timing, so that validation has
neighbours and leak detection has days before its 48 hours for the typical hour. The
use is seeded pseudo-random, as in ``bench/leak_bench.py``: most homes use nothing at
night, 5 in 100 leak all day, 1 in 100 bursts. The meters have no customers, so only
staff alerts go out, on the last commit. Each phase prints its wall and CPU time, and
with ``--trace-memory`` its peak of Python allocations. The process's peak resident
memory comes last.

Run: ``.venv/bin/python bench/meter_day_bench.py [--meters 50000] [--history-days 6]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from read_ingest_bench import recreate_database
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine
from app.meters import imports
from app.meters.imports import ReadFormat, import_reads
from app.meters.leak_models import LeakEpisode
from app.meters.leaks import scan_registers
from app.meters.models import MeterStockStatus
from app.meters.validation import validate_interval_data
from app.meters.validation_models import ReadFinding
from app.settings import get_settings
from metering.mapped_csv import load_mapping

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/upm_meter_day_bench"
ZONE = ZoneInfo("America/Chicago")
#: Midnight in Chicago (daylight time) of the day imported.
DAY = dt.datetime(2026, 6, 14, 5, tzinfo=dt.UTC)
NIGHT_HOURS = range(0, 6)
MAPPING = load_mapping(
    'kind = "interval"\ninterval_minutes = 60\n'
    '[columns]\nmeter = "meter"\ntimestamp = "start"\nvalue = "gallons"\n'
    '[fixed]\nunit = "gal"\n'
)


def day_of_use(generator: random.Random, kind: float) -> list[Decimal]:
    """Return 24 hourly gallons: ordinary use, a leak under it, or a burst at the end."""
    values = []
    for hour in range(24):
        if kind < 0.05:
            gallons = 3 + generator.randint(0, 40)
        elif kind < 0.06 and hour >= 20:
            gallons = 1300 + generator.randint(0, 200)
        elif hour in NIGHT_HOURS:
            gallons = 0
        else:
            gallons = generator.randint(0, 30)
        values.append(Decimal(gallons) / 4)
    return values


def add_meters(session: Session, count: int) -> list[int]:
    """Add ``count`` water meters with an hourly register in gallons; return register ids."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        with cursor.copy("COPY meters (serial, service, stock_status) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((f"W{number:06d}", "water", MeterStockStatus.INSTALLED.value))
        cursor.execute(
            "INSERT INTO registers (meter_id, code, unit, interval, dials, multiplier) "
            "SELECT id, '1', 'gal', true, 6, 1 FROM meters ORDER BY id"
        )
        cursor.execute("SELECT id FROM registers ORDER BY meter_id")
        return [row[0] for row in cursor.fetchall()]


def add_history(session: Session, register_ids: list[int], days: int, seed: int) -> None:
    """Store ``days`` days before DAY for every register, by COPY."""
    generator = random.Random(seed)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        columns = "register_id, start_at, seconds, value"
        with cursor.copy(f"COPY interval_reads ({columns}) FROM STDIN") as copy:
            for register_id in register_ids:
                kind = generator.random()
                for day in range(days, 0, -1):
                    first = DAY - dt.timedelta(days=day)
                    for hour, value in enumerate(day_of_use(generator, kind)):
                        copy.write_row((register_id, first + dt.timedelta(hours=hour), 3600, value))
        cursor.execute("ANALYZE interval_reads")


def day_file(meters: int, seed: int) -> bytes:
    """Return the mapped CSV of DAY, in local time with offsets, meter by meter."""
    generator = random.Random(seed)
    lines = ["meter,start,gallons"]
    stamps = [(DAY + dt.timedelta(hours=hour)).astimezone(ZONE).isoformat() for hour in range(24)]
    for number in range(meters):
        values = day_of_use(generator, generator.random())
        lines.extend(f"W{number:06d},{stamps[hour]},{values[hour]}" for hour in range(24))
    return ("\n".join(lines) + "\n").encode()


def timed(label: str, action: Callable[[], Any], figures: dict[str, Figure]) -> Any:
    """Run ``action`` and keep its times, and with tracing on its peak memory, as ``label``."""
    if tracemalloc.is_tracing():
        tracemalloc.reset_peak()
    started, started_cpu = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None
    figures[label] = Figure(wall, cpu, peak)
    return result


class Figure(NamedTuple):
    """One phase's wall and CPU seconds, and its peak of Python allocations if traced."""

    wall: float
    cpu: float
    peak_bytes: int | None


def print_figures(figures: dict[str, Figure]) -> None:
    for label, figure in figures.items():
        line = f"{label:32} {figure.wall:7.2f} s wall {figure.cpu:7.2f} s CPU"
        if figure.peak_bytes is not None:
            line += f", peak Python memory {figure.peak_bytes / 2**20:,.0f} MiB"
        print(line)
    checks = [figures["validation"], figures["leak detection"]]
    print(
        f"{'validation and leak detection':32} {sum(f.wall for f in checks):7.2f} s wall "
        f"{sum(f.cpu for f in checks):7.2f} s CPU  (target: under 30 s for 50,000 meters)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL database to drop, create and fill, left in place after the run; "
        "BENCH_DATABASE_URL sets the default",
    )
    parser.add_argument("--meters", type=int, default=50_000, help="water meters in the file")
    parser.add_argument(
        "--history-days", type=int, default=6, help="days stored before the imported day"
    )
    parser.add_argument("--seed", type=int, default=6, help="seed of the pseudo-random use")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="also print each phase's peak of Python allocations (tracemalloc), which "
        "slows every phase several times over, so its times are not comparable",
    )
    arguments = parser.parse_args()
    # Each new episode logs a staff alert at WARNING when no Slack is set up; thousands
    # of them would bury the figures.
    logging.getLogger("app.alerts").setLevel(logging.ERROR)
    # The hooks are timed as phases of their own below.
    imports.reads_stored = lambda *_args, **_options: None

    url = recreate_database(arguments.database_url)
    os.environ["UPM_DATABASE_URL"] = url
    get_settings.cache_clear()
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        register_ids = add_meters(session, arguments.meters)
        add_history(session, register_ids, arguments.history_days, arguments.seed + 1)
        session.commit()
    content = day_file(arguments.meters, arguments.seed)

    figures: dict[str, Figure] = {}
    if arguments.trace_memory:
        tracemalloc.start()
    with factory() as session:
        report = timed(
            "ingest",
            lambda: import_reads(
                session,
                filename="ami-day.csv",
                content=content,
                file_format=ReadFormat.MAPPED,
                zone=ZONE,
                actor="bench",
                mapping=MAPPING,
            ),
            figures,
        )
        timed("commit of ingest", session.commit, figures)
        assert not report.errors, report.errors[:3]
        assert report.rows_stored == arguments.meters * 24, report.rows_stored
        findings = timed(
            "validation",
            lambda: validate_interval_data(
                session, register_ids=register_ids, spans=report.interval_spans
            ),
            figures,
        )
        scan = timed(
            "leak detection",
            lambda: scan_registers(session, register_ids, now=DAY + dt.timedelta(hours=24)),
            figures,
        )
        timed("commit and alerts", session.commit, figures)
        episodes = session.scalar(select(func.count()).select_from(LeakEpisode))
        stored_findings = session.scalar(select(func.count()).select_from(ReadFinding))
    engine.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    intervals = arguments.meters * 24
    print(
        f"{arguments.meters:,} meters x 24 hourly intervals = {intervals:,} intervals, "
        f"after {arguments.history_days} earlier days stored for every meter"
    )
    print_figures(figures)
    print(
        f"validation found {findings:,} new findings ({stored_findings:,} stored); leak "
        f"detection scanned {scan.registers:,} registers and opened {scan.opened:,} episodes "
        f"({episodes:,} stored), each alerting staff on the commit"
    )
    print(f"peak RSS: {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
