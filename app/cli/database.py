"""``upm db``: apply migrations and show the schema revision."""

from __future__ import annotations

import typer

from app.cli.common import clear_errors, console
from app.migrate import current_revision, upgrade
from app.settings import get_settings

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Alembic revision to reach."),
) -> None:
    """Apply the migrations to the database that UPM_DATABASE_URL names."""
    with clear_errors():
        url = get_settings().database_url
        upgrade(url, revision)
        console.print(f"database at revision {current_revision(url)}")


@db_app.command("current")
def current_command() -> None:
    """Print the database's current schema revision."""
    with clear_errors():
        console.print(current_revision(get_settings().database_url) or "empty (no migrations)")
