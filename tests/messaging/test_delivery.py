"""Delivery status callbacks for customer texts, posted signed to /twilio/sms/status."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.messaging.consent import is_opted_out
from app.messaging.models import OutboundMessage, Program
from app.messaging.outbound import queue_text
from tests.messaging.conftest import (
    CUSTOMER_PHONE,
    FakeMessagesApi,
    local,
    messages,
    signed_form,
)

PATH = "/twilio/sms/status"


@pytest.fixture
def sent(session: Session, client: TestClient, twilio: FakeMessagesApi) -> OutboundMessage:
    """A leak alert that the fake Messages API accepted, with its SID stored."""
    queue_text(
        session,
        to_number=CUSTOMER_PHONE,
        program=Program.ALERTS,
        kind="leak",
        body="Possible leak.",
        language="en",
        idempotency_key="leak:1",
        now=local(2026, 6, 15, 10),
    )
    session.commit()
    [message] = messages(session)
    assert message.message_sid is not None
    return message


def post_status(client: TestClient, sid: str, status: str, **extra: str) -> Any:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC1", **extra}
    return client.post(PATH, data=params, headers=signed_form(PATH, params))


def status_of(session: Session) -> tuple[str, str | None]:
    [message] = messages(session)
    return message.status, message.error_code


def test_statuses_move_forward(session: Session, client: TestClient, sent: OutboundMessage) -> None:
    assert post_status(client, sent.message_sid or "", "sent").status_code == 204
    assert status_of(session) == ("sent", None)

    assert post_status(client, sent.message_sid or "", "delivered").status_code == 204
    assert status_of(session) == ("delivered", None)


@pytest.mark.parametrize("late", ["queued", "sending", "sent", "undelivered", "failed"])
def test_delivered_never_moves_back(
    session: Session, client: TestClient, sent: OutboundMessage, late: str
) -> None:
    post_status(client, sent.message_sid or "", "delivered")
    response = post_status(client, sent.message_sid or "", late, ErrorCode="30003")

    assert response.status_code == 204
    assert status_of(session) == ("delivered", None)


def test_sent_after_undelivered_ignored(
    session: Session, client: TestClient, sent: OutboundMessage
) -> None:
    post_status(client, sent.message_sid or "", "undelivered", ErrorCode="30003")
    post_status(client, sent.message_sid or "", "sent")

    assert status_of(session) == ("undelivered", "30003")


def test_read_follows_delivered(
    session: Session, client: TestClient, sent: OutboundMessage
) -> None:
    post_status(client, sent.message_sid or "", "delivered")
    post_status(client, sent.message_sid or "", "read")

    assert status_of(session) == ("read", None)


def test_unknown_status_ignored(
    session: Session, client: TestClient, sent: OutboundMessage
) -> None:
    assert post_status(client, sent.message_sid or "", "teleported").status_code == 204
    assert status_of(session) == ("queued", None)


def test_callback_21610_records_opt_out(
    session: Session, client: TestClient, sent: OutboundMessage
) -> None:
    response = post_status(client, sent.message_sid or "", "failed", ErrorCode="21610")

    assert response.status_code == 204
    assert status_of(session) == ("failed", "21610")
    assert is_opted_out(session, CUSTOMER_PHONE, Program.ALERTS) is True
    assert is_opted_out(session, CUSTOMER_PHONE, Program.BILLING) is False


def test_unknown_sid_changes_nothing(
    session: Session, client: TestClient, sent: OutboundMessage
) -> None:
    response = post_status(client, "SM" + "9" * 32, "delivered")

    assert response.status_code == 204
    assert status_of(session) == ("queued", None)


def test_unsigned_callback_rejected(
    session: Session, client: TestClient, sent: OutboundMessage
) -> None:
    params = {"MessageSid": sent.message_sid or "", "MessageStatus": "delivered"}
    response = client.post(PATH, data=params, headers={"X-Twilio-Signature": "forged"})

    assert response.status_code == 403
    assert status_of(session) == ("queued", None)
