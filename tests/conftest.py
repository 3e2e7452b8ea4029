"""Test databases: SQLite files by default, PostgreSQL when UPM_TEST_DATABASE_URL is set.

Every test that uses ``db_url`` gets an empty, fully migrated database. On SQLite it is a
copy of a template file migrated once per worker. On PostgreSQL it is a database per
worker whose tables are truncated before each test. The schema always comes from the Alembic
migrations, never from ``create_all``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery._state import _set_task_join_will_block
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app import db as app_db
from app.migrate import upgrade
from app.settings import get_settings

TEST_DATABASE_URL = os.environ.get("UPM_TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_url(base: str) -> str:
    """Create (or recreate) this worker's database next to the one the URL names."""
    url = make_url(base)
    name = f"{url.database}_{_worker()}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database for this worker: a template file, or the worker's PostgreSQL db."""
    if TEST_DATABASE_URL:
        url = _postgres_url(TEST_DATABASE_URL)
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{path}"
    upgrade(url)
    return url


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(autouse=True)
def celery_joins_allowed() -> None:
    """Let each test wait on an eager task's result.

    Celery keeps one process-wide flag that forbids waiting while a task runs eagerly, and
    two threads running eager tasks at once can leave it set for good (each restores what
    it saw on entry). A race test that sends tasks from two threads would then break every
    later ``.get()`` in the same worker.
    """
    _set_task_join_will_block(False)


@pytest.fixture
def db_url(
    migrated_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An empty migrated database, named by UPM_DATABASE_URL for the code under test."""
    if migrated_template.startswith("sqlite"):
        source = Path(migrated_template.removeprefix("sqlite:///"))
        target = tmp_path / "upm.sqlite3"
        shutil.copyfile(source, target)
        url = f"sqlite:///{target}"
    else:
        _truncate_all(migrated_template)
        url = migrated_template
    monkeypatch.setenv("UPM_DATABASE_URL", url)
    # Bank files are stored sealed, so every test needs a key; tests of a missing key
    # remove it.
    monkeypatch.setenv("UPM_BANK_DATA_KEY", TEST_BANK_DATA_KEY)
    # Texts queued at the real time of day would be deferred in the evening, so tests run
    # without quiet hours. The tests of quiet hours set their own.
    monkeypatch.setenv("UPM_QUIET_HOURS_START", "00:00")
    monkeypatch.setenv("UPM_QUIET_HOURS_END", "00:00")
    _clear_caches()
    yield url
    app_db.get_engine(url).dispose()
    app_db.get_engine(None).dispose()
    _clear_caches()


#: A fixed Fernet key for tests only (32 random bytes, url-safe base64).
TEST_BANK_DATA_KEY = "3q0uVnQ9m8bGQh2yJ7k1xR4tZc6pWfLsE5dA0oNiUyM="


def _clear_caches() -> None:
    get_settings.cache_clear()
    app_db.get_engine.cache_clear()
    app_db.get_session_factory.cache_clear()


@pytest.fixture
def session_factory(db_url: str) -> sessionmaker[Session]:
    return app_db.get_session_factory(db_url)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session
