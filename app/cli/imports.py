"""`upm imports list|show`: read files imported, and the rows each kept for review."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from app.cli.common import clear_errors, console
from app.db import session_scope
from app.errors import NotFound
from app.meters.models import ReadImport, ReadImportError
from app.settings import get_settings

imports_app = typer.Typer(
    help="Read files imported, and the rows they kept for review.", no_args_is_help=True
)


@imports_app.command("list")
def list_command(
    limit: int = typer.Option(20, min=1, help="Maximum number of imports to list, newest first."),
) -> None:
    """List read imports, newest first, with their counts of rows."""
    zone = get_settings().zone
    with clear_errors(), session_scope() as session:
        imports = session.scalars(
            select(ReadImport).order_by(ReadImport.id.desc()).limit(limit)
        ).all()
        if not imports:
            console.print("No read files imported yet.")
            return
        table = Table()
        for column in ("id", "file", "format", "imported", "read", "stored", "kept for review"):
            table.add_column(column, overflow="fold")
        for batch in imports:
            table.add_row(
                str(batch.id),
                Text(batch.filename),
                batch.file_format,
                f"{batch.imported_at.astimezone(zone):%Y-%m-%d %H:%M %Z}",
                f"{batch.rows_read:,}",
                f"{batch.rows_stored:,}",
                f"{batch.rows_failed:,}",
            )
        console.print(table)


@imports_app.command("show")
def show_command(
    import_id: int = typer.Argument(..., help="Id of the import, as `upm imports list` shows."),
) -> None:
    """Show the rows an import kept for review: line number, line and reason."""
    with clear_errors(), session_scope() as session:
        batch = session.get(ReadImport, import_id)
        if batch is None:
            raise NotFound(
                f"read import {import_id} not found; `upm imports list` shows the imports",
                code="read_import_not_found",
            )
        rows = session.scalars(
            select(ReadImportError)
            .where(ReadImportError.import_id == import_id)
            .order_by(ReadImportError.line_number)
        ).all()
        console.print(
            Text(
                f"import {batch.id}: {batch.filename} ({batch.file_format}), "
                f"{batch.rows_read:,} rows read, {batch.rows_stored:,} stored, "
                f"{len(rows):,} kept for review"
            )
        )
        if not rows:
            return
        table = Table(title="Rows kept for review")
        for column in ("line", "text", "reason"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(str(row.line_number), Text(row.raw), Text(row.reason))
        console.print(table)
        console.print(
            "Correct the file (or add what it names, such as a meter) and import it again: "
            "the rows already stored count as duplicates."
        )
