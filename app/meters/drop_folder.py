"""Importing the read files that vendors and head-end systems drop into a folder.

One pass looks at the files directly inside the folder, imports each one that is ready
and moves it to ``processed/`` or ``failed/`` with a ``NAME.report.txt`` beside it.

A file is ready when its name does not start with ``.`` or end in ``.tmp``, ``.part``
or ``.partial``, and it has not been modified for ``settle_seconds``. A writer should
copy under a temporary name and rename when done. A writer that cannot do that is
still safe when it finishes within ``settle_seconds`` of its last write.

The format is guessed from the name and header (see ``guess_format``). A CSV becomes a
mapped CSV when a mapping file ``PREFIX.mapping.toml`` sits in the folder and the
file's name starts with PREFIX. The longest such prefix wins, and mapping files stay
in the folder for the next file.

``processed/`` holds files that were read, including files with rows kept for review
(the report lists them) and files imported before. ``failed/`` holds files that could not
be read at all (the report says why). Each file is imported in its own transaction
under the named lock ``read-drop:NAME``, and it is moved only after the commit. Two
passes at once therefore import a file once. A crash between commit and move leaves the
file in place, and the next pass finds it already imported and moves it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import lock_name, session_scope
from app.errors import InvalidInput
from app.meters.import_formats.common import ImportReport, ReadFormat
from app.meters.imports import guess_format, import_reads
from metering.mapped_csv import MappingError, ReadMapping, load_mapping

log = logging.getLogger(__name__)

PROCESSED = "processed"
FAILED = "failed"
MAPPING_SUFFIX = ".mapping.toml"
#: Name endings of files still being written under a temporary name.
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial")
#: Rows listed in a report; the rest are counted.
REPORT_ERROR_LIMIT = 200


@dataclass(frozen=True)
class DropOutcome:
    """Outcome of one file in a pass: status ``processed`` or ``failed``, and a summary."""

    name: str
    status: str
    message: str
    import_id: int | None = None


@dataclass
class DropPass:
    """The outcome of each file a pass looked at, and the files not yet ready."""

    outcomes: list[DropOutcome] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)


def import_drop_folder(
    folder: Path,
    *,
    zone: ZoneInfo,
    actor: str = "drop-folder",
    settle_seconds: float = 5.0,
    clock: Callable[[], float] = time.time,
) -> DropPass:
    """Import every ready file in ``folder`` once; see the module docstring."""
    if not folder.is_dir():
        raise InvalidInput(
            f"read drop folder {folder} not found; create it or correct UPM_READ_DROP_DIR",
            code="read_drop_dir_missing",
        )
    result = DropPass()
    mappings = sorted(folder.glob(f"*{MAPPING_SUFFIX}"), key=lambda path: -len(path.name))
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.endswith(MAPPING_SUFFIX):
            continue
        if path.name.startswith(".") or path.name.lower().endswith(TEMPORARY_SUFFIXES):
            continue
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:
            continue  # Another pass moved it.
        if clock() - modified < settle_seconds:
            result.not_ready.append(path.name)
            continue
        outcome = _import_file(path, folder, mappings, zone, actor)
        if outcome is not None:
            result.outcomes.append(outcome)
    return result


def _import_file(
    path: Path, folder: Path, mappings: list[Path], zone: ZoneInfo, actor: str
) -> DropOutcome | None:
    """Import one file, then move it; return None when another pass has taken it.

    The file moves only after the commit, so a crash never leaves an unimported file in
    ``processed/``. A second pass that takes the lock between the commit and the move
    finds the file already imported and moves it itself, with that as its report.
    """
    try:
        with session_scope() as session:
            lock_name(session, f"read-drop:{path.name}")
            if not path.is_file():
                return None
            report = _import(session, path, mappings, zone, actor)
    except IntegrityError:
        # A concurrent pass on SQLite, which has no named locks, stored the same file
        # first. That pass moves it.
        log.info("read drop file %s is being imported by another pass", path.name)
        return None
    except (InvalidInput, MappingError, OSError) as error:
        message = getattr(error, "message", str(error))
        log.warning("read drop file %s failed: %s", path.name, message)
        if _move(path, folder / FAILED, f"failed: {message}\n"):
            return DropOutcome(path.name, FAILED, message)
        return None

    summary = _summary(report)
    if _move(path, folder / PROCESSED, _report_text(report, summary)) is None:
        return None
    log.info("read drop file %s: %s", path.name, summary)
    return DropOutcome(path.name, PROCESSED, summary, report.import_id)


def _import(
    session: Session, path: Path, mappings: list[Path], zone: ZoneInfo, actor: str
) -> ImportReport:
    mapping = _mapping_for(path, mappings)
    file_format = ReadFormat.MAPPED if mapping is not None else None
    content = path.read_bytes()
    return import_reads(
        session,
        filename=path.name,
        content=content,
        file_format=file_format or guess_format(path.name, content),
        zone=zone,
        actor=actor,
        mapping=mapping,
    )


def _mapping_for(path: Path, mappings: list[Path]) -> ReadMapping | None:
    """Return the mapping with the longest prefix of the file's name, if any."""
    if not path.name.lower().endswith(".csv"):
        return None
    for mapping_path in mappings:
        prefix = mapping_path.name.removesuffix(MAPPING_SUFFIX)
        if path.name.startswith(prefix):
            try:
                return load_mapping(mapping_path.read_text(encoding="utf-8"))
            except MappingError as error:
                raise MappingError(f"{mapping_path.name}: {error}") from error
    return None


def _summary(report: ImportReport) -> str:
    if report.already_imported:
        return f"already imported as import {report.import_id}; nothing added"
    return (
        f"import {report.import_id} ({report.file_format}): {report.rows_read} rows read, "
        f"{report.rows_stored} stored, {report.rows_duplicate} already on file, "
        f"{len(report.errors)} kept for review"
    )


def _report_text(report: ImportReport, summary: str) -> str:
    lines = [summary]
    for error in report.errors[:REPORT_ERROR_LIMIT]:
        lines.append(f"line {error.line_number}: {error.reason}")
    if len(report.errors) > REPORT_ERROR_LIMIT:
        lines.append(f"... and {len(report.errors) - REPORT_ERROR_LIMIT} more rows kept for review")
    return "\n".join(lines) + "\n"


def _move(path: Path, target_folder: Path, report_text: str) -> Path | None:
    """Move ``path`` into ``target_folder`` with its report; None if it was gone."""
    target_folder.mkdir(exist_ok=True)
    target = target_folder / path.name
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = target_folder / f"{path.stem}.{stamp}{path.suffix}"
    try:
        path.rename(target)
    except FileNotFoundError:
        return None
    _report_path(target).write_text(report_text, encoding="utf-8")
    return target


def _report_path(moved: Path) -> Path:
    return moved.with_name(moved.name + ".report.txt")
