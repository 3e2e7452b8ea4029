"""Helpers the commands share: turning domain errors into one clear line and exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from app.errors import DomainError

# soft_wrap keeps long messages (paths, reasons) whole when output goes to a pipe or file.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def count_of(number: int, noun: str) -> str:
    """Write a count with its noun in the right number: '1 bill', '2,000 bills'."""
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


@contextmanager
def clear_errors() -> Iterator[None]:
    """Print a domain or settings error as one line and exit with status 2."""
    try:
        yield
    except DomainError as exc:
        # Messages quote user input, such as a mapping's [timestamp] table, which rich
        # would otherwise take for markup and drop.
        err_console.print(
            f"[bold red]error[/] ({exc.code}): {escape(exc.message)}", highlight=False
        )
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        for problem in exc.errors():
            err_console.print(
                f"[bold red]settings error[/]: {escape(problem['msg'])}", highlight=False
            )
        raise typer.Exit(2) from exc
    except (ArgumentError, NoSuchModuleError) as exc:
        err_console.print(
            f"[bold red]error[/] (database_url_invalid): UPM_DATABASE_URL "
            f"{_masked_url()} is not a database URL SQLAlchemy can open ({escape(str(exc))}); use "
            "sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:5432/name",
            highlight=False,
        )
        raise typer.Exit(2) from exc
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        err_console.print(
            f"[bold red]error[/] (database_unavailable): cannot use the database at "
            f"{_masked_url()}: {escape(reason)}; check that the server runs and UPM_DATABASE_URL "
            "is right",
            highlight=False,
        )
        raise typer.Exit(2) from exc


def _masked_url() -> str:
    """Return the configured database URL with any password hidden."""
    from app.settings import get_settings

    url = get_settings().database_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"
