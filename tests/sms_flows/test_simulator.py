"""``upm sim sms`` against the app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import app as cli
from app.main import create_app
from app.work_orders.models import WorkOrder, WorkOrderStatus
from tests.sms_flows.conftest import TECH_PHONE, FakeMessagesApi


@pytest.fixture
def served_app(fake_twilio: FakeMessagesApi) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free 127.0.0.1 port and yield its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 10 seconds"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def sim(*args: str) -> Any:
    return CliRunner().invoke(cli, ["sim", "sms", *args])


def test_sim_sms_accepts_order(
    session: Session, served_app: str, dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    result = sim(TECH_PHONE, f"ACCEPT {number}", "--url", served_app)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Accepted work order {number}. Reply ENROUTE {number} when you leave."
    )
    session.expire_all()
    order = session.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
    assert order.status == WorkOrderStatus.DISPATCHED
    assert order.accepted_at is not None


def test_sim_sms_repeated_sid_no_reply(
    session: Session, served_app: str, dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    first = sim(TECH_PHONE, f"ENROUTE {number}", "--url", served_app, "--message-sid", "SMsim1")
    assert first.exit_code == 0, first.output
    again = sim(TECH_PHONE, f"ENROUTE {number}", "--url", served_app, "--message-sid", "SMsim1")
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "(no reply)"


def test_sim_sms_without_token_uses_demo_token(
    served_app: str, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    # The served app runs in this process, so it loses its token too and must refuse.
    monkeypatch.delenv("UPM_TWILIO_AUTH_TOKEN")
    get_settings.cache_clear()
    result = sim(TECH_PHONE, "HELP", "--url", served_app)
    assert "signing with the demo's token" in result.output
    assert result.exit_code != 0
    assert "403" in result.output


def test_sim_sms_unreachable_app(world: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    result = sim(TECH_PHONE, "HELP", "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert "could not reach" in result.output
