"""Helpers the commands share: turning domain errors into one clear line and exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console

from app.errors import DomainError

# soft_wrap keeps long messages (paths, reasons) whole when output goes to a pipe or file.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Print a domain or settings error as one line and exit with status 2."""
    try:
        yield
    except DomainError as exc:
        err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        for problem in exc.errors():
            err_console.print(f"[bold red]settings error[/]: {problem['msg']}", highlight=False)
        raise typer.Exit(2) from exc
