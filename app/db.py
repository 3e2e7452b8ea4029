"""The engine, the session factory and the column types every model shares.

Money and quantities are exact. PostgreSQL stores them as ``NUMERIC``. SQLite has no
exact decimal type, so there they are integers scaled by ``10**scale`` (a cent, a
millionth of a unit), which keeps SQL sums exact on both backends.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Numeric,
    Table,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.settings import get_settings


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal column: ``NUMERIC(p, s)`` on PostgreSQL, scaled integer on SQLite.

    A value with more decimal places than the column stores is rejected, never rounded.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)
        self._factor = Decimal(10) ** scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError(f"float {value!r} given for an exact decimal column; pass Decimal")
            value = Decimal(value)
        exact = value.quantize(self._quantum)
        if exact != value:
            raise ValueError(
                f"{value} has more than {self.scale} decimal places; round it before storing"
            )
        if dialect.name == "sqlite":
            return int(exact * self._factor)
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / self._factor).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)


def Money() -> ScaledDecimal:  # noqa: N802 - reads as a column type
    """Return the column type of a currency amount, to the cent."""
    return ScaledDecimal(12, 2)


def UnitPrice() -> ScaledDecimal:  # noqa: N802
    """Return the column type of a price per unit, to a millionth."""
    return ScaledDecimal(14, 6)


def Quantity() -> ScaledDecimal:  # noqa: N802
    """Return the column type of a register value or consumption, to a millionth."""
    return ScaledDecimal(18, 6)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Column type of a timezone-aware UTC instant; naive datetimes are rejected."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware instant")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_class: type[enum.StrEnum], length: int = 20) -> Enum:
    """Store a ``StrEnum`` by its values as a plain string column."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _prepare_sqlite_path(url: str) -> None:
    """Create the database file's folder, and the file itself readable by its owner only.

    The file holds customers' names, addresses and payments; SQLite gives its -wal and
    -shm files the same permissions.
    """
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        path = Path(url[len(prefix) :])
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        _prepare_sqlite_path(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _sqlite_savepoint_in_transaction(connection: Any, _name: Any) -> None:
            # The sqlite3 driver opens a transaction only before INSERT, UPDATE or DELETE.
            # A SAVEPOINT after plain SELECTs would start one of its own, and its RELEASE
            # would commit at once, out of reach of the session's rollback.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                connection.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().database_url)


@lru_cache(maxsize=4)
def get_session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on error.

    This is the transaction boundary for commands and tasks; services never commit.
    """
    session = get_session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def lock_name(session: Session, name: str) -> None:
    """Hold a lock on ``name`` until the session's transaction ends.

    Two transactions that check for a row and then insert it can both miss the other's
    row. Taking the same named lock first makes the second wait for the first. On
    PostgreSQL this is an advisory lock on a 64-bit hash of the name. SQLite lets one
    writer at a time, so there it does nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))


def insert_ignoring_duplicates(
    session: Session, model: type[Base], rows: list[dict[str, Any]], keys: list[str]
) -> int:
    """Insert rows, skipping any whose ``keys`` already exist; return how many were new.

    This is how an inbound event is claimed once: the unique key decides, not a prior
    lookup, so two concurrent imports of the same reads still store each read once.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    table = cast(Table, model.__table__)
    inserted = 0
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = pg_insert(table).on_conflict_do_nothing(index_elements=keys)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
        # RETURNING yields only the rows that went in, on both backends.
        result = session.execute(statement.returning(table.c[keys[0]]), batch)
        inserted += len(result.all())
    return inserted
