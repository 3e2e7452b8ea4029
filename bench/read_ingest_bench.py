"""Time importing interval reads into PostgreSQL with ``import_reads``.

The script recreates the database that ``--database-url`` names (default
``upm_read_ingest_bench`` on the local server), migrates it, and adds ``--meters``
meters, each with an interval register in kWh. It then generates files of 15-minute
intervals and times ``import_reads`` on them, each import in its own transaction:

* interval: one ``start,value`` file per meter with ``--days`` days of intervals.
* interval again: each of those files with a blank line added, so that it is a new file
  whose every interval is already stored (the duplicate path, file by file).
* mapped: one ``meter,start,value`` file with every meter's intervals, read through a
  mapping file.
* mapped again: the mapped file with one blank line added (the duplicate path).

Parsing is timed alone too, on the same text and with the cyclic garbage collector
paused as the import pauses it, so the rest of each time is storing and the after-store
hooks (validation, leak detection), which ``--without-hooks`` skips.
Each figure is the median of ``--repeat`` runs, and every run starts from empty tables.
The CPU time printed is this process's (parsing and building rows), not PostgreSQL's.
Run: ``.venv/bin/python bench/read_ingest_bench.py [--meters N] [--days N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.bulk import cyclic_gc_paused
from app.db import make_engine
from app.meters import imports
from app.meters.imports import ReadFormat, import_reads
from app.meters.models import Meter, Register
from app.migrate import upgrade
from app.settings import get_settings
from metering.interval_csv import parse_interval_csv
from metering.mapped_csv import load_mapping, parse_mapped_csv

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/upm_read_ingest_bench"
ZONE = ZoneInfo("America/Chicago")
FIRST_START = dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC)
MAPPING = load_mapping(
    'kind = "interval"\ninterval_minutes = 15\n'
    '[columns]\nmeter = "meter"\ntimestamp = "start"\nvalue = "value"\n'
    '[fixed]\nunit = "kWh"\n'
)


def recreate_database(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    rendered = parsed.render_as_string(hide_password=False)
    upgrade(rendered)
    return rendered


def add_meters(factory: sessionmaker[Session], count: int) -> list[str]:
    serials = [f"BENCH-{number:05d}" for number in range(count)]
    with factory() as session:
        for serial in serials:
            meter = Meter(serial=serial, service="electric")
            session.add(meter)
            session.flush()
            session.add(Register(meter_id=meter.id, code="1", unit="kWh", interval=True))
        session.commit()
    return serials


def interval_rows(days: int) -> list[tuple[str, str]]:
    """Return (start, value) text of 15-minute intervals; values cycle from 0.00 to 0.96."""
    count = days * 96
    return [
        ((FIRST_START + dt.timedelta(minutes=15 * index)).isoformat(), f"{index % 97 / 100:.2f}")
        for index in range(count)
    ]


def empty_tables(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        session.execute(text("TRUNCATE interval_reads, read_import_errors, audit_events"))
        session.execute(text("DELETE FROM read_imports"))
        session.commit()


def timed(action: Callable[[], object], cpu: list[float] | None = None) -> float:
    """Return the wall time of ``action``; append this process's CPU time to ``cpu``."""
    started = time.perf_counter()
    started_cpu = time.process_time()
    action()
    if cpu is not None:
        cpu.append(time.process_time() - started_cpu)
    return time.perf_counter() - started


def import_file(
    factory: sessionmaker[Session], name: str, content: bytes, **options: object
) -> int:
    with factory() as session:
        report = import_reads(
            session,
            filename=name,
            content=content,
            zone=ZONE,
            actor="bench",
            **options,  # type: ignore[arg-type]
        )
        session.commit()
    assert not report.errors, report.errors[:3]
    return report.rows_stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL database to drop, create and fill; left in place after the run "
        "(default: $BENCH_DATABASE_URL, else upm_read_ingest_bench on 127.0.0.1)",
    )
    parser.add_argument("--meters", type=int, default=20, help="meters, one file each")
    parser.add_argument("--days", type=int, default=35, help="days of 15-minute intervals")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median kept")
    parser.add_argument(
        "--without-hooks",
        action="store_true",
        help="skip after_store.reads_stored (validation, leak detection) to time storing alone",
    )
    args = parser.parse_args()
    if args.without_hooks:
        imports.reads_stored = lambda *_args, **_options: None

    url = recreate_database(args.database_url)
    # The after-store hooks open sessions of their own on the configured database.
    os.environ["UPM_DATABASE_URL"] = url
    get_settings.cache_clear()
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    serials = add_meters(factory, args.meters)
    rows = interval_rows(args.days)
    per_file = "start,value\n" + "".join(f"{start},{value}\n" for start, value in rows)
    per_file_bytes = per_file.encode()
    mapped = "meter,start,value\n" + "".join(
        f"{serial},{start},{value}\n" for start, value in rows for serial in serials
    )
    mapped_bytes = mapped.encode()
    total = len(rows) * len(serials)

    def import_per_meter(again: bool = False) -> None:
        for number, serial in enumerate(serials):
            # Trailing blank lines make each meter's file distinct, so none is taken as
            # an import of an earlier file.
            blank_lines = number + len(serials) if again else number
            stored = import_file(
                factory,
                f"{serial}.csv",
                per_file_bytes + b"\n" * blank_lines,
                file_format=ReadFormat.INTERVAL,
                meter_serial=serial,
                interval_minutes=15,
            )
            assert stored == (0 if again else len(rows)), stored

    def import_mapped() -> None:
        stored = import_file(
            factory, "all.csv", mapped_bytes, file_format=ReadFormat.MAPPED, mapping=MAPPING
        )
        assert stored == total, stored

    def import_mapped_again() -> None:
        stored = import_file(
            factory,
            "all-again.csv",
            mapped_bytes + b"\n",
            file_format=ReadFormat.MAPPED,
            mapping=MAPPING,
        )
        assert stored == 0, stored

    figures: dict[str, list[float]] = {
        name: [] for name in ("interval", "interval again", "mapped", "again")
    }
    cpu_figures: dict[str, list[float]] = {name: [] for name in figures}
    parse_figures: dict[str, list[float]] = {"interval": [], "mapped": []}
    for _ in range(args.repeat):
        empty_tables(factory)
        figures["interval"].append(timed(import_per_meter, cpu_figures["interval"]))
        figures["interval again"].append(
            timed(lambda: import_per_meter(again=True), cpu_figures["interval again"])
        )
        empty_tables(factory)
        figures["mapped"].append(timed(import_mapped, cpu_figures["mapped"]))
        figures["again"].append(timed(import_mapped_again, cpu_figures["again"]))
        with cyclic_gc_paused():
            parse_figures["interval"].append(
                len(serials) * timed(lambda: parse_interval_csv(per_file, "kWh", 900))
            )
            parse_figures["mapped"].append(timed(lambda: parse_mapped_csv(mapped, MAPPING, ZONE)))

    hooks = "without" if args.without_hooks else "with"
    print(
        f"{total:,} intervals ({len(serials)} meters x {len(rows):,}), median of "
        f"{args.repeat}, {hooks} after-store hooks"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    labels = {
        "interval": "interval CSV, one file per meter",
        "interval again": "interval CSV again, all duplicates",
        "mapped": "mapped CSV, one file",
        "again": "mapped CSV again, all duplicates",
    }
    for key, label in labels.items():
        seconds = statistics.median(figures[key])
        cpu = statistics.median(cpu_figures[key])
        line = (
            f"{label:36} {seconds:7.2f} s {total / seconds:10,.0f} intervals/s, "
            f"this process's CPU {cpu:.2f} s"
        )
        if key in parse_figures:
            parse = statistics.median(parse_figures[key])
            line += f"  (parse alone {total / parse:,.0f}/s)"
        print(line)
    with factory() as session:
        stored = session.scalar(text("SELECT sum(value) FROM interval_reads"))
        # The generated values sum to this per meter: each full cycle of 97 is 46.56.
        expected = sum(Decimal(value) for _start, value in rows) * len(serials)
        assert stored == expected, (stored, expected)
    engine.dispose()


if __name__ == "__main__":
    main()
