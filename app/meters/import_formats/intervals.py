"""Storing interval reads: COPY through a temporary table on PostgreSQL, batches on SQLite.

An interval is stored once per register and start instant. A second copy with the same
value counts as a duplicate. One with another value is a ``duplicate-conflict``: the
value received first stays. When the caller passes the line each interval came from,
the conflicting line is kept for review. Otherwise the conflict is counted as a
duplicate, because the file format gives no line to point at.

On PostgreSQL the rows go by ``COPY`` into a temporary table and then by one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into ``interval_reads``. Its row count
is the exact number stored, and a join finds the conflicts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates
from app.meters.import_formats.common import DUPLICATE_CONFLICT, ImportReport
from app.meters.models import IntervalRead, Meter, Register
from metering.types import IntervalRead as ParsedInterval
from metering.types import ReadFileError, RowError

_STAGING_TABLE = "incoming_interval_reads"
_COLUMNS = "register_id, start_at, seconds, value, quality, import_id"


@dataclass(frozen=True)
class IntervalSource:
    """The line of the file an interval came from, for a conflict kept for review."""

    line_number: int
    raw: str


def interval_register(session: Session, meter_serial: str | None, source: str) -> tuple[int, str]:
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


@dataclass
class _Batch:
    """The intervals of one register, the first index of each start, and their lines."""

    register_id: int
    intervals: Sequence[ParsedInterval]
    sources: Sequence[IntervalSource] | None
    kept: list[int] = field(default_factory=list)


def store_intervals(
    session: Session,
    import_id: int,
    register_id: int,
    intervals: Sequence[ParsedInterval],
    report: ImportReport,
    sources: Sequence[IntervalSource] | None = None,
) -> None:
    """Store ``intervals`` of one register and add the counts to ``report``.

    ``sources``, when given, contains the line of each interval, in the same order.
    """
    _store_batches(session, import_id, [_Batch(register_id, intervals, sources)], report)


def store_interval_groups(
    session: Session,
    import_id: int,
    groups: Mapping[int, Sequence[tuple[ParsedInterval, IntervalSource]]],
    report: ImportReport,
) -> None:
    """Store intervals grouped by register id, each with the line it came from."""
    batches = [
        _Batch(
            register_id,
            [interval for interval, _source in pairs],
            [source for _interval, source in pairs],
        )
        for register_id, pairs in groups.items()
    ]
    _store_batches(session, import_id, batches, report)


def _store_batches(
    session: Session, import_id: int, batches: list[_Batch], report: ImportReport
) -> None:
    batches = [batch for batch in batches if batch.intervals]
    if not batches:
        return
    for batch in batches:
        unique: dict[dt.datetime, int] = {}
        for index, interval in enumerate(batch.intervals):
            first = unique.setdefault(interval.start, index)
            if first == index:
                continue
            report.rows_duplicate += 1
            if interval.value != batch.intervals[first].value:
                _conflict(report, batch.sources, index, batch.intervals[first].value, interval)
        batch.kept = list(unique.values())

    if session.get_bind().dialect.name == "postgresql":
        stored, conflicts = _copy_postgres(session, import_id, batches)
    else:
        stored, conflicts = _insert_batches(session, import_id, batches)
    for batch in batches:
        count = stored.get(batch.register_id, 0)
        report.rows_stored += count
        report.rows_duplicate += len(batch.kept) - count
        if count:
            report.interval_register_ids.add(batch.register_id)
    for batch in batches:
        index_by_start = {batch.intervals[index].start: index for index in batch.kept}
        for start, stored_value in sorted(conflicts.get(batch.register_id, [])):
            index = index_by_start[start]
            _conflict(report, batch.sources, index, stored_value, batch.intervals[index])


def _conflict(
    report: ImportReport,
    sources: Sequence[IntervalSource] | None,
    index: int,
    kept_value: object,
    interval: ParsedInterval,
) -> None:
    if sources is None:
        return
    source = sources[index]
    # The duplicate was counted already; as a conflict it is kept for review instead.
    report.rows_duplicate -= 1
    report.errors.append(
        RowError(
            source.line_number,
            source.raw,
            (
                f"{DUPLICATE_CONFLICT}: interval starting {interval.start.isoformat()} has "
                f"value {interval.value} but {kept_value} was received first; the first is "
                "kept, correct the other"
            ),
        )
    )


def _copy_postgres(
    session: Session, import_id: int, batches: list[_Batch]
) -> tuple[dict[int, int], dict[int, list[tuple[dt.datetime, Decimal]]]]:
    """COPY the kept intervals into a staging table, then insert the new ones.

    Return the count stored per register, and the (start, stored value) of each kept
    interval whose value differs from the one already stored.
    """
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING_TABLE} "
            "(register_id integer, start_at timestamptz, seconds integer, "
            "value numeric(18, 6), quality varchar(20), import_id integer) "
            "ON COMMIT DELETE ROWS"
        )
    )
    session.execute(text(f"TRUNCATE {_STAGING_TABLE}"))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {_STAGING_TABLE} ({_COLUMNS}) FROM STDIN") as copy:
            for batch in batches:
                for index in batch.kept:
                    interval = batch.intervals[index]
                    copy.write_row(
                        (
                            batch.register_id,
                            interval.start,
                            interval.seconds,
                            interval.value,
                            interval.quality,
                            import_id,
                        )
                    )
    # Table and column names are constants of this module, never input. The counts are
    # grouped on the server, so only one row per register comes back.
    inserted = session.execute(
        text(
            f"WITH inserted AS (INSERT INTO interval_reads ({_COLUMNS}) "  # noqa: S608
            f"SELECT {_COLUMNS} FROM {_STAGING_TABLE} "
            "ON CONFLICT (register_id, start_at) DO NOTHING RETURNING register_id) "
            "SELECT register_id, count(*) FROM inserted GROUP BY register_id"
        )
    ).all()
    differing = session.execute(
        text(
            "SELECT incoming.register_id, incoming.start_at, stored.value "  # noqa: S608
            f"FROM {_STAGING_TABLE} AS incoming "
            "JOIN interval_reads AS stored ON stored.register_id = incoming.register_id "
            "AND stored.start_at = incoming.start_at WHERE stored.value <> incoming.value"
        )
    ).all()
    conflicts: dict[int, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for row in differing:
        conflicts[row[0]].append((row[1], row[2]))
    counts: dict[int, int] = {row[0]: row[1] for row in inserted}
    return counts, conflicts


def _insert_batches(
    session: Session, import_id: int, batches: list[_Batch]
) -> tuple[dict[int, int], dict[int, list[tuple[dt.datetime, Decimal]]]]:
    """Insert the kept intervals of each register that are not stored yet; see above."""
    stored: dict[int, int] = {}
    conflicts: dict[int, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for batch in batches:
        starts = [batch.intervals[index].start for index in batch.kept]
        existing = session.execute(
            select(IntervalRead.start_at, IntervalRead.value).where(
                IntervalRead.register_id == batch.register_id,
                IntervalRead.start_at >= min(starts),
                IntervalRead.start_at <= max(starts),
            )
        ).all()
        stored_values: dict[dt.datetime, Decimal] = {row[0]: row[1] for row in existing}
        rows = []
        for index in batch.kept:
            interval = batch.intervals[index]
            stored_value = stored_values.get(interval.start)
            if stored_value is None:
                rows.append(
                    {
                        "register_id": batch.register_id,
                        "start_at": interval.start,
                        "seconds": interval.seconds,
                        "value": interval.value,
                        "quality": interval.quality,
                        "import_id": import_id,
                    }
                )
            elif stored_value != interval.value:
                conflicts[batch.register_id].append((interval.start, stored_value))
        stored[batch.register_id] = insert_ignoring_duplicates(
            session, IntervalRead, rows, ["register_id", "start_at"]
        )
    return stored, conflicts
