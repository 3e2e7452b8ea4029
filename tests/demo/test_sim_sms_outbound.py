"""``upm sim sms`` prints the texts the app queues to the sender after its reply."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import app as cli
from app.db import utcnow
from app.messaging.models import OutboundMessage, Program

PHONE = "+15550100125"


def outbound(key: str, body: str, to_number: str = PHONE) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=key,
        program=Program.BILLING,
        kind="payment_received",
        to_number=to_number,
        body=body,
        encoding="GSM-7",
        segments=1,
        status="not_configured",
        send_after=utcnow(),
    )


def sim(*args: str) -> Any:
    return CliRunner().invoke(cli, ["sim", "sms", *args])


def test_sim_sms_prints_later_texts(session: Session, served_app: str) -> None:
    session.add(outbound("earlier", "An older text, not printed."))
    session.commit()

    def queue_late_texts() -> None:
        session.add(outbound("late", "Payment of $84.12 received. Thank you."))
        session.add(outbound("other", "A text to someone else.", to_number="+15550100999"))
        session.commit()

    # The texts arrive after the reply, as a Celery task's would.
    timer = threading.Timer(0.8, queue_late_texts)
    timer.start()
    result = sim(PHONE, "BAL", "--url", served_app, "--wait", "5")
    timer.join()

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"-- texts the app queued to {PHONE}:" in lines
    assert "   [payment_received, not_configured] Payment of $84.12 received. Thank you." in lines
    assert "An older text, not printed." not in result.output
    assert "someone else" not in result.output


def test_sim_sms_without_texts(session: Session, served_app: str) -> None:
    result = sim(PHONE, "BAL", "--url", served_app, "--wait", "0.3")

    assert result.exit_code == 0, result.output
    assert "-- texts the app queued" not in result.output
