"""``upm demo --no-serve``: the summary, its exceptions, a second run, and a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from stdnum import luhn

from app.accounts.models import Account
from app.billing.models import Bill, BillMeterSegment, BillRunException
from tests.cli.support import flat

Upm = Callable[..., Result]
DEMO_ARGS = ("demo", "--no-serve", "--accounts", "20", "--period", "2026-11")


def _demo_number(position: int) -> str:
    """Return the number of the water account at ``position`` (0-based) in a new demo city.

    The demo opens its water accounts first, on consecutive base numbers from 10000001,
    and an account number is the base followed by its Luhn check digit.
    """
    base = str(10_000_001 + position)
    return base + luhn.calc_check_digit(base)


# app/demo/seed.py gives water account 6 no closing read and water account 8 a closing
# read below its opening read.
MISSING_READ = _demo_number(6)
SUSPECT_READ = _demo_number(8)

# 20 water accounts, max(2, 20 // 25) residential and max(2, 20 // 200) commercial
# electric accounts, and one Green Button customer.
DEMO_ACCOUNTS = 20 + 2 + 2 + 1
# Every account gets one bill except the two exceptions above.
DEMO_BILLS = DEMO_ACCOUNTS - 1


def _count_bills(session: Session) -> int:
    session.rollback()  # End the open transaction so the count includes the command's commits.
    return session.scalar(select(func.count()).select_from(Bill)) or 0


def _table_rows(output: str) -> list[list[str]]:
    """Return the body rows of every rich table in ``output`` as lists of cell texts."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def _run_counts(output: str) -> dict[str, list[str]]:
    """Map each row of the bill-run table to its period, accounts, bills and exceptions."""
    return {
        row[0]: row[1:5]
        for row in _table_rows(output)
        if len(row) >= 5 and (re.fullmatch(r"\d{4}-\d{2}", row[1]) or row[0] == "all")
    }


# The water accounts rotate through C1 to C4 by position, so each cycle gets five, and
# the four electric accounts (positions 20 to 23) get one each. The suspect read
# (position 8) is on C1 and is listed. The missing read (position 6) on C3 is billed on
# an estimated closing read. The Green Button customer has its own cycle, billed for
# December 2011.
EXPECTED_RUNS = {
    "C1": ["2026-11", "6", "5", "1"],
    "C2": ["2026-11", "6", "6", "0"],
    "C3": ["2026-11", "6", "6", "0"],
    "C4": ["2026-11", "6", "6", "0"],
    "GB": ["2011-12", "1", "1", "0"],
    "all": ["", str(DEMO_ACCOUNTS), str(DEMO_BILLS), "1"],
}


def test_demo_prints_summary_and_exceptions(upm: Upm, session: Session) -> None:
    result = upm(*DEMO_ARGS)

    assert result.exit_code == 0
    output = flat(result.output)
    assert f"created {DEMO_ACCOUNTS} accounts (20 water, sewer and trash; 5 electric)" in output
    assert _run_counts(result.output) == EXPECTED_RUNS
    # A day of hourly lines per AMI household; each stores a register read and an interval.
    metering = {row[0]: row[1] for row in _table_rows(result.output) if len(row) == 2}
    lines = int(metering["AMI lines read"])
    assert lines > 0
    assert lines % 24 == 0
    assert metering["reads stored (register reads and intervals)"] == str(2 * lines)
    assert metering["AMI lines kept for review"] == "0"

    stored = session.execute(
        select(Account.number, BillRunException.code).join(
            Account, Account.id == BillRunException.account_id
        )
    ).all()
    assert [number for number, _ in stored] == [SUSPECT_READ]
    rows_by_account = {row[1]: row for row in _table_rows(result.output) if len(row) >= 4}
    assert rows_by_account[SUSPECT_READ][0] == "C1"
    assert MISSING_READ not in rows_by_account
    estimated = session.scalar(
        select(Account.number)
        .join(Bill, Bill.account_id == Account.id)
        .join(BillMeterSegment, BillMeterSegment.bill_id == Bill.id)
        .where(BillMeterSegment.end_read_type == "estimated")
    )
    assert estimated == MISSING_READ
    for number, code in stored:
        assert rows_by_account[number][2] == code
    assert _count_bills(session) == DEMO_BILLS


def test_demo_second_run_adds_no_bills(upm: Upm, session: Session) -> None:
    first = upm(*DEMO_ARGS)
    bills_before = _count_bills(session)

    second = upm(*DEMO_ARGS)
    bills_after = _count_bills(session)

    assert first.exit_code == 0
    assert second.exit_code == 0
    output = flat(second.output)
    assert "demo data already present" in output
    assert "creating the demo city" not in output
    assert _run_counts(second.output) == EXPECTED_RUNS
    assert bills_before == DEMO_BILLS
    assert bills_after == bills_before


def test_demo_in_subprocess(tmp_path: Path) -> None:
    database_file = tmp_path / "demo.sqlite3"
    environment = dict(os.environ)
    environment["UPM_DATABASE_URL"] = f"sqlite:///{database_file}"
    environment["COLUMNS"] = "200"
    upm_script = Path(sys.executable).parent / "upm"

    completed = subprocess.run(
        [str(upm_script), *DEMO_ARGS],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert _run_counts(completed.stdout)["all"] == EXPECTED_RUNS["all"]
    engine = create_engine(f"sqlite:///{database_file}")
    try:
        with engine.connect() as connection:
            bills = connection.scalar(select(func.count()).select_from(Bill))
    finally:
        engine.dispose()
    assert bills == DEMO_BILLS
