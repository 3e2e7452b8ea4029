"""``upm import-reads``: load register reads (CSV) or interval data (CSV, Green Button)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from app.audit.service import cli_actor
from app.cli.common import clear_errors, console, count_of, err_console
from app.db import session_scope
from app.errors import InvalidInput
from app.meters.imports import ReadFormat, guess_format, import_reads
from app.settings import get_settings


def import_reads_command(
    file: Path = typer.Argument(
        ..., help="Register-read CSV, interval CSV or Green Button XML file."
    ),
    file_format: ReadFormat | None = typer.Option(
        None,
        "--format",
        help="csv (register reads), interval (start,value rows) or greenbutton; guessed "
        "from the extension (.csv, .xml) when omitted.",
    ),
    meter: str | None = typer.Option(
        None,
        help="Serial of the interval meter that receives a Green Button or interval file.",
    ),
    interval_minutes: int = typer.Option(
        60, min=1, help="Length of each interval of an interval CSV file, in minutes."
    ),
) -> None:
    """Import meter reads; importing a file again adds nothing, bad rows are kept for review."""
    settings = get_settings()
    with clear_errors():
        if not file.is_file():
            raise InvalidInput(f"file {file} not found; check the path", code="file_not_found")
        chosen = file_format or guess_format(file.name)
        with session_scope() as session:
            report = import_reads(
                session,
                filename=file.name,
                content=file.read_bytes(),
                file_format=chosen,
                zone=settings.zone,
                actor=cli_actor(),
                meter_serial=meter,
                interval_minutes=interval_minutes,
            )
    if report.already_imported:
        console.print(
            f"{file.name} was already imported (import {report.import_id}); nothing added."
        )
    else:
        console.print(
            f"import {report.import_id}: {count_of(report.rows_read, 'row')} read, "
            f"{count_of(report.rows_stored, 'read')} stored, "
            f"{report.rows_duplicate:,} already on file, "
            f"{count_of(len(report.errors), 'row')} kept for review"
        )
    if report.errors:
        table = Table("line", "reason", title="Rows kept for review")
        for error in report.errors[:50]:
            table.add_row(str(error.line_number), error.reason)
        err_console.print(table)
        if len(report.errors) > 50:
            err_console.print(f"... and {len(report.errors) - 50} more")
        raise typer.Exit(1)
