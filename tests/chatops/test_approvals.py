"""``/upm billrun`` and ``/upm adjust``: previews, buttons, one decision, audit and alerts."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.models import Bill
from app.ledger.models import JournalEntry
from app.ledger.service import account_balance
from app.work_orders.models import Staff
from chatops.models import ApprovalStatus, SlackApproval
from tests.app.factories import City, trash_tariff, water_tariff
from tests.chatops.conftest import ALERTS_CHANNEL, CHANNEL, FakeSlack
from tests.chatops.test_endpoint import audit

Slash = Callable[..., Any]
Click = Callable[..., Any]


@pytest.fixture
def city(session: Session, staff: dict[str, Staff]) -> dict[str, str]:
    """Two accounts in cycle C1: one with July 2026 reads, one without any reads."""
    city = City(session)
    water, trash = city.tariff(water_tariff()), city.tariff(trash_tariff())
    billed, premise = city.account("Pat Doe")
    city.agreement(billed, premise, water)
    city.agreement(billed, premise, trash)
    register = city.meter(premise, "W-1", "water", "gal")
    city.read(register, dt.date(2026, 7, 1), "100000")
    city.read(register, dt.date(2026, 8, 1), "108000")
    unread, premise2 = city.account("Lou Noreads")
    city.agreement(unread, premise2, water)
    city.meter(premise2, "W-2", "water", "gal")
    session.commit()
    return {"billed": billed.number, "unread": unread.number}


def approval(session: Session) -> SlackApproval:
    session.expire_all()
    found = session.scalar(select(SlackApproval).order_by(SlackApproval.id.desc()).limit(1))
    assert found is not None
    return found


def test_billrun_approved_runs_once(
    slash: Slash, click: Click, fake_slack: FakeSlack, session: Session, city: dict[str, str]
) -> None:
    slash("billrun C1 2026-07", user="U0ADMIN")
    assert "posted for approval" in fake_slack.wait_for("response")[0].text
    request = fake_slack.wait_for("chat.postMessage", match="Bill run #")[0]
    assert request.body["channel"] == CHANNEL
    assert "2 accounts with service in the period, 0 already billed, 2 to bill" in request.text
    assert approval(session).status == ApprovalStatus.PENDING

    click(request, "upm_approve", "U0SUPER")
    decided = fake_slack.wait_for("response", match="Approved by Sam Super")[0]
    assert decided.body["replace_original"] is True
    summary = fake_slack.wait_for("chat.postMessage", match="finished")[0]
    assert summary.body["channel"] == CHANNEL
    assert "1 bills created (1 in the run), $49.00 billed; 1 exceptions." in summary.text
    assert city["unread"] in summary.text
    alert = fake_slack.wait_for("chat.postMessage", match="Bill run exceptions")[0]
    assert alert.body["channel"] == ALERTS_CHANNEL
    assert city["unread"] in alert.text

    # The billing admin clicks Approve too, twice, after the supervisor decided.
    click(request, "upm_approve", "U0ADMIN")
    click(request, "upm_approve", "U0ADMIN")
    ephemeral = fake_slack.wait_for("chat.postEphemeral", count=2)
    assert ephemeral[0].text.startswith("Request #1 was already approved by Sam Super at ")
    assert ephemeral[0].body["user"] == "U0ADMIN"
    session.expire_all()
    assert len(list(session.scalars(select(Bill)))) == 1
    assert approval(session).result["bills_created"] == 1
    outcomes = [e.outcome for e in audit(session, "slack.approval.approved")]
    assert outcomes == ["approved", "already_decided", "already_decided"]
    assert [e.outcome for e in audit(session, "slack.billrun.run")] == ["ok"]


def test_billrun_canceled_by_requester(
    slash: Slash, click: Click, fake_slack: FakeSlack, session: Session, city: dict[str, str]
) -> None:
    slash("billrun C1 2026-07", user="U0ADMIN")
    request = fake_slack.wait_for("chat.postMessage", match="Bill run #")[0]
    click(request, "upm_cancel", "U0ADMIN")
    fake_slack.wait_for("response", match="Canceled by Ada Admin")
    click(request, "upm_approve", "U0SUPER")
    ephemeral = fake_slack.wait_for("chat.postEphemeral")[0]
    assert "already canceled by Ada Admin" in ephemeral.text
    session.expire_all()
    assert list(session.scalars(select(Bill))) == []


def test_billrun_clerk_denied(
    slash: Slash, fake_slack: FakeSlack, session: Session, city: dict[str, str]
) -> None:
    slash("billrun C1 2026-07", user="U0CLERK")
    reply = fake_slack.wait_for("response")[0]
    assert reply.text == "`/upm billrun` needs the billing admin role; your role is clerk."
    assert approval_count(session) == 0


def test_billrun_unended_period_rejected(
    slash: Slash, fake_slack: FakeSlack, city: dict[str, str]
) -> None:
    slash("billrun C1 2099-01", user="U0ADMIN")
    assert "period 2099-01 has not ended" in fake_slack.wait_for("response")[0].text


def approval_count(session: Session) -> int:
    session.expire_all()
    return len(list(session.scalars(select(SlackApproval))))


def test_adjust_approved_posts_once(
    slash: Slash, click: Click, fake_slack: FakeSlack, session: Session, city: dict[str, str]
) -> None:
    slash(f"adjust {city['billed']} -15.00 leak credit, owner fixed it", user="U0CLERK")
    request = fake_slack.wait_for("chat.postMessage", match="Adjustment #")[0]
    assert "a credit of $15.00 to account" in request.text
    assert "Reason: leak credit, owner fixed it" in request.text

    # The clerk may not approve; the supervisor double-clicks; a second supervisor is late.
    click(request, "upm_approve", "U0CLERK")
    denied = fake_slack.wait_for("chat.postEphemeral")[0]
    assert denied.text == ("Deciding request #1 needs the supervisor role; your role is clerk.")
    click(request, "upm_approve", "U0SUPER")
    click(request, "upm_approve", "U0SUPER")
    click(request, "upm_reject", "U0SUE")
    fake_slack.wait_for("response", match="Approved by Sam Super.* Posted as journal entry")
    late = fake_slack.wait_for("chat.postEphemeral", count=3)
    assert all("already approved by Sam Super" in call.text for call in late[1:])

    session.expire_all()
    entries = list(session.scalars(select(JournalEntry).where(JournalEntry.kind == "adjustment")))
    assert len(entries) == 1
    assert entries[0].entry_key == "slack-adjustment:1"
    account_id = approval(session).arguments["account_id"]
    assert account_balance(session, account_id) == Decimal("-15.00")
    assert [e.outcome for e in audit(session, "slack.approval.approved")] == [
        "denied",
        "approved",
        "already_decided",
    ]
    assert [e.outcome for e in audit(session, "slack.approval.rejected")] == ["already_decided"]
    proposed = audit(session, "slack.adjust")[0]
    assert proposed.arguments["text"].startswith(f"adjust {city['billed']} -15.00")


def test_adjust_proposer_cannot_approve(
    slash: Slash, click: Click, fake_slack: FakeSlack, session: Session, city: dict[str, str]
) -> None:
    slash(f"adjust {city['billed']} 10.00 meter test fee", user="U0SUPER")
    request = fake_slack.wait_for("chat.postMessage", match="Adjustment #")[0]
    click(request, "upm_approve", "U0SUPER")
    ephemeral = fake_slack.wait_for("chat.postEphemeral")[0]
    assert "a different supervisor must decide it" in ephemeral.text
    assert approval(session).status == ApprovalStatus.PENDING
    click(request, "upm_reject", "U0SUE")
    fake_slack.wait_for("response", match="Rejected by Sue Second")
    assert approval(session).status == ApprovalStatus.REJECTED
    session.expire_all()
    assert (
        list(session.scalars(select(JournalEntry).where(JournalEntry.kind == "adjustment"))) == []
    )


def test_retried_click_acts_once(
    slash: Slash, click: Click, fake_slack: FakeSlack, session: Session, city: dict[str, str]
) -> None:
    slash(f"adjust {city['billed']} 5.00 copy fee", user="U0CLERK")
    request = fake_slack.wait_for("chat.postMessage", match="Adjustment #")[0]
    click(request, "upm_approve", "U0SUPER", action_ts="1700000000.000100")
    click(request, "upm_approve", "U0SUPER", action_ts="1700000000.000100")
    fake_slack.wait_for("response", match="Approved by Sam Super")
    time.sleep(0.5)
    assert fake_slack.where("chat.postEphemeral") == []
    assert [e.outcome for e in audit(session, "slack.approval.approved")] == ["approved"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "amount 'abc' is not a number"),
        ("1.005", "must be whole cents"),
        ("0", "must be nonzero"),
        ("20000", "at most 10000.00"),
    ],
)
def test_adjust_bad_amount_rejected(
    slash: Slash, fake_slack: FakeSlack, city: dict[str, str], amount: str, message: str
) -> None:
    slash(f"adjust {city['billed']} {amount} reason")
    assert message in fake_slack.wait_for("response")[0].text
