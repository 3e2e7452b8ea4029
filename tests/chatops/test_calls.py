"""``/upm calls``: call outcomes today, open callback and arrangement requests, closing one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.calls.models import Call, CallOutcome, CallRequest, CallRequestKind
from app.db import utcnow
from app.work_orders.models import Staff
from tests.app.factories import City
from tests.chatops.conftest import FakeSlack

Slash = Callable[..., Any]


def add_call(session: Session, sid: str, outcome: CallOutcome | None, **when: Any) -> Call:
    call = Call(call_sid=sid, caller="…0123", outcome=outcome, path=[], **when)
    session.add(call)
    session.flush()
    return call


@pytest.fixture
def calls(session: Session, staff: dict[str, Staff]) -> dict[str, CallRequest]:
    """Today: three self-served, one to staff with a callback, one abandoned, one under way.

    Two days ago: one to staff with an arrangement request, still open.
    """
    account, _ = City(session).account()
    for index in range(3):
        add_call(session, f"CA{index:032d}", CallOutcome.SELF_SERVED)
    transferred = add_call(session, "CA" + "3" * 32, CallOutcome.TRANSFERRED)
    add_call(session, "CA" + "4" * 32, CallOutcome.ABANDONED)
    add_call(session, "CA" + "5" * 32, None)
    earlier = utcnow() - dt.timedelta(days=2)
    old = add_call(session, "CA" + "6" * 32, CallOutcome.TRANSFERRED, started_at=earlier)
    arrangement = CallRequest(
        call_id=old.id,
        account_id=account.id,
        kind=CallRequestKind.ARRANGEMENT,
        phone="+15550100124",
        language="es",
        created_at=earlier,
    )
    callback = CallRequest(
        call_id=transferred.id,
        account_id=None,
        kind=CallRequestKind.CALLBACK,
        phone="+15550100123",
        language="en",
    )
    session.add_all([arrangement, callback])
    session.commit()
    return {"arrangement": arrangement, "callback": callback, "account": account}


def test_calls_counts_today(slash: Slash, fake_slack: FakeSlack, calls: dict[str, Any]) -> None:
    slash("calls")

    reply = fake_slack.wait_for("response", match="Calls on")[0].text
    assert "6 (self-served 3, to staff 1, abandoned 1, under way 1" in reply
    # 3 of the 5 finished calls were self-served.
    assert "60% self-served" in reply
    assert "Open requests: 2." in reply


def test_calls_lists_open_requests_oldest_first(
    slash: Slash, fake_slack: FakeSlack, calls: dict[str, Any]
) -> None:
    slash("calls")

    listing = str(fake_slack.wait_for("response", match="Calls on")[0].body["blocks"])
    first = listing.index(f"#{calls['arrangement'].id} payment arrangement: +15550100124")
    second = listing.index(f"#{calls['callback'].id} callback: +15550100123")
    assert first < second
    assert f"account {calls['account'].number}, Spanish" in listing
    assert "no account identified, English" in listing


def test_close_request_once_and_audit(
    slash: Slash, fake_slack: FakeSlack, calls: dict[str, Any], session: Session
) -> None:
    request_id = calls["callback"].id

    slash(f"calls close {request_id}")
    first = fake_slack.wait_for("response", match=f"Request #{request_id}")[0].text
    slash(f"calls close #{request_id}")
    second = fake_slack.wait_for("response", count=2, match=f"Request #{request_id}")[1].text

    assert first == f"Request #{request_id} (callback) closed."
    assert second == f"Request #{request_id} was already closed."
    session.expire_all()
    assert session.get_one(CallRequest, request_id).status == "closed"
    audited = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "slack.calls close")
    ).all()
    assert len(audited) == 2


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [("", "nothing is not a request number"), ("99999", "call request 99999 does not exist")],
)
def test_close_bad_request_number(
    slash: Slash, fake_slack: FakeSlack, calls: dict[str, Any], arguments: str, expected: str
) -> None:
    slash(f"calls close {arguments}")

    assert fake_slack.wait_for("response", match=expected)


def test_crew_cannot_list_calls(slash: Slash, fake_slack: FakeSlack, calls: dict[str, Any]) -> None:
    slash("calls", user="U0TECH")

    reply = fake_slack.wait_for("response")[0].text
    assert "+15550100123" not in reply
    assert "clerk" in reply
