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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    if not intervals:
        return
    unique: dict[object, int] = {}
    for index, interval in enumerate(intervals):
        first = unique.setdefault(interval.start, index)
        if first == index:
            continue
        report.rows_duplicate += 1
        if interval.value != intervals[first].value:
            _conflict(report, sources, index, intervals[first].value, interval)
    kept = list(unique.values())

    if session.get_bind().dialect.name == "postgresql":
        stored, conflicts = _copy_postgres(session, import_id, register_id, intervals, kept)
    else:
        stored, conflicts = _insert_batches(session, import_id, register_id, intervals, kept)
    report.rows_stored += stored
    report.rows_duplicate += len(kept) - stored
    if stored:
        report.interval_register_ids.add(register_id)
    for index, stored_value in conflicts:
        _conflict(report, sources, index, stored_value, intervals[index])


def store_interval_groups(
    session: Session,
    import_id: int,
    groups: Mapping[int, Sequence[tuple[ParsedInterval, IntervalSource]]],
    report: ImportReport,
) -> None:
    """Store intervals grouped by register id, each with the line it came from."""
    for register_id, pairs in groups.items():
        store_intervals(
            session,
            import_id,
            register_id,
            [interval for interval, _source in pairs],
            report,
            [source for _interval, source in pairs],
        )


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
    session: Session,
    import_id: int,
    register_id: int,
    intervals: Sequence[ParsedInterval],
    kept: Sequence[int],
) -> tuple[int, list[tuple[int, object]]]:
    """COPY the kept intervals into a staging table, then insert the new ones."""
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
            for index in kept:
                interval = intervals[index]
                copy.write_row(
                    (
                        register_id,
                        interval.start,
                        interval.seconds,
                        interval.value,
                        interval.quality,
                        import_id,
                    )
                )
    # Table and column names are constants of this module, never input.
    inserted = session.execute(
        text(
            f"INSERT INTO interval_reads ({_COLUMNS}) SELECT {_COLUMNS} "  # noqa: S608
            f"FROM {_STAGING_TABLE} ON CONFLICT (register_id, start_at) DO NOTHING"
        )
    )
    stored = inserted.rowcount  # type: ignore[attr-defined]
    differing = session.execute(
        text(
            f"SELECT incoming.start_at, stored.value FROM {_STAGING_TABLE} AS incoming "  # noqa: S608
            "JOIN interval_reads AS stored ON stored.register_id = incoming.register_id "
            "AND stored.start_at = incoming.start_at WHERE stored.value <> incoming.value"
        )
    ).all()
    return stored, _conflicts_by_index(intervals, kept, differing)


def _insert_batches(
    session: Session,
    import_id: int,
    register_id: int,
    intervals: Sequence[ParsedInterval],
    kept: Sequence[int],
) -> tuple[int, list[tuple[int, object]]]:
    starts = [intervals[index].start for index in kept]
    existing = session.execute(
        select(IntervalRead.start_at, IntervalRead.value).where(
            IntervalRead.register_id == register_id,
            IntervalRead.start_at >= min(starts),
            IntervalRead.start_at <= max(starts),
        )
    ).all()
    stored_values = dict(existing)
    differing = [
        (intervals[index].start, stored_values[intervals[index].start])
        for index in kept
        if intervals[index].start in stored_values
        and stored_values[intervals[index].start] != intervals[index].value
    ]
    rows = [
        {
            "register_id": register_id,
            "start_at": intervals[index].start,
            "seconds": intervals[index].seconds,
            "value": intervals[index].value,
            "quality": intervals[index].quality,
            "import_id": import_id,
        }
        for index in kept
        if intervals[index].start not in stored_values
    ]
    stored = insert_ignoring_duplicates(session, IntervalRead, rows, ["register_id", "start_at"])
    return stored, _conflicts_by_index(intervals, kept, differing)


def _conflicts_by_index(
    intervals: Sequence[ParsedInterval], kept: Sequence[int], differing: Sequence[Sequence[object]]
) -> list[tuple[int, object]]:
    """Return (index into ``intervals``, stored value) for each differing start."""
    if not differing:
        return []
    index_by_start = {intervals[index].start: index for index in kept}
    return sorted((index_by_start[start], value) for start, value in differing)  # type: ignore[index]
