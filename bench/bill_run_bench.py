"""Bill-run benchmark: N water, sewer and trash accounts billed end to end.

    .venv/bin/python bench/bill_run_bench.py --accounts 100000 \
        --database-url postgresql://postgres@127.0.0.1:5432/upm_bench
    .venv/bin/python bench/bill_run_bench.py --accounts 100000   # SQLite file in var/

The database is dropped and rebuilt, seeded in one process, then billed in a second
process so that its peak memory (ru_maxrss) counts the bill run alone. End to end means
reads fetched, bills rated, bills, lines, journal entries and postings written and
committed, for all four cycles of the month.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PERIOD = "2026-11"
ZONE = ZoneInfo("America/Chicago")


def reset_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def seed(url: str, accounts: int) -> None:
    from sqlalchemy.orm import Session

    from app.billing.periods import parse_period
    from app.db import make_engine
    from app.demo.seed import CityBuilder
    from app.ledger.chart import ensure_chart
    from app.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    period = parse_period(PERIOD)
    with Session(engine) as session:
        ensure_chart(session)
        builder = CityBuilder(session, period, ZONE, seed=11)
        cycles = builder.cycles()
        tariffs = builder.tariffs()
        session.commit()
        batch = 10_000
        for start in range(0, accounts, batch):
            builder.water_city(min(batch, accounts - start), cycles, tariffs)
            session.commit()
    engine.dispose()


def bill(url: str, chunk_size: int) -> dict[str, float]:
    from app.billing.periods import parse_period
    from app.billing.run import run_bill_run
    from app.db import get_session_factory

    factory = get_session_factory(url)
    started = time.perf_counter()
    bills = 0
    exceptions = 0
    for cycle in ("C1", "C2", "C3", "C4"):
        summary = run_bill_run(
            factory, cycle_code=cycle, period=parse_period(PERIOD), actor="bench",
            zone=ZONE, due_days=21, chunk_size=chunk_size,
        )
        bills += summary.bills_created
        exceptions += len(summary.exceptions)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"bills": bills, "exceptions": exceptions, "seconds": round(seconds, 2),
            "bills_per_second": round(bills / seconds, 1), "peak_rss_mb": round(peak_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--phase", choices=["all", "seed", "bill"], default="all")
    options = parser.parse_args()

    if options.phase == "seed":
        seed(options.database_url, options.accounts)
        return
    if options.phase == "bill":
        print(json.dumps(bill(options.database_url, options.chunk_size)))
        return

    reset_database(options.database_url)
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--phase", "seed", "--accounts",
                    str(options.accounts), "--database-url", options.database_url], check=True)
    print(f"seeded {options.accounts:,} accounts in {time.perf_counter() - started:.1f} s")
    output = subprocess.run(
        [sys.executable, __file__, "--phase", "bill", "--database-url", options.database_url,
         "--chunk-size", str(options.chunk_size)],
        check=True, capture_output=True, text=True, env=dict(os.environ),
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
