"""The Slack endpoint: signatures, replays, retries, unknown users, roles and the audit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.inbound.models import InboundEvent
from app.main import create_app
from app.settings import get_settings
from app.work_orders.models import Staff
from tests.chatops.conftest import TEAM, FakeSlack

Slash = Callable[..., Any]


def audit(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_help_acknowledged_then_answered(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff]
) -> None:
    started = time.monotonic()
    response = slash("help")
    assert response.status_code == 200
    assert time.monotonic() - started < 3
    reply = fake_slack.wait_for("response", match="/upm commands")[0]
    assert "`/upm account" in reply.text
    # A clerk may not dispatch, so help strikes that command through.
    assert "~`/upm dispatch <order>`~" in reply.text
    assert reply.body["response_type"] == "ephemeral"


def test_bad_signature_rejected(
    client: TestClient, slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff]
) -> None:
    response = slash("help", headers={"X-Slack-Signature": "v0=" + "0" * 64})
    assert response.status_code == 401
    time.sleep(0.3)
    assert fake_slack.where("response") == []


def test_replay_older_than_five_minutes_rejected(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    response = slash("help", timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    time.sleep(0.3)
    assert fake_slack.where("response") == []
    assert session.scalar(select(func.count(InboundEvent.id))) == 0


def test_retried_command_acts_once(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    first = slash("help", trigger_id="trigger.same")
    fake_slack.wait_for("response")
    retry = slash(
        "help",
        trigger_id="trigger.same",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"},
    )
    assert first.status_code == 200
    assert retry.status_code == 200
    time.sleep(0.5)
    assert len(fake_slack.where("response")) == 1
    assert len(audit(session, "slack.help")) == 1


def test_unknown_user_denied(
    slash: Slash, fake_slack: FakeSlack, session: Session, staff: dict[str, Staff]
) -> None:
    slash("account 100000017", user="U0STRANGER")
    reply = fake_slack.wait_for("response")[0]
    assert "not linked to an active staff member" in reply.text
    assert "U0STRANGER" in reply.text
    events = audit(session, "slack.account")
    assert [(e.actor, e.outcome) for e in events] == [(f"slack:{TEAM}:U0STRANGER", "denied")]
    assert events[0].arguments["text"] == "account 100000017"


def test_same_user_id_other_team_denied(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff]
) -> None:
    slash("help", user="U0SUPER", team="T0OTHER")
    assert "not linked" in fake_slack.wait_for("response")[0].text


def test_inactive_staff_denied(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    staff["clerk"].active = False
    session.commit()
    slash("help")
    assert "not linked" in fake_slack.wait_for("response")[0].text


def test_missing_role_denied_and_audited(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    slash("dispatch 1001", user="U0TECH")
    reply = fake_slack.wait_for("response")[0]
    assert reply.text == ("`/upm dispatch` needs the supervisor role; your role is field crew.")
    event = audit(session, "slack.dispatch")[0]
    assert event.outcome == "denied"
    assert event.actor == f"staff:{staff['tech'].id}:Tia Tech"
    assert event.detail == "needs supervisor"


def test_unknown_subcommand_answered(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff]
) -> None:
    slash("frobnicate now")
    assert "`frobnicate` is not a /upm command" in fake_slack.wait_for("response")[0].text


def test_off_without_settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPM_SLACK_SIGNING_SECRET", raising=False)
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        response = client.post("/slack/events", content="x")
    assert response.status_code == 503
    assert response.json()["code"] == "slack_not_configured"
