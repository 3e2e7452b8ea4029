"""Importing meter reads from files, in every format upm reads.

The formats: register-read CSV, interval CSV, Green Button XML, Badger BEACON exports,
wmbusmeters JSON lines, and CSV files described by a mapping file. The storing code of
the newer formats lives in ``app.meters.import_formats``.

Every import stores the file first (known by its SHA-256), then parses it. Good rows
land; each bad row is kept in ``read_import_errors`` with its line number and reason.
Importing a file again stores nothing new. The same file is recognised by its hash. A
read already on file (same register and instant) counts as a duplicate, or is kept for
review as a ``duplicate-conflict`` when its value differs. After storing, the import
calls ``app.meters.after_store.reads_stored`` with the registers that received reads.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.bulk import cyclic_gc_paused
from app.errors import InvalidInput
from app.meters.after_store import reads_stored
from app.meters.import_formats.beacon import import_beacon
from app.meters.import_formats.common import (
    ImportReport,
    ReadFormat,
    decode_text,
    resolve_register_reads,
    store_register_reads,
)
from app.meters.import_formats.intervals import interval_register, store_intervals
from app.meters.import_formats.mapped import import_mapped
from app.meters.import_formats.wmbus import import_wmbus
from app.meters.models import ReadImport, ReadImportError
from metering.greenbutton import parse_green_button
from metering.interval_csv import parse_interval_csv
from metering.mapped_csv import ReadMapping
from metering.register_csv import parse_register_csv, split_physical_lines
from metering.types import IntervalRead as ParsedInterval
from metering.types import ReadFileError, RowError

__all__ = ["ImportReport", "ReadFormat", "guess_format", "import_reads"]

log = logging.getLogger(__name__)

#: Bytes of a file read to guess its format from the header line.
_HEADER_BYTES = 64 * 1024


def guess_format(filename: str, content: bytes | None = None) -> ReadFormat:
    """Return the format of a file from its extension and, for CSV, its header line.

    ``.xml`` is Green Button and ``.json`` or ``.jsonl`` is wmbusmeters output. A CSV
    whose header has ``Meter_ID`` and ``Read_Unit`` is a BEACON export, one whose header
    is exactly ``start`` and ``value`` is an interval CSV, and any other CSV is read as
    a register-read CSV. A mapped CSV cannot be guessed, because a mapping must be given.
    """
    lowered = filename.lower()
    if lowered.endswith(".xml"):
        return ReadFormat.GREENBUTTON
    if lowered.endswith((".json", ".jsonl")):
        return ReadFormat.WMBUS
    if lowered.endswith(".csv"):
        columns = _header_columns(content) if content is not None else set()
        if {"meter_id", "read_unit"} <= columns:
            return ReadFormat.BEACON
        if columns == {"start", "value"}:
            return ReadFormat.INTERVAL
        return ReadFormat.CSV
    raise InvalidInput(
        f"cannot tell the format of {filename!r} from its name; pass --format with one of "
        f"{', '.join(ReadFormat)}",
        code="unknown_read_format",
    )


def _header_columns(content: bytes) -> set[str]:
    text = content[:_HEADER_BYTES].decode("utf-8-sig", errors="replace")
    header = next((line for line in split_physical_lines(text) if line.strip()), "")
    return {name.strip().casefold() for name in next(csv.reader([header]), [])}


def import_reads(
    session: Session,
    *,
    filename: str,
    content: bytes,
    file_format: ReadFormat,
    zone: ZoneInfo,
    actor: str,
    meter_serial: str | None = None,
    interval_minutes: int = 60,
    mapping: ReadMapping | None = None,
) -> ImportReport:
    """Store ``content`` and the reads in it; see the module docstring for the rules.

    ``meter_serial`` names the meter of an interval CSV or Green Button file.
    ``interval_minutes`` is the interval length of an interval CSV and of a BEACON
    export's Flow. ``mapping`` is required for the mapped format.
    """
    if file_format == ReadFormat.MAPPED and mapping is None:
        raise InvalidInput(
            f"{filename}: the mapped format needs a mapping file; pass --mapping FILE.toml",
            code="read_mapping_missing",
        )
    digest = hashlib.sha256(content).hexdigest()
    previous = session.scalar(select(ReadImport).where(ReadImport.sha256 == digest))
    if previous is not None and previous.rows_failed == 0:
        return ImportReport(
            import_id=previous.id,
            filename=filename,
            file_format=ReadFormat(previous.file_format),
            already_imported=True,
            rows_read=previous.rows_read,
        )
    stored_before = 0
    if previous is not None:
        # The same file again after some rows failed. The fix may have been made on our
        # side (a meter added), so process it again, and reads stored before count as
        # duplicates.
        batch = previous
        stored_before = previous.rows_stored
        batch.file_format = file_format
        session.execute(delete(ReadImportError).where(ReadImportError.import_id == batch.id))
    else:
        batch = ReadImport(
            filename=filename[-260:], sha256=digest, file_format=file_format, content=content
        )
        session.add(batch)
    session.flush()
    report = ImportReport(batch.id, filename, file_format, already_imported=False)
    try:
        with cyclic_gc_paused():
            _import_format(
                session, batch.id, content, zone, meter_serial, interval_minutes, mapping, report
            )
    except ReadFileError as exc:
        raise InvalidInput(f"{filename}: {exc}", code="read_file_invalid") from exc
    report.errors = _one_error_per_line(report.errors)
    batch.rows_read = report.rows_read
    # The import's total: what earlier passes over the same file stored, and this one.
    batch.rows_stored = stored_before + report.rows_stored
    batch.rows_failed = len(report.errors)
    for error in report.errors:
        session.add(
            ReadImportError(
                import_id=batch.id,
                line_number=error.line_number,
                raw=error.raw[:2000],
                reason=error.reason,
            )
        )
    record(
        session,
        actor=actor,
        action="reads.import",
        target=f"read_import:{batch.id}",
        arguments={"filename": filename, "format": str(file_format), "sha256": digest},
        outcome="imported" if not report.errors else "imported_with_errors",
        detail=(
            f"{report.rows_stored} stored, {report.rows_duplicate} already on file, "
            f"{len(report.errors)} kept for review"
        ),
    )
    session.flush()
    if report.register_ids or report.interval_register_ids:
        reads_stored(
            session,
            register_ids=sorted(report.register_ids),
            interval_register_ids=sorted(report.interval_register_ids),
            interval_spans=report.interval_spans,
        )
    log.info(
        "read import %s (%s): %d read, %d stored, %d duplicates, %d errors",
        batch.id,
        file_format,
        report.rows_read,
        report.rows_stored,
        report.rows_duplicate,
        len(report.errors),
    )
    return report


def _import_format(
    session: Session,
    import_id: int,
    content: bytes,
    zone: ZoneInfo,
    meter_serial: str | None,
    interval_minutes: int,
    mapping: ReadMapping | None,
    report: ImportReport,
) -> None:
    file_format = report.file_format
    if file_format == ReadFormat.CSV:
        _import_register_csv(session, import_id, content, zone, report)
    elif file_format == ReadFormat.INTERVAL:
        _import_interval_csv(session, import_id, content, meter_serial, interval_minutes, report)
    elif file_format == ReadFormat.GREENBUTTON:
        _import_green_button(session, import_id, content, meter_serial, report)
    elif file_format == ReadFormat.BEACON:
        import_beacon(session, import_id, content, zone, interval_minutes, report)
    elif file_format == ReadFormat.WMBUS:
        import_wmbus(session, import_id, content, zone, report)
    else:
        assert mapping is not None
        import_mapped(session, import_id, content, mapping, zone, report)


def _one_error_per_line(errors: list[RowError]) -> list[RowError]:
    """Join the reasons of errors on the same line, which is kept once for review."""
    merged: dict[int, RowError] = {}
    for error in errors:
        earlier = merged.get(error.line_number)
        if earlier is None:
            merged[error.line_number] = error
        else:
            merged[error.line_number] = RowError(
                error.line_number, earlier.raw, f"{earlier.reason} {error.reason}"
            )
    return [merged[line] for line in sorted(merged)]


def _import_register_csv(
    session: Session, import_id: int, content: bytes, zone: ZoneInfo, report: ImportReport
) -> None:
    parsed = parse_register_csv(decode_text(content), zone)
    report.rows_read = len(parsed.reads) + len(parsed.errors)
    report.errors.extend(parsed.errors)
    values = resolve_register_reads(session, parsed.reads, report, "the serial")
    store_register_reads(session, import_id, values, report)
    report.errors.sort(key=lambda error: error.line_number)


def _import_green_button(
    session: Session,
    import_id: int,
    content: bytes,
    meter_serial: str | None,
    report: ImportReport,
) -> None:
    feed = parse_green_button(content)
    points = [point for point in feed.usage_points if point.intervals or point.errors]
    report.errors.extend(feed.errors)
    for point in points:
        report.errors.extend(point.errors)
    intervals: list[ParsedInterval] = [i for point in points for i in point.intervals]
    report.rows_read = len(intervals) + len(report.errors)
    if not intervals:
        return
    if len(points) > 1:
        raise ReadFileError(
            f"the feed has {len(points)} usage points with readings; split it into one file "
            "per meter and import each with --meter"
        )
    register_id, unit = interval_register(session, meter_serial, "a Green Button file")
    units = {interval.unit for interval in intervals}
    if units != {unit}:
        raise ReadFileError(
            f"the feed's readings are in {', '.join(sorted(units))} but meter {meter_serial}'s "
            f"interval register is in {unit}; use a register in the feed's unit"
        )
    store_intervals(session, import_id, register_id, intervals, report)


def _import_interval_csv(
    session: Session,
    import_id: int,
    content: bytes,
    meter_serial: str | None,
    interval_minutes: int,
    report: ImportReport,
) -> None:
    register_id, unit = interval_register(session, meter_serial, "an interval CSV file")
    parsed = parse_interval_csv(decode_text(content), unit, interval_minutes * 60)
    report.rows_read = len(parsed.reads) + len(parsed.errors)
    report.errors.extend(parsed.errors)
    store_intervals(session, import_id, register_id, parsed.reads, report)
