"""Storing interval reads: COPY through a temporary table on PostgreSQL, batches on SQLite.

An interval is stored once per register and start instant. A second copy with the same
value counts as a duplicate. One with another value is a ``duplicate-conflict``: the
value received first stays. When the caller passes the line each interval came from,
the conflicting line is kept for review. Otherwise the conflict is counted as a
duplicate, because the file format gives no line to point at.

On PostgreSQL, when none of the registers has a stored interval in the span of the new
ones (the usual case: each file brings new days), the rows go by ``COPY`` straight into
``interval_reads``. Otherwise, or when a concurrent import stored some of the same
intervals first, they go by ``COPY`` into a temporary table and then by one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into ``interval_reads``. Its row count
is the exact number stored, and a join finds the conflicts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, Protocol, cast
from zoneinfo import ZoneInfo

from psycopg.errors import UniqueViolation
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates
from app.meters.import_formats.common import DUPLICATE_CONFLICT, ImportReport
from app.meters.models import IntervalRead, Meter, Register
from metering.types import ReadFileError, RowError

log = logging.getLogger(__name__)

_STAGING_TABLE = "incoming_interval_reads"
_COLUMNS = "register_id, start_at, seconds, value, quality, import_id"
_COPY_TYPES = ["int4", "timestamptz", "int4", "numeric", "varchar", "int4"]


class IntervalValues(Protocol):
    """The fields of an interval that storing reads, as ``metering.types.IntervalRead`` has."""

    @property
    def start(self) -> dt.datetime: ...
    @property
    def seconds(self) -> int: ...
    @property
    def value(self) -> Decimal: ...
    @property
    def quality(self) -> str | None: ...


class SourcedInterval(IntervalValues, Protocol):
    """An interval with the line of the file it came from, for a conflict kept for review."""

    @property
    def line_number(self) -> int: ...
    @property
    def raw(self) -> str: ...


class LineInterval(NamedTuple):
    """An interval and its line, for formats whose parsed intervals do not carry one."""

    start: dt.datetime
    seconds: int
    value: Decimal
    quality: str | None
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
    """The intervals of one register, and the index of the first interval of each start."""

    register_id: int
    intervals: Sequence[IntervalValues]
    #: Whether ``intervals`` are ``SourcedInterval``, whose conflicts are kept for review.
    sourced: bool
    #: Index of the first interval of each start, the ones that are stored.
    unique_indexes: Sequence[int] = ()
    low: dt.datetime | None = None
    high: dt.datetime | None = None
    #: The utility's zone, in which a conflict names the interval's start.
    zone: ZoneInfo | None = None


def store_intervals(
    session: Session,
    import_id: int,
    register_id: int,
    intervals: Sequence[IntervalValues],
    report: ImportReport,
) -> None:
    """Store ``intervals`` of one register and add the counts to ``report``."""
    _store_batches(session, import_id, [_Batch(register_id, intervals, False)], report)


def store_interval_groups(
    session: Session,
    import_id: int,
    groups: Mapping[int, Sequence[SourcedInterval]],
    report: ImportReport,
    zone: ZoneInfo | None = None,
) -> None:
    """Store intervals grouped by register id, each with the line it came from.

    A conflict kept for review names the interval's start in ``zone`` as well as in UTC.
    """
    batches = [_Batch(register_id, items, True, zone=zone) for register_id, items in groups.items()]
    _store_batches(session, import_id, batches, report)


def _store_batches(
    session: Session, import_id: int, batches: list[_Batch], report: ImportReport
) -> None:
    batches = [batch for batch in batches if batch.intervals]
    if not batches:
        return
    for batch in batches:
        _keep_first_of_each_start(batch, report)

    if session.get_bind().dialect.name == "postgresql":
        stored, conflicts = _copy_postgres(session, import_id, batches)
    else:
        stored, conflicts = _insert_batches(session, import_id, batches)
    for batch in batches:
        count = stored.get(batch.register_id, 0)
        report.rows_stored += count
        report.rows_duplicate += len(batch.unique_indexes) - count
        if count:
            report.interval_register_ids.add(batch.register_id)
            assert batch.low is not None and batch.high is not None
            low, high = report.interval_spans.get(batch.register_id, (batch.low, batch.high))
            report.interval_spans[batch.register_id] = (min(low, batch.low), max(high, batch.high))
    for batch in batches:
        if batch.register_id not in conflicts:
            continue
        index_by_start = {batch.intervals[index].start: index for index in batch.unique_indexes}
        for start, stored_value in sorted(conflicts[batch.register_id]):
            index = index_by_start[start]
            _conflict(report, batch, index, stored_value)


def _keep_first_of_each_start(batch: _Batch, report: ImportReport) -> None:
    """Set the batch's unique indexes and span; count and report repeated starts."""
    intervals = batch.intervals
    starts = [interval.start for interval in intervals]
    batch.low, batch.high = min(starts), max(starts)
    if len(set(starts)) == len(starts):
        batch.unique_indexes = range(len(starts))  # the usual case: no start repeats
        return
    unique: dict[dt.datetime, int] = {}
    for index, start in enumerate(starts):
        first = unique.setdefault(start, index)
        if first == index:
            continue
        report.rows_duplicate += 1
        if intervals[index].value != intervals[first].value:
            _conflict(report, batch, index, intervals[first].value)
    batch.unique_indexes = list(unique.values())


def _conflict(report: ImportReport, batch: _Batch, index: int, first_value: object) -> None:
    if not batch.sourced:
        return
    interval = cast(SourcedInterval, batch.intervals[index])
    # The duplicate was counted already; as a conflict it is kept for review instead.
    report.rows_duplicate -= 1
    report.errors.append(
        RowError(
            interval.line_number,
            interval.raw,
            (
                f"{DUPLICATE_CONFLICT}: interval starting "
                f"{_instant(interval.start, batch.zone)} has value {_plain(interval.value)} "
                f"but {_plain(first_value)} was received first; the first value stays stored "
                "and this row is kept for review"
            ),
        )
    )


def _instant(start: dt.datetime, zone: ZoneInfo | None) -> str:
    """Return ``start`` in UTC, after the utility's local time when ``zone`` is given."""
    utc = start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if zone is None:
        return utc
    return f"{start.astimezone(zone):%Y-%m-%d %H:%M %Z} ({utc})"


def _plain(value: object) -> str:
    """Return a stored quantity without the zeros of its scale (0.000000 to 0)."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _copy_postgres(
    session: Session, import_id: int, batches: list[_Batch]
) -> tuple[dict[int, int], dict[int, list[tuple[dt.datetime, Decimal]]]]:
    """Store the unique intervals that are new; see the module's description.

    Return the count stored per register, and the (start, stored value) of each unique
    interval whose value differs from the one already stored.
    """
    if not _any_stored(session, batches):
        try:
            with session.begin_nested():
                _copy_rows(session, "interval_reads", import_id, batches)
        except UniqueViolation:
            # A concurrent import stored some of these intervals first. The COPY runs on
            # the driver's connection, so psycopg's own error arrives, not SQLAlchemy's.
            log.info("intervals of import %s met a concurrent import; staging them", import_id)
        else:
            return {batch.register_id: len(batch.unique_indexes) for batch in batches}, {}
    return _copy_through_staging(session, import_id, batches)


def _any_stored(session: Session, batches: list[_Batch]) -> bool:
    """Return whether any register has a stored interval in the span of its new ones."""
    found = session.execute(
        text(
            "SELECT 1 FROM unnest(CAST(:ids AS integer[]), CAST(:lows AS timestamptz[]), "
            "CAST(:highs AS timestamptz[])) AS span (register_id, low, high) "
            "WHERE EXISTS (SELECT 1 FROM interval_reads AS stored "
            "WHERE stored.register_id = span.register_id "
            "AND stored.start_at BETWEEN span.low AND span.high) LIMIT 1"
        ),
        {
            "ids": [batch.register_id for batch in batches],
            "lows": [batch.low for batch in batches],
            "highs": [batch.high for batch in batches],
        },
    ).first()
    return found is not None


def _copy_rows(session: Session, table: str, import_id: int, batches: list[_Batch]) -> None:
    """COPY the unique intervals into ``table`` in binary, the quickest way psycopg has."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_COPY_TYPES)
            write_row = copy.write_row
            for batch in batches:
                register_id = batch.register_id
                intervals = batch.intervals
                unique = (
                    intervals
                    if batch.unique_indexes == range(len(intervals))
                    else [intervals[index] for index in batch.unique_indexes]
                )
                for interval in unique:
                    write_row(
                        (
                            register_id,
                            interval.start,
                            interval.seconds,
                            interval.value,
                            interval.quality,
                            import_id,
                        )
                    )


def _copy_through_staging(
    session: Session, import_id: int, batches: list[_Batch]
) -> tuple[dict[int, int], dict[int, list[tuple[dt.datetime, Decimal]]]]:
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING_TABLE} "
            "(register_id integer, start_at timestamptz, seconds integer, "
            "value numeric(18, 6), quality varchar(20), import_id integer) "
            "ON COMMIT DELETE ROWS"
        )
    )
    session.execute(text(f"TRUNCATE {_STAGING_TABLE}"))
    _copy_rows(session, _STAGING_TABLE, import_id, batches)
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
    counts: dict[int, int] = {row[0]: row[1] for row in inserted}
    conflicts: dict[int, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    if sum(counts.values()) == sum(len(batch.unique_indexes) for batch in batches):
        return counts, conflicts  # every interval was new, so none can conflict
    # A join would do, but the staging table has no statistics, so the planner may hash
    # the whole of interval_reads for a few rows. A subquery per row uses the index.
    differing = session.execute(
        text(
            "SELECT pair.register_id, pair.start_at, pair.stored FROM "  # noqa: S608
            "(SELECT incoming.register_id, incoming.start_at, incoming.value, "
            "(SELECT existing.value FROM interval_reads AS existing "
            "WHERE existing.register_id = incoming.register_id "
            "AND existing.start_at = incoming.start_at) AS stored "
            f"FROM {_STAGING_TABLE} AS incoming) AS pair WHERE pair.stored <> pair.value"
        )
    ).all()
    for row in differing:
        conflicts[row[0]].append((row[1], row[2]))
    return counts, conflicts


def _insert_batches(
    session: Session, import_id: int, batches: list[_Batch]
) -> tuple[dict[int, int], dict[int, list[tuple[dt.datetime, Decimal]]]]:
    """Insert the unique intervals of each register that are not stored yet; see above."""
    stored: dict[int, int] = {}
    conflicts: dict[int, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for batch in batches:
        starts = [batch.intervals[index].start for index in batch.unique_indexes]
        existing = session.execute(
            select(IntervalRead.start_at, IntervalRead.value).where(
                IntervalRead.register_id == batch.register_id,
                IntervalRead.start_at >= min(starts),
                IntervalRead.start_at <= max(starts),
            )
        ).all()
        stored_values: dict[dt.datetime, Decimal] = {row[0]: row[1] for row in existing}
        rows = []
        for index in batch.unique_indexes:
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
