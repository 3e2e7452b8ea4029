"""A bill run killed with SIGKILL halfway finishes on the next run, with no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.billing.models import Bill
from app.billing.periods import parse_period
from app.demo.seed import seed_demo
from app.ledger.models import JournalEntry, Posting

UPM = Path(sys.executable).parent / "upm"


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_killed_run_resumes(
    session: Session, session_factory: sessionmaker[Session], db_url: str
) -> None:
    seed_demo(
        session,
        accounts=200,
        period=parse_period("2026-11"),
        zone=ZoneInfo("America/Chicago"),
        seed=3,
        actor="test",
    )
    session.commit()
    command = [str(UPM), "bill-run", "--cycle", "C2", "--period", "2026-11"]
    # One account per chunk, so the run commits many times and a kill lands mid-run.
    environment = dict(os.environ, UPM_DATABASE_URL=db_url, UPM_BILL_RUN_CHUNK_SIZE="1")

    run = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while _count(session_factory, Bill) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    at_kill = _count(session_factory, Bill)

    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)

    assert run.returncode == -signal.SIGKILL
    assert at_kill >= 3
    assert finished.returncode == 0, finished.stderr
    bills = _count(session_factory, Bill)
    assert at_kill < bills, f"the run ended before the kill ({at_kill} bills)"
    assert _count(session_factory, JournalEntry) == bills
    with session_factory() as check:
        accounts = check.scalar(select(func.count(func.distinct(Bill.account_id))))
        unbalanced = check.execute(
            select(Posting.entry_id)
            .group_by(Posting.entry_id)
            .having(func.sum(Posting.amount) != 0)
        ).all()
    assert accounts == bills
    assert unbalanced == []
