"""Staff alerts: overdue orders and unmatched lockbox payments reach the registered sinks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import alerts
from app.cli import app as cli_app
from app.work_orders import service
from app.work_orders.models import Priority, Staff, StaffRole, WorkOrderType
from app.work_orders.service import Actor
from tests.app.factories import City


@pytest.fixture
def received() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def sink(kind: str, text: str) -> None:
        calls.append((kind, text))

    def broken(kind: str, text: str) -> None:
        raise RuntimeError("sink down")

    alerts.register_sink(broken)
    alerts.register_sink(sink)
    yield calls
    alerts._sinks.remove(broken)
    alerts._sinks.remove(sink)


def test_overdue_orders_alerted(session: Session, received: list[tuple[str, str]]) -> None:
    city = City(session)
    account, premise = city.account()
    clerk = Staff(name="Cleo", role=StaffRole.CLERK)
    session.add(clerk)
    session.flush()
    late = service.create_order(
        session, type=WorkOrderType.REREAD, priority=Priority.URGENT, actor=Actor("c", clerk),
        idempotency_key="late", premise_id=premise.id,
        now=dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC),
    )
    session.commit()
    from app.work_orders.tasks import overdue_alert_task

    result = overdue_alert_task.delay().get()
    assert result == {"overdue": 1}
    # The broken sink failed and the working one still received the alert.
    assert received == [
        (alerts.WORK_ORDER_OVERDUE, f"1 work orders are overdue: {late.number} (reread)")
    ]


def test_unmatched_lockbox_alerted(
    db_url: str, tmp_path: Path, received: list[tuple[str, str]]
) -> None:
    day = tmp_path / "day.csv"
    day.write_text("account_number,amount,paid_on\n200000015,20.00,2026-12-03\n")
    result = CliRunner().invoke(cli_app, ["payments", "import", str(day)])
    assert result.exit_code == 0, result.output
    assert received == [
        (alerts.LOCKBOX_UNMATCHED,
         "day.csv: 1 payment totalling 20.00 matched no account; see the suspense queue")
    ]
