"""Lockbox import benchmark: a payment CSV of N checks posted to N accounts.

    .venv/bin/python bench/lockbox_bench.py --payments 100000 \
        --database-url postgresql://postgres@127.0.0.1:5432/upm_bench
    .venv/bin/python bench/lockbox_bench.py --payments 100000   # SQLite file in var/

The database is rebuilt and seeded with N accounts in one process; the import runs in a
second process so its peak memory (ru_maxrss) is the import's alone. The time covers
parsing, matching, posting (entries, postings, payments, status history, receipts)
and the commit. One row in 500 names no account, so the suspense path is timed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bill_run_bench import reset_database  # noqa: E402


def seed(url: str, count: int, csv_path: Path) -> None:
    from sqlalchemy.orm import Session

    from app.accounts.models import Account, Customer
    from app.accounts.numbers import account_number
    from app.bulk import insert_rows
    from app.db import make_engine
    from app.demo.seed import IdAllocator
    from app.ledger.chart import ensure_chart
    from app.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(7)
    with Session(engine) as session:
        ensure_chart(session)
        ids = IdAllocator(session)
        customer_ids = ids.take(Customer, count)
        account_ids = ids.take(Account, count)
        insert_rows(session, Customer, [
            {"id": cid, "name": f"Customer {cid}"} for cid in customer_ids
        ])
        numbers = [account_number(10_000_000 + index) for index in range(count)]
        insert_rows(session, Account, [
            {"id": aid, "number": number, "customer_id": cid, "opened_on": dt.date(2020, 1, 1)}
            for aid, cid, number in zip(account_ids, customer_ids, numbers, strict=True)
        ])
        ids.sync_sequences()
        session.commit()
    engine.dispose()
    lines = ["account_number,amount,paid_on,check_number,payer_name"]
    for index, number in enumerate(numbers):
        reference = "000000000" if index % 500 == 499 else number
        cents = rng.randint(1500, 40000)
        lines.append(f"{reference},{cents // 100}.{cents % 100:02d},2026-12-03,{index + 1},"
                     f"Customer {index}")
    csv_path.write_text("\n".join(lines) + "\n")


def run_import(url: str, csv_path: Path) -> dict[str, float]:
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.payments.bankfiles.lockbox_import import import_payment_file

    engine = make_engine(url)
    content = csv_path.read_bytes()
    started = time.perf_counter()
    with Session(engine) as session:
        report = import_payment_file(session, filename=csv_path.name, content=content,
                                     actor="bench")
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "posted": report.posted,
        "suspense": report.suspense,
        "seconds": round(seconds, 2),
        "payments_per_second": round((report.posted + report.suspense) / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=100_000)
    default_url = f"sqlite:///{ROOT / 'var' / 'bench-lockbox.sqlite3'}"
    parser.add_argument("--database-url", default=default_url)
    parser.add_argument("--import-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    csv_path = ROOT / "var" / f"bench-lockbox-{args.payments}.csv"
    if args.import_only:
        print(json.dumps(run_import(args.database_url, csv_path)))
        return
    csv_path.parent.mkdir(exist_ok=True)
    reset_database(args.database_url)
    seed(args.database_url, args.payments, csv_path)
    result = subprocess.run(
        [sys.executable, __file__, "--payments", str(args.payments), "--database-url",
         args.database_url, "--import-only"],
        check=True, capture_output=True, text=True,
    )
    print(result.stdout.strip())


if __name__ == "__main__":
    main()
