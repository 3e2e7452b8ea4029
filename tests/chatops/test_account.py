"""``/upm account``: the Block Kit card, searching by name, and a list of matches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.ledger.service import post_adjustment
from app.work_orders import service
from app.work_orders.models import Priority, Staff, WorkOrderType
from app.work_orders.service import Actor
from tests.app.factories import City, trash_tariff, water_tariff
from tests.chatops.conftest import FakeSlack

Slash = Callable[..., Any]


def test_account_card(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    city = City(session)
    account, premise = city.account("Pat Doe")
    city.agreement(account, premise, city.tariff(water_tariff()))
    city.agreement(account, premise, city.tariff(trash_tariff()))
    post_adjustment(
        session,
        account_id=account.id,
        amount=Decimal("42.50"),
        key="a1",
        effective_date=dt.date(2026, 11, 1),
        actor="test",
        memo="test charge",
    )
    order = service.create_order(
        session,
        type=WorkOrderType.REREAD,
        priority=Priority.URGENT,
        actor=Actor("test", staff["clerk"]),
        idempotency_key="wo1",
        account_id=account.id,
    )
    session.commit()

    slash(f"account {account.number}", user="U0TECH")
    reply = fake_slack.wait_for("response")[0]
    blocks = reply.body["blocks"]
    assert blocks[0]["text"]["text"] == f"Pat Doe: {account.number}"
    balance, due = blocks[1]["fields"]
    assert balance["text"] == "*Balance*\n$42.50"
    assert due["text"].startswith("*Amount due*\n$")
    services = blocks[2]["fields"][0]["text"]
    assert "water at 1 Test St" in services
    assert "trash at 1 Test St" in services
    assert blocks[2]["fields"][1]["text"] == "*Last bill*\nnone yet"
    assert f"#{order.number} reread, ready, urgent" in blocks[3]["text"]["text"]
    assert "balance $42.50" in reply.text


def test_account_credit_shows_minus_sign_first(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    account, _ = City(session).account("Pat Doe")
    post_adjustment(
        session,
        account_id=account.id,
        amount=Decimal("-1234.50"),
        key="credit",
        effective_date=dt.date(2026, 11, 1),
        actor="test",
        memo="test credit",
    )
    session.commit()

    slash(f"account {account.number}", user="U0TECH")
    reply = fake_slack.wait_for("response")[0]

    assert reply.body["blocks"][1]["fields"][0]["text"] == "*Balance*\n-$1,234.50"
    assert "balance -$1,234.50" in reply.text


def test_account_by_name_lists_matches(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    city = City(session)
    first, premise = city.account("Lee Rivera")
    city.agreement(first, premise, city.tariff(water_tariff()))
    second, premise2 = city.account("Lee Rivers")
    city.agreement(second, premise2, city.tariff(water_tariff()))
    session.commit()

    slash("account lee river")
    reply = fake_slack.wait_for("response")[0]
    assert "2 accounts match 'lee river'" in reply.text
    assert f"`{first.number}` Lee Rivera" in reply.text
    assert f"`{second.number}` Lee Rivers" in reply.text


def test_account_not_found_audited_as_rejected(
    slash: Slash, fake_slack: FakeSlack, staff: dict[str, Staff], session: Session
) -> None:
    from tests.chatops.test_endpoint import audit

    slash("account nobody-by-this-name")
    assert "no account matches" in fake_slack.wait_for("response")[0].text
    assert [e.outcome for e in audit(session, "slack.account")] == ["rejected"]
