"""Reading interval reads in bulk, for validation and leak detection.

Both read a window of intervals for thousands of registers at once, each register with
its own window. On PostgreSQL each query sends the windows as arrays and joins them
with ``unnest``, so one statement of fixed text serves any number of registers and
each window is an index range scan. The rows come back as the driver returns them,
without SQLAlchemy's per-value result processing, which took about 70% of the time of
loading 336,000 intervals in a test (1.44 s against 0.44 s). SQLite gets the same results from plain
SQLAlchemy queries, a register at a time where a query needs a ``LIMIT`` per register.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import cast

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.meters.models import IntervalRead

#: Registers per statement on SQLite, whose ``OR`` of ranges grows with each one.
SQLITE_BATCH = 500
#: Rows fetched from PostgreSQL at a time.
FETCH_SIZE = 10_000

#: One register's window: the first start and the last start (None for no end).
Window = tuple[dt.datetime, dt.datetime | None]
#: One interval as stored: register id, start, seconds and value.
IntervalRow = tuple[int, dt.datetime, int, Decimal]

_ROWS_SQL = (
    "SELECT stored.register_id, stored.start_at, stored.seconds, stored.value "
    "FROM unnest(%(ids)s::integer[], %(firsts)s::timestamptz[], %(lasts)s::timestamptz[]) "
    "AS span (register_id, first, last) "
    "CROSS JOIN LATERAL (SELECT register_id, start_at, seconds, value FROM interval_reads "
    "WHERE register_id = span.register_id AND start_at >= span.first "
    "AND start_at <= coalesce(span.last, 'infinity')) AS stored "
    "ORDER BY stored.register_id, stored.start_at"
)
_EDGES_SQL = (
    "SELECT span.register_id, "
    "(SELECT min(before.start_at) FROM (SELECT start_at FROM interval_reads "
    "WHERE register_id = span.register_id AND start_at < span.low "
    "ORDER BY start_at DESC LIMIT %(count)s) AS before), "
    "(SELECT max(after.start_at) FROM (SELECT start_at FROM interval_reads "
    "WHERE register_id = span.register_id AND start_at > span.high "
    "ORDER BY start_at LIMIT %(count)s) AS after) "
    "FROM unnest(%(ids)s::integer[], %(lows)s::timestamptz[], %(highs)s::timestamptz[]) "
    "AS span (register_id, low, high)"
)
_MAX_INTERVAL_SQL = (
    "SELECT span.register_id, (SELECT max(value) FROM interval_reads "
    "WHERE register_id = span.register_id AND start_at >= span.since "
    "AND start_at < span.until) "
    "FROM unnest(%(ids)s::integer[], %(sinces)s::timestamptz[], %(untils)s::timestamptz[]) "
    "AS span (register_id, since, until)"
)


def _on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _session_in_utc(session: Session) -> bool:
    """Return whether the driver returns instants in UTC already.

    It does when the server's TimeZone setting is UTC. Otherwise each start is converted.
    """
    raw = session.connection().connection.driver_connection
    zone = getattr(raw, "info", None) and raw.info.timezone  # type: ignore[union-attr]
    return getattr(zone, "key", None) in _UTC_NAMES


_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})


def interval_rows(session: Session, windows: Mapping[int, Window]) -> Iterator[IntervalRow]:
    """Yield the intervals of each register within its window, by register and start."""
    if not windows:
        return
    if _on_postgres(session):
        ids = sorted(windows)
        result = session.connection().exec_driver_sql(
            _ROWS_SQL,
            {
                "ids": ids,
                "firsts": [windows[register_id][0] for register_id in ids],
                "lasts": [windows[register_id][1] for register_id in ids],
            },
        )
        # The driver's own cursor returns plain tuples, a batch per call, without
        # SQLAlchemy's row objects. Only one batch of rows is in memory at a time.
        in_utc = _session_in_utc(session)
        cursor = result.cursor
        while batch := cursor.fetchmany(FETCH_SIZE):
            for row in batch:
                register_id, start_at, seconds, value = cast(IntervalRow, row)
                if not in_utc:
                    start_at = start_at.astimezone(dt.UTC)
                yield register_id, start_at, seconds, value
        return
    items = sorted(windows.items())
    for offset in range(0, len(items), SQLITE_BATCH):
        conditions = []
        for register_id, (first, last) in items[offset : offset + SQLITE_BATCH]:
            condition = (IntervalRead.register_id == register_id) & (IntervalRead.start_at >= first)
            if last is not None:
                condition &= IntervalRead.start_at <= last
            conditions.append(condition)
        rows = session.execute(
            select(
                IntervalRead.register_id,
                IntervalRead.start_at,
                IntervalRead.seconds,
                IntervalRead.value,
            )
            .where(or_(*conditions))
            .order_by(IntervalRead.register_id, IntervalRead.start_at)
        )
        for row in rows:
            yield cast(IntervalRow, tuple(row))


def neighbour_edges(
    session: Session, spans: Mapping[int, tuple[dt.datetime, dt.datetime]], count: int
) -> dict[int, tuple[dt.datetime, dt.datetime]]:
    """Widen each (first, last) span to take in ``count`` stored intervals on each side."""
    if not spans:
        return {}
    found: list[tuple[int, dt.datetime | None, dt.datetime | None]] = []
    if _on_postgres(session):
        ids = sorted(spans)
        result = session.connection().exec_driver_sql(
            _EDGES_SQL,
            {
                "count": count,
                "ids": ids,
                "lows": [spans[register_id][0] for register_id in ids],
                "highs": [spans[register_id][1] for register_id in ids],
            },
        )
        found = [cast(tuple[int, dt.datetime | None, dt.datetime | None], row) for row in result]
    else:
        for register_id, (low, high) in sorted(spans.items()):
            found.append((register_id, *_sqlite_edges(session, register_id, low, high, count)))
    widened = {}
    for register_id, before, after in found:
        low, high = spans[register_id]
        widened[register_id] = (before or low, after or high)
    return widened


def _sqlite_edges(
    session: Session, register_id: int, low: dt.datetime, high: dt.datetime, count: int
) -> tuple[dt.datetime | None, dt.datetime | None]:
    before = (
        select(IntervalRead.start_at)
        .where(IntervalRead.register_id == register_id, IntervalRead.start_at < low)
        .order_by(IntervalRead.start_at.desc())
        .limit(count)
        .subquery()
    )
    after = (
        select(IntervalRead.start_at)
        .where(IntervalRead.register_id == register_id, IntervalRead.start_at > high)
        .order_by(IntervalRead.start_at)
        .limit(count)
        .subquery()
    )
    return (
        session.scalar(select(func.min(before.c.start_at))),
        session.scalar(select(func.max(after.c.start_at))),
    )


def max_interval_before(
    session: Session, starts: Mapping[int, dt.datetime], history: dt.timedelta
) -> dict[int, Decimal]:
    """Return each register's largest interval in the ``history`` before its start."""
    if not starts:
        return {}
    if _on_postgres(session):
        ids = sorted(starts)
        result = session.connection().exec_driver_sql(
            _MAX_INTERVAL_SQL,
            {
                "ids": ids,
                "sinces": [starts[register_id] - history for register_id in ids],
                "untils": [starts[register_id] for register_id in ids],
            },
        )
        pairs = [cast(tuple[int, Decimal | None], tuple(row)) for row in result]
        return {register_id: value for register_id, value in pairs if value is not None}
    largest: dict[int, Decimal] = {}
    items = sorted(starts.items())
    for offset in range(0, len(items), SQLITE_BATCH):
        rows = session.execute(
            select(IntervalRead.register_id, func.max(IntervalRead.value))
            .where(
                or_(
                    *(
                        (IntervalRead.register_id == register_id)
                        & (IntervalRead.start_at < start)
                        & (IntervalRead.start_at >= start - history)
                        for register_id, start in items[offset : offset + SQLITE_BATCH]
                    )
                )
            )
            .group_by(IntervalRead.register_id)
        )
        largest.update((register_id, value) for register_id, value in rows if value is not None)
    return largest
