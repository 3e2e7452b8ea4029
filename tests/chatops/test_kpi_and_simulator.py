"""``/upm kpi``, ``post_alert`` and ``upm sim slack`` against the app served on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import app as cli
from app.main import create_app
from app.payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.settings import get_settings
from app.work_orders import service
from app.work_orders.models import Priority, Staff, WorkOrderType
from app.work_orders.service import Actor
from chatops.alerts import AlertKind, post_alert
from tests.app.factories import City
from tests.chatops.conftest import ALERTS_CHANNEL, TEAM, FakeSlack

Slash = Callable[..., Any]


def pay(
    session: Session,
    account_id: int,
    key: str,
    channel: PaymentChannel,
    amount: str,
    status: PaymentStatus = PaymentStatus.SUCCEEDED,
    received_on: dt.date | None = None,
) -> None:
    session.add(
        Payment(
            account_id=account_id,
            amount=Decimal(amount),
            channel=channel,
            method=PaymentMethod.CASH,
            status=status,
            provider="test",
            idempotency_key=key,
            received_on=received_on or get_settings().today(),
            taken_by="test",
        )
    )


def test_kpi_counts_today(
    slash: Slash, fake_slack: FakeSlack, session: Session, staff: dict[str, Staff]
) -> None:
    account, _ = City(session).account()
    pay(session, account.id, "p1", PaymentChannel.COUNTER, "20.00")
    pay(session, account.id, "p2", PaymentChannel.COUNTER, "5.50")
    pay(session, account.id, "p3", PaymentChannel.WEB, "100.00")
    pay(session, account.id, "p4", PaymentChannel.WEB, "7.00", status=PaymentStatus.FAILED)
    pay(
        session,
        account.id,
        "p5",
        PaymentChannel.WEB,
        "9.00",
        received_on=get_settings().today() - dt.timedelta(days=1),
    )
    service.create_order(
        session,
        type=WorkOrderType.REREAD,
        priority=Priority.ROUTINE,
        actor=Actor("test", staff["clerk"]),
        idempotency_key="w1",
        account_id=account.id,
    )
    session.commit()

    slash("kpi", user="U0ADMIN")
    reply = fake_slack.wait_for("response", match="KPIs")[0]
    assert "payments $125.50 (3)" in reply.text
    assert "1 open work orders (0 overdue)" in reply.text
    assert "0 bills issued ($0.00)" in reply.text
    payments = reply.body["blocks"][1]["fields"][0]["text"]
    assert payments == "*Payments ($125.50)*\ncounter: 2, $25.50\nweb: 1, $100.00"


def test_kpi_field_crew_denied(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff]
) -> None:
    slash("kpi", user="U0TECH")
    reply = fake_slack.wait_for("response")[0]
    assert reply.text == (
        "`/upm kpi` needs the billing admin or clerk or supervisor role; your role is field crew."
    )


def test_post_alert_to_alerts_channel(slack_settings: None, fake_slack: FakeSlack) -> None:
    assert post_alert(AlertKind.AUTOPAY_FAILED, "account …0017: card declined")
    call = fake_slack.wait_for("chat.postMessage")[0]
    assert call.body["channel"] == ALERTS_CHANNEL
    assert call.text == ":rotating_light: *Failed autopay*\naccount …0017: card declined"


def test_post_alert_without_channel_is_skipped(
    slack_settings: None, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPM_SLACK_ALERTS_CHANNEL")
    get_settings.cache_clear()
    assert post_alert("work_order_overdue", "3 orders overdue") is False
    assert fake_slack.where("chat.postMessage") == []


@pytest.fixture
def served_app(slack_settings: None) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free 127.0.0.1 port; yield its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    assert server.started, "uvicorn did not start within 5 seconds"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_simulator_prints_account_card(
    served_app: str, session: Session, staff: dict[str, Staff]
) -> None:
    account, _ = City(session).account("Pat Doe")
    session.commit()
    result = CliRunner().invoke(
        cli,
        [
            "sim",
            "slack",
            f"/upm account {account.number}",
            "--user",
            "U0CLERK",
            "--team",
            TEAM,
            "--url",
            served_app,
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"Pat Doe: {account.number}" in result.output
    assert "*Balance*: $0.00" in result.output


def test_simulator_unknown_user_denied(served_app: str, staff: dict[str, Staff]) -> None:
    result = CliRunner().invoke(cli, ["sim", "slack", "/upm help", "--user", "UNOBODY",
                                      "--team", "TNOWHERE", "--url", served_app])
    assert result.exit_code == 0, result.output
    assert "Slack user UNOBODY in team TNOWHERE is not linked" in result.output


def test_simulator_wrong_secret_rejected(
    served_app: str, staff: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_SLACK_SIGNING_SECRET", "not-the-app-secret")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["sim", "slack", "/upm help", "--url", served_app])
    assert result.exit_code == 1
    assert "HTTP 401" in result.output
