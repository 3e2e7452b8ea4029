"""Savepoints sit inside the session's transaction on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Customer


def count_customers(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def test_rollback_undoes_released_savepoint(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        # A read first: the sqlite3 driver would not have opened a transaction for it.
        session.scalar(select(func.count()).select_from(Customer))
        with session.begin_nested():
            session.add(Customer(name="Savepoint Sam"))
            session.flush()
        session.rollback()

    assert count_customers(session_factory) == 0


def test_commit_keeps_released_savepoint(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        session.scalar(select(func.count()).select_from(Customer))
        with session.begin_nested():
            session.add(Customer(name="Savepoint Sam"))
            session.flush()
        session.commit()

    assert count_customers(session_factory) == 1
