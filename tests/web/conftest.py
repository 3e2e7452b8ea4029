"""Fixtures for the web tests: a demo city billed for one cycle, and a client on it.

The web tests only read, so on SQLite the billed city is built once per worker into a
file that each test copies. On PostgreSQL each test seeds and bills its own city.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app import db as app_db
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.demo.seed import seed_demo
from app.main import create_app
from app.settings import get_settings
from tests.web.support import BilledCity

ZONE = ZoneInfo("America/Chicago")
PERIOD = parse_period("2026-11")
BILLED_CYCLE = "C1"
SQLITE_PREFIX = "sqlite:///"


def _build_billed_city(factory: sessionmaker[Session]) -> BilledCity:
    with factory() as session:
        report = seed_demo(session, accounts=20, period=PERIOD, zone=ZONE, seed=7, actor="test")
        session.commit()
    run_bill_run(
        factory,
        cycle_code=BILLED_CYCLE,
        period=PERIOD,
        actor="test",
        zone=ZONE,
        due_days=21,
    )
    return BilledCity(period=PERIOD, special_cases=dict(report.special_cases))


@dataclass(frozen=True)
class _SavedCity:
    path: Path
    city: BilledCity


@pytest.fixture(scope="session")
def saved_billed_city(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> _SavedCity | None:
    """Build the billed city once per worker into a SQLite file, or return None on PostgreSQL."""
    if not migrated_template.startswith(SQLITE_PREFIX):
        return None
    path = tmp_path_factory.mktemp("billed-city") / "upm.sqlite3"
    shutil.copyfile(migrated_template.removeprefix(SQLITE_PREFIX), path)
    url = f"{SQLITE_PREFIX}{path}"
    engine = app_db.make_engine(url)
    # The bill run's after-commit tasks (bill-ready texts) open the database the settings
    # name, so for this build the settings name this file.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPM_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            city = _build_billed_city(sessionmaker(bind=engine, expire_on_commit=False))
        finally:
            # Closing the last connection checkpoints the WAL into the file that gets copied.
            # The tasks' engine is the settings' one, cached under no URL.
            engine.dispose()
            app_db.get_engine(None).dispose()
            app_db.get_engine.cache_clear()
            app_db.get_session_factory.cache_clear()
    get_settings.cache_clear()
    return _SavedCity(path, city)


@pytest.fixture
def billed_city(
    db_url: str, saved_billed_city: _SavedCity | None, session_factory: sessionmaker[Session]
) -> BilledCity:
    """The 20-account demo city with cycle C1 billed for 2026-11, in ``db_url``.

    On SQLite this replaces the test's database file, so no fixture may query the
    database before this one runs.
    """
    if saved_billed_city is None:
        return _build_billed_city(session_factory)
    shutil.copyfile(saved_billed_city.path, db_url.removeprefix(SQLITE_PREFIX))
    return saved_billed_city.city


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client
