"""Fixtures for the command-line tests: a runner on ``app.cli.app`` and a fresh SQLite URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app import db as app_db
from app.cli import app
from app.cli import common as cli_common
from app.settings import get_settings

CONSOLE_WIDTH = 200


@pytest.fixture
def upm(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Return a function that runs ``upm ARGS...`` in-process and returns the result.

    The shared rich consoles print 200 columns wide, so a table cell does not fold an
    account number or a code. An exception other than the exit the command chose is
    raised again, so a crash shows its own traceback instead of a bare exit code 1.
    """
    monkeypatch.setattr(cli_common.console, "width", CONSOLE_WIDTH)
    monkeypatch.setattr(cli_common.err_console, "width", CONSOLE_WIDTH)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        result = runner.invoke(app, list(args), env={"COLUMNS": str(CONSOLE_WIDTH)})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


def _clear_caches() -> None:
    get_settings.cache_clear()
    app_db.get_engine.cache_clear()
    app_db.get_session_factory.cache_clear()


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite URL whose file does not exist yet, named by UPM_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'fresh' / 'upm.sqlite3'}"
    monkeypatch.setenv("UPM_DATABASE_URL", url)
    _clear_caches()
    yield url
    app_db.get_engine(url).dispose()
    _clear_caches()
