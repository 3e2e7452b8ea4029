"""Fast bulk inserts (PostgreSQL COPY, SQLite executemany), id allocation and id lookups.

``cyclic_gc_paused`` is for code that builds millions of small objects at once.

SQLAlchemy's multi-row INSERT spends most of its time building parameters row by row.
Here each column's value is converted once by the column type's own bind processor
(the same conversion SQLAlchemy applies), and the rows go to the driver in one call:
``COPY ... FROM STDIN`` on PostgreSQL, ``executemany`` on SQLite. Use it only inside a
transaction the caller commits.
"""

from __future__ import annotations

import enum
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Enum, Table, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

Converter = Callable[[Any], Any] | None


def _postgres_converter(column_type: Any) -> Converter:
    """Return the conversion COPY needs beyond psycopg's own: JSON text, enum values.

    Decimals, dates, aware datetimes, strings and numbers go to psycopg unchanged. The
    bill run builds them exact already (the engine quantizes cents), so the column
    types' checks would only repeat work.
    """
    if isinstance(column_type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    if isinstance(column_type, Enum):
        return lambda value: value.value if isinstance(value, enum.Enum) else value
    return None


def _with_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """Fill in the Python-side column defaults that SQLAlchemy would have applied."""
    missing = [
        column
        for column in table.columns
        if column.name not in rows[0] and column.default is not None
    ]
    if not missing:
        return rows
    filled = []
    for row in rows:
        row = dict(row)
        for column in missing:
            default = column.default
            assert default is not None
            arg = getattr(default, "arg", None)
            row[column.name] = arg(None) if callable(arg) else arg
        filled.append(row)
    return filled


def insert_rows(
    session: Session, target: type[Any] | Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys) into a model's table in one driver call."""
    if not rows:
        return
    table: Table = target if isinstance(target, Table) else target.__table__
    rows = _with_defaults(table, rows)
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    raw = connection.connection.driver_connection
    assert raw is not None
    if dialect.name == "postgresql":
        converters = [_postgres_converter(column.type) for column in columns]
        column_list = ", ".join(f'"{name}"' for name in names)
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(
                        [
                            convert(row[name]) if convert else row[name]
                            for name, convert in zip(names, converters, strict=True)
                        ]
                    )
        return
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    values = [
        tuple(
            process(row[name]) if process else row[name]
            for name, process in zip(names, processors, strict=True)
        )
        for row in rows
    ]
    placeholders = ", ".join("?" for _ in names)
    column_list = ", ".join(f'"{name}"' for name in names)
    cursor = raw.cursor()
    try:
        # Table and column names come from our own metadata, never from input.
        statement = f'INSERT INTO "{table.name}" ({column_list}) VALUES ({placeholders})'  # noqa: S608
        cursor.executemany(statement, values)
    finally:
        cursor.close()


def allocate_ids(session: Session, target: type[Any], count: int) -> list[int]:
    """Reserve ``count`` primary keys for rows that a bulk insert will write.

    Knowing the ids up front spares reading them back by key after COPY. PostgreSQL
    draws them from the table's sequence, so concurrent writers never collide. SQLite
    takes the next ids after the largest. That is safe only when the caller has already
    written in the same transaction, because SQLite then holds its write lock.
    """
    if count == 0:
        return []
    table: Table = target.__table__
    if session.get_bind().dialect.name == "postgresql":
        # Table names come from our own metadata, never from input.
        drawn: Any = session.execute(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "  # noqa: S608
                "FROM generate_series(1, :count)"
            ),
            {"count": count},
        ).scalars()
        return sorted(int(value) for value in drawn)
    highest = session.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(highest + 1, highest + 1 + count))


def matching(session: Session, column: Any, values: Sequence[Any]) -> list[Any]:
    """Return WHERE clauses that together select rows whose ``column`` is in ``values``.

    PostgreSQL gets one ``= ANY(array)`` clause with a single array parameter, because an
    IN list of 100,000 values is slow to send and passes the driver's limit of 65,535
    parameters. SQLite gets IN lists of at most 500 values each.
    """
    if not values:
        return []
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return [column == any_(array)]
    return [column.in_(values[start : start + 500]) for start in range(0, len(values), 500)]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk parse, then restore it.

    Each few hundred new objects start a collection that walks the young objects, and
    older generations are walked as the heap grows, so building a million parsed rows
    spent half its time in the collector (see "Interval read ingest" in
    docs/benchmarks.md). Reference counting still frees everything not in a cycle; the
    collector finds the rest once resumed. The pause is process-wide, so keep it short.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
