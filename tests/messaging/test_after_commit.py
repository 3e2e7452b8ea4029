"""Tasks queued in a transaction run after its outer commit, and never after a rollback."""

from __future__ import annotations

import pytest
from celery import shared_task
from sqlalchemy.orm import Session

from app.accounts.models import Customer
from app.messaging.after_commit import apply_after_commit

RAN: list[int] = []


@shared_task(name="tests.record_after_commit")
def record_after_commit(value: int) -> None:
    RAN.append(value)


@pytest.fixture(autouse=True)
def clear_ran() -> None:
    RAN.clear()


def test_task_waits_past_released_savepoint(session: Session) -> None:
    session.add(Customer(name="Committed"))
    session.flush()
    apply_after_commit(session, record_after_commit.name, [1])
    with session.begin_nested():
        apply_after_commit(session, record_after_commit.name, [2])

    assert RAN == []

    session.commit()

    assert RAN == [1, 2]


def test_rollback_drops_queued_tasks(session: Session) -> None:
    session.add(Customer(name="Rolled Back"))
    session.flush()
    apply_after_commit(session, record_after_commit.name, [3])
    session.rollback()
    session.commit()

    assert RAN == []


def test_same_task_twice_runs_once(session: Session) -> None:
    apply_after_commit(session, record_after_commit.name, [4])
    apply_after_commit(session, record_after_commit.name, [4])
    session.commit()

    assert RAN == [4]
