"""``upm --help``, ``upm db`` and the argument errors of ``upm bill-run``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import Session

from app.billing.models import BillingCycle
from app.migrate import alembic_config, current_revision
from tests.cli.support import flat

Upm = Callable[..., Result]
#: The newest migration, read from the migration scripts themselves.
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_help_lists_commands(upm: Upm) -> None:
    result = upm("--help")

    assert result.exit_code == 0
    for command in ("db", "import-reads", "bill-run", "rate", "demo", "serve"):
        assert re.search(rf"│ {re.escape(command)}\s", result.output), command


def test_db_upgrade_fresh_sqlite(upm: Upm, fresh_sqlite_url: str) -> None:
    database_file = Path(fresh_sqlite_url.removeprefix("sqlite:///"))
    assert not database_file.exists()

    result = upm("db", "upgrade")

    assert result.exit_code == 0
    assert f"database at revision {HEAD}" in flat(result.output)
    assert database_file.is_file()
    # Customer data: readable by its owner only.
    assert oct(database_file.stat().st_mode & 0o777) == "0o600"
    assert current_revision(fresh_sqlite_url) == HEAD
    engine = create_engine(fresh_sqlite_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"accounts", "bills", "bill_lines", "journal_entries", "reads"} <= tables


def test_db_upgrade_twice_is_noop(upm: Upm, fresh_sqlite_url: str) -> None:
    first = upm("db", "upgrade")
    second = upm("db", "upgrade")
    current = upm("db", "current")

    assert first.exit_code == 0
    assert second.exit_code == 0
    assert f"database at revision {HEAD}" in flat(second.output)
    assert current.exit_code == 0
    assert flat(current.output) == HEAD


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "November"])
def test_bill_run_bad_period_exits_2(upm: Upm, db_url: str, period: str) -> None:
    result = upm("bill-run", "--cycle", "C1", "--period", period)

    assert result.exit_code == 2
    assert f"period '{period}' is not a month" in flat(result.stderr)
    assert "YYYY-MM" in flat(result.stderr)
    assert result.stdout.strip() == ""


def test_bill_run_unknown_cycle_exits_2(upm: Upm, session: Session) -> None:
    session.add_all(
        [BillingCycle(code="C2", name="Cycle 2"), BillingCycle(code="C1", name="Cycle 1")]
    )
    session.commit()

    result = upm("bill-run", "--cycle", "C9", "--period", "2026-11")

    assert result.exit_code == 2
    message = flat(result.stderr)
    assert "billing cycle 'C9' not found" in message
    assert "known cycles: C1, C2" in message


def test_bill_run_empty_database_lists_none(upm: Upm, db_url: str) -> None:
    result = upm("bill-run", "--cycle", "C1", "--period", "2026-11")

    assert result.exit_code == 2
    assert "known cycles: none" in flat(result.stderr)


@pytest.mark.parametrize(
    ("url", "code", "shown"),
    [
        ("foo://bar", "database_url_invalid", "foo://bar"),
        (
            "postgresql://clerk:hunter2@127.0.0.1:9/upm",
            "database_unavailable",
            "postgresql://clerk:***@127.0.0.1:9/upm",
        ),
    ],
    ids=["unknown-scheme", "nothing-listening"],
)
def test_bad_database_url_is_one_line(
    upm: Upm, monkeypatch: pytest.MonkeyPatch, url: str, code: str, shown: str
) -> None:
    # Port 9 (discard) has no PostgreSQL on 127.0.0.1, so the connection is refused.
    monkeypatch.setenv("UPM_DATABASE_URL", url)
    from app.settings import get_settings

    get_settings.cache_clear()
    try:
        result = upm("db", "upgrade")
    finally:
        get_settings.cache_clear()

    output = flat(result.output)
    assert result.exit_code == 2
    assert f"error ({code})" in output
    assert shown in output
    assert "hunter2" not in output
    assert "Traceback" not in output
