"""Importing meter reads from files: register-read CSV and Green Button interval data.

Every import stores the file first (known by its SHA-256), then parses it. Good rows
land; each bad row is kept in ``read_import_errors`` with its line number and reason.
Importing a file again stores nothing new. The same file is recognised by its hash. A
read already on file (same register and instant) counts as a duplicate, or is kept for
review as a conflict when its value differs.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import insert_ignoring_duplicates
from app.errors import InvalidInput
from app.meters.models import (
    IntervalRead,
    Meter,
    Read,
    ReadImport,
    ReadImportError,
    ReadQuality,
    ReadType,
    Register,
    read_key,
)
from metering.greenbutton import parse_green_button
from metering.interval_csv import parse_interval_csv
from metering.register_csv import parse_register_csv
from metering.types import IntervalRead as ParsedInterval
from metering.types import ReadFileError, RegisterRead, RowError

log = logging.getLogger(__name__)

BATCH = 1000


class ReadFormat(enum.StrEnum):
    CSV = "csv"
    INTERVAL = "interval"
    GREENBUTTON = "greenbutton"


@dataclass
class ImportReport:
    import_id: int
    filename: str
    file_format: ReadFormat
    already_imported: bool
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    errors: list[RowError] = field(default_factory=list)


def guess_format(filename: str) -> ReadFormat:
    lowered = filename.lower()
    if lowered.endswith(".xml"):
        return ReadFormat.GREENBUTTON
    if lowered.endswith(".csv"):
        return ReadFormat.CSV
    raise InvalidInput(
        f"cannot tell the format of {filename!r} from its name; pass --format with csv, "
        "interval or greenbutton",
        code="unknown_read_format",
    )


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
) -> ImportReport:
    """Store ``content`` and the reads in it; see the module docstring for the rules."""
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
    if previous is not None:
        # The same file again after some rows failed. The fix may have been made on our
        # side (a meter added), so process it again, and reads stored before count as
        # duplicates.
        batch = previous
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
        if file_format == ReadFormat.CSV:
            _import_register_csv(session, batch.id, content, zone, report)
        elif file_format == ReadFormat.INTERVAL:
            _import_interval_csv(
                session, batch.id, content, meter_serial, interval_minutes, report
            )
        else:
            _import_green_button(session, batch.id, content, meter_serial, report)
    except ReadFileError as exc:
        raise InvalidInput(f"{filename}: {exc}", code="read_file_invalid") from exc
    batch.rows_read = report.rows_read
    batch.rows_stored = report.rows_stored
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


def _registers_for(
    session: Session, serials: Iterable[str]
) -> dict[tuple[str, str], tuple[int, str]]:
    unique_serials = sorted(set(serials))
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for start in range(0, len(unique_serials), BATCH):
        rows = session.execute(
            select(Meter.serial, Register.code, Register.id, Register.unit)
            .join(Register, Register.meter_id == Meter.id)
            .where(Meter.serial.in_(unique_serials[start : start + BATCH]))
        )
        for serial, code, register_id, unit in rows:
            found[(serial, code)] = (register_id, unit)
    return found


def _import_register_csv(
    session: Session, import_id: int, content: bytes, zone: ZoneInfo, report: ImportReport
) -> None:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadFileError(
            f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from exc
    parsed = parse_register_csv(text, zone)
    report.rows_read = len(parsed.reads) + len(parsed.errors)
    report.errors.extend(parsed.errors)
    registers = _registers_for(session, (read.meter_serial for read in parsed.reads))
    rows: dict[tuple[int, str], tuple[RegisterRead, dict[str, Any]]] = {}
    for read in parsed.reads:
        target = registers.get((read.meter_serial, read.register))
        if target is None:
            report.errors.append(
                _row_error(
                    read,
                    (
                        f"meter {read.meter_serial!r} register {read.register!r} not found; "
                        "correct the serial, or have the meter added, then import the file "
                        "again"
                    ),
                )
            )
            continue
        register_id, unit = target
        if read.unit != unit:
            report.errors.append(
                _row_error(
                    read,
                    (
                        f"unit {read.unit!r} does not match the register's unit {unit!r} for meter "
                        f"{read.meter_serial}; correct the unit column"
                    ),
                )
            )
            continue
        key = read_key(read.read_date, read.read_at)
        row = {
            "register_id": register_id,
            "read_key": key,
            "read_date": read.read_date,
            "read_at": read.read_at,
            "value": read.value,
            "read_type": ReadType(read.read_type.value),
            "quality": ReadQuality.GOOD,
            "source": read.source[:40],
            "import_id": import_id,
            "created_at": dt.datetime.now(dt.UTC),
        }
        earlier = rows.get((register_id, key))
        if earlier is not None:
            if earlier[1]["value"] == read.value:
                report.rows_duplicate += 1
            else:
                report.errors.append(
                    _row_error(
                        read,
                        (
                            f"conflicts with line {earlier[0].line_number}: value "
                            f"{read.value} vs {earlier[1]['value']} for the same meter and "
                            "time; the first is kept, correct the other"
                        ),
                    )
                )
            continue
        rows[(register_id, key)] = (read, row)
    existing = _existing_reads(session, list(rows))
    new_rows = []
    for (register_id, key), (read, row) in rows.items():
        stored = existing.get((register_id, key))
        if stored is None:
            new_rows.append(row)
        elif stored == read.value:
            report.rows_duplicate += 1
        else:
            report.errors.append(
                _row_error(
                    read,
                    (
                        f"conflicts with the stored read of {stored} for meter "
                        f"{read.meter_serial} at {key}; the stored read is kept, correct one "
                        "of them"
                    ),
                )
            )
    report.rows_stored = insert_ignoring_duplicates(
        session, Read, new_rows, ["register_id", "read_key"]
    )
    report.errors.sort(key=lambda error: error.line_number)


def _row_error(read: RegisterRead, reason: str) -> RowError:
    return RowError(read.line_number, f"{read.meter_serial},{read.register},{read.value}", reason)


def _existing_reads(
    session: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], Any]:
    existing: dict[tuple[int, str], Any] = {}
    by_register: dict[int, list[str]] = {}
    for register_id, key in keys:
        by_register.setdefault(register_id, []).append(key)
    register_ids = sorted(by_register)
    for start in range(0, len(register_ids), BATCH):
        chunk = register_ids[start : start + BATCH]
        rows = session.execute(
            select(Read.register_id, Read.read_key, Read.value).where(Read.register_id.in_(chunk))
        )
        for register_id, key, value in rows:
            existing[(register_id, key)] = value
    return existing


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
    register_id, unit = _interval_register(session, meter_serial, "a Green Button file")
    units = {interval.unit for interval in intervals}
    if units != {unit}:
        raise ReadFileError(
            f"the feed's readings are in {', '.join(sorted(units))} but meter {meter_serial}'s "
            f"interval register is in {unit}; use a register in the feed's unit"
        )
    _store_intervals(session, import_id, register_id, intervals, report)


def _import_interval_csv(
    session: Session,
    import_id: int,
    content: bytes,
    meter_serial: str | None,
    interval_minutes: int,
    report: ImportReport,
) -> None:
    register_id, unit = _interval_register(session, meter_serial, "an interval CSV file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadFileError(
            f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from exc
    parsed = parse_interval_csv(text, unit, interval_minutes * 60)
    report.rows_read = len(parsed.reads) + len(parsed.errors)
    report.errors.extend(parsed.errors)
    _store_intervals(session, import_id, register_id, parsed.reads, report)


def _interval_register(
    session: Session, meter_serial: str | None, source: str
) -> tuple[int, str]:
    """Return the id and unit of the interval register of the meter ``--meter`` names."""
    if meter_serial is None:
        raise ReadFileError(
            f"{source} does not name the utility's meter; pass --meter SERIAL of the "
            "meter whose interval register receives the readings"
        )
    register = session.execute(
        select(Register.id, Register.unit)
        .join(Meter, Meter.id == Register.meter_id)
        .where(Meter.serial == meter_serial, Register.interval.is_(True))
    ).first()
    if register is None:
        known = session.scalar(select(Meter.id).where(Meter.serial == meter_serial))
        if known is None:
            raise ReadFileError(f"meter {meter_serial!r} not found; check the --meter serial")
        raise ReadFileError(
            f"meter {meter_serial!r} has no interval register, so it cannot take interval "
            "readings; pass the serial of an interval meter"
        )
    return register.id, register.unit


def _store_intervals(
    session: Session,
    import_id: int,
    register_id: int,
    intervals: Sequence[ParsedInterval],
    report: ImportReport,
) -> None:
    if not intervals:
        return
    first = min(interval.start for interval in intervals)
    last = max(interval.start for interval in intervals)
    before = _count_intervals(session, register_id, first, last)
    rows = [
        {
            "register_id": register_id,
            "start_at": interval.start,
            "seconds": interval.seconds,
            "value": interval.value,
            "quality": interval.quality,
            "import_id": import_id,
        }
        for interval in intervals
    ]
    insert_ignoring_duplicates(session, IntervalRead, rows, ["register_id", "start_at"])
    report.rows_stored = _count_intervals(session, register_id, first, last) - before
    report.rows_duplicate = len(intervals) - report.rows_stored


def _count_intervals(
    session: Session, register_id: int, first: dt.datetime, last: dt.datetime
) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                IntervalRead.register_id == register_id,
                IntervalRead.start_at >= first,
                IntervalRead.start_at <= last,
            )
        )
        or 0
    )
