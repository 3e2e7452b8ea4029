"""``upm import-reads``: load meter reads from a file, or one pass over the drop folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from app.audit.service import cli_actor
from app.cli.common import clear_errors, console, count_of, err_console
from app.db import session_scope
from app.errors import InvalidInput
from app.meters.drop_folder import import_drop_folder
from app.meters.imports import ImportReport, ReadFormat, guess_format, import_reads
from app.settings import get_settings
from metering.mapped_csv import MappingError, ReadMapping, load_mapping


def import_reads_command(
    file: Path | None = typer.Argument(
        None,
        help="Read file: register-read CSV, interval CSV, Green Button XML, BEACON CSV, "
        "wmbusmeters JSON lines, or a CSV that --mapping describes.",
    ),
    file_format: ReadFormat | None = typer.Option(
        None,
        "--format",
        help="csv (register reads), interval (start,value rows), greenbutton, beacon, wmbus "
        "or mapped. Guessed when omitted: .xml is greenbutton, .json and .jsonl are wmbus, "
        "a CSV with Meter_ID and Read_Unit columns is beacon, one with start and value is "
        "interval, other CSVs are csv, and any file with --mapping is mapped.",
    ),
    mapping_file: Path | None = typer.Option(
        None, "--mapping", help="TOML file naming the columns and conventions of a mapped CSV."
    ),
    meter: str | None = typer.Option(
        None,
        help="Serial of the interval meter that receives a Green Button or interval file.",
    ),
    interval_minutes: int = typer.Option(
        60,
        min=1,
        help="Length of each interval of an interval CSV file, and of a BEACON export's "
        "Flow, in minutes.",
    ),
    drop_folder: bool = typer.Option(
        False,
        "--drop-folder",
        help="Instead of FILE, import the ready files in UPM_READ_DROP_DIR once, as the "
        "watcher task does.",
    ),
) -> None:
    """Import meter reads; importing a file again adds nothing, bad rows are kept for review."""
    settings = get_settings()
    if drop_folder:
        _drop_folder_pass(file)
        return
    with clear_errors():
        if file is None:
            raise InvalidInput(
                "no file given; pass the read file, or --drop-folder", code="file_missing"
            )
        if not file.is_file():
            raise InvalidInput(f"file {file} not found; check the path", code="file_not_found")
        mapping = _load_mapping(mapping_file)
        content = file.read_bytes()
        chosen = file_format or (
            ReadFormat.MAPPED if mapping is not None else guess_format(file.name, content)
        )
        with session_scope() as session:
            report = import_reads(
                session,
                filename=file.name,
                content=content,
                file_format=chosen,
                zone=settings.zone,
                actor=cli_actor(),
                meter_serial=meter,
                interval_minutes=interval_minutes,
                mapping=mapping,
            )
    _print_report(file.name, report)


def _load_mapping(mapping_file: Path | None) -> ReadMapping | None:
    if mapping_file is None:
        return None
    if not mapping_file.is_file():
        raise InvalidInput(
            f"mapping file {mapping_file} not found; check the --mapping path",
            code="file_not_found",
        )
    try:
        return load_mapping(mapping_file.read_text(encoding="utf-8"))
    except MappingError as error:
        raise InvalidInput(f"{mapping_file.name}: {error}", code="read_mapping_invalid") from error


def _print_report(name: str, report: ImportReport) -> None:
    if report.already_imported:
        console.print(f"{name} was already imported (import {report.import_id}); nothing added.")
    else:
        console.print(
            f"import {report.import_id} ({report.file_format}): "
            f"{count_of(report.rows_read, 'row')} read, "
            f"{count_of(report.rows_stored, 'read')} stored, "
            f"{report.rows_duplicate:,} already on file, "
            f"{count_of(len(report.errors), 'row')} kept for review"
        )
    if report.errors:
        table = Table("line", "reason", title="Rows kept for review")
        for error in report.errors[:50]:
            table.add_row(str(error.line_number), Text(error.reason))
        err_console.print(table)
        if len(report.errors) > 50:
            err_console.print(f"... and {len(report.errors) - 50} more")
        err_console.print(
            f"`upm imports show {report.import_id}` lists them again.", highlight=False
        )
        raise typer.Exit(1)


def _drop_folder_pass(file: Path | None) -> None:
    settings = get_settings()
    with clear_errors():
        if file is not None:
            raise InvalidInput(
                "--drop-folder takes no FILE; it imports the files in UPM_READ_DROP_DIR",
                code="file_with_drop_folder",
            )
        if settings.read_drop_dir is None:
            raise InvalidInput(
                "UPM_READ_DROP_DIR is not set; set it to the folder that receives read files",
                code="read_drop_dir_unset",
            )
        result = import_drop_folder(settings.read_drop_dir, zone=settings.zone, actor=cli_actor())
    for outcome in result.outcomes:
        console.print(
            f"{escape(outcome.name)}: {outcome.status}: {escape(outcome.message)}",
            highlight=False,
        )
    if result.not_ready:
        console.print(
            f"not ready yet (modified in the last few seconds): {', '.join(result.not_ready)}"
        )
    if not result.outcomes and not result.not_ready:
        console.print(f"no read files in {settings.read_drop_dir}")
    if any(outcome.status == "failed" for outcome in result.outcomes):
        raise typer.Exit(1)
