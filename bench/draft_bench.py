"""Draft-file benchmark: originate N bank drafts end to end.

    .venv/bin/python bench/draft_bench.py --drafts 100000 \
        --database-url postgresql://postgres@127.0.0.1:5432/upm_bench
    .venv/bin/python bench/draft_bench.py --drafts 100000   # SQLite file in var/

The database is rebuilt and seeded with N accounts, each with a bill due on the
settlement date, an encrypted bank account and a bank-draft enrollment. Origination
runs in a second process so its peak memory (ru_maxrss) is its own. The time covers
finding the bills due, working out what each still owes, decrypting the bank numbers,
writing the NACHA file, and posting every draft (entries, postings, payments, history,
receipts), up to the commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bill_run_bench import reset_database  # noqa: E402

DRAFT_DAY = dt.date(2026, 12, 9)
DUE = dt.date(2026, 12, 10)
ROUTING = ("011000015", "021000021", "071000013", "111000025", "121000358")


def seed(url: str, count: int) -> None:
    from sqlalchemy.orm import Session

    from app.accounts.models import Account, Customer
    from app.accounts.numbers import account_number
    from app.billing.models import Bill, BillingCycle, BillRun, BillRunStatus
    from app.bulk import insert_rows
    from app.db import make_engine, utcnow
    from app.demo.seed import IdAllocator
    from app.ledger.chart import RECEIVABLES, REVENUE_BY_SERVICE, ensure_chart
    from app.ledger.models import EntryKind, JournalEntry, Posting
    from app.migrate import upgrade
    from app.payments.autopay.models import AutopayEnrollment, AutopayMethod
    from app.payments.drafts import vault
    from app.payments.drafts.models import BankAccount, BankAccountType

    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(11)
    now = utcnow()
    with Session(engine) as session:
        chart = ensure_chart(session)
        ids = IdAllocator(session)
        cycle = BillingCycle(code="B1", name="Bench")
        session.add(cycle)
        session.flush()
        run = BillRun(
            cycle_id=cycle.id,
            period_start=dt.date(2026, 11, 1),
            period_end=dt.date(2026, 11, 30),
            status=BillRunStatus.COMPLETED,
            started_by="bench",
        )
        session.add(run)
        session.flush()
        customers = ids.take(Customer, count)
        accounts = ids.take(Account, count)
        entries = ids.take(JournalEntry, count)
        banks = ids.take(BankAccount, count)
        insert_rows(session, Customer, [{"id": c, "name": f"Customer {c}"} for c in customers])
        insert_rows(
            session,
            Account,
            [
                {
                    "id": a,
                    "number": account_number(10_000_000 + i),
                    "customer_id": c,
                    "opened_on": dt.date(2020, 1, 1),
                }
                for i, (a, c) in enumerate(zip(accounts, customers, strict=True))
            ],
        )
        totals = [Decimal(rng.randint(2000, 30000)) / 100 for _ in range(count)]
        insert_rows(
            session,
            JournalEntry,
            [
                {
                    "id": e,
                    "entry_key": f"bench-bill:{e}",
                    "kind": EntryKind.BILL,
                    "effective_date": dt.date(2026, 11, 30),
                    "posted_at": now,
                    "memo": "Bill",
                    "actor": "bench",
                }
                for e in entries
            ],
        )
        postings = []
        for a, e, total in zip(accounts, entries, totals, strict=True):
            postings.append(
                {
                    "entry_id": e,
                    "ledger_account_id": chart[RECEIVABLES],
                    "account_id": a,
                    "amount": total,
                }
            )
            postings.append(
                {
                    "entry_id": e,
                    "ledger_account_id": chart[REVENUE_BY_SERVICE["water"]],
                    "account_id": None,
                    "amount": -total,
                }
            )
        insert_rows(session, Posting, postings)
        insert_rows(
            session,
            Bill,
            [
                {
                    "account_id": a,
                    "bill_run_id": run.id,
                    "period_start": run.period_start,
                    "period_end": run.period_end,
                    "bill_date": dt.date(2026, 11, 30),
                    "due_date": DUE,
                    "total": total,
                    "journal_entry_id": e,
                    "created_at": now,
                }
                for a, e, total in zip(accounts, entries, totals, strict=True)
            ],
        )
        bank_rows = []
        for index, (a, b) in enumerate(zip(accounts, banks, strict=True)):
            routing = ROUTING[index % len(ROUTING)]
            number = str(rng.randrange(10**7, 10**10))
            bank_rows.append(
                {
                    "id": b,
                    "account_id": a,
                    "holder_name": f"Customer {index}",
                    "account_type": BankAccountType.CHECKING,
                    "numbers_encrypted": vault.seal_bank_numbers(routing, number),
                    "routing_last4": routing[-4:],
                    "number_last4": number[-4:],
                    "return_count": 0,
                    "authorized_at": now,
                    "authorization_ref": "bench",
                    "created_at": now,
                }
            )
        insert_rows(session, BankAccount, bank_rows)
        insert_rows(
            session,
            AutopayEnrollment,
            [
                {
                    "account_id": a,
                    "method": AutopayMethod.BANK_DRAFT,
                    "bank_account_id": b,
                    "idempotency_key": f"bench-enroll:{a}",
                    "channel": "counter",
                    "enrolled_by": "bench",
                    "enrolled_at": now,
                }
                for a, b in zip(accounts, banks, strict=True)
            ],
        )
        ids.sync_sequences()
        session.commit()
    engine.dispose()


def originate(url: str) -> dict[str, float]:
    import logging

    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.payments.drafts.originate import generate_draft_file

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("app.payments.drafts.originate")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        draft_file = generate_draft_file(session, draft_date=DRAFT_DAY, actor="bench")
        assert draft_file is not None
        entries = draft_file.entry_count
        size = len(draft_file.content)
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    built, posted = records[-1].args[3:5]  # type: ignore[index, misc]
    return {
        "drafts": entries,
        "build_file_seconds": round(built, 2),
        "post_drafts_seconds": round(posted, 2),
        "file_bytes": size,
        "seconds": round(seconds, 2),
        "drafts_per_second": round(entries / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=100_000)
    default_url = f"sqlite:///{ROOT / 'var' / 'bench-drafts.sqlite3'}"
    parser.add_argument("--database-url", default=default_url)
    parser.add_argument("--originate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("UPM_BANK_DATA_KEY", "2pHwW8X4mI6oLTCKhGvYqP0r1kZcJ5bNnFdEaSgU3yQ=")
    if args.originate_only:
        print(json.dumps(originate(args.database_url)))
        return
    (ROOT / "var").mkdir(exist_ok=True)
    reset_database(args.database_url)
    seed(args.database_url, args.drafts)
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--drafts",
            str(args.drafts),
            "--database-url",
            args.database_url,
            "--originate-only",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    print(result.stdout.strip())


if __name__ == "__main__":
    main()
