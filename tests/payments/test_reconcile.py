"""Nightly Stripe reconciliation against localstripe: it reports each kind of difference.

Each test empties localstripe first, so the day's charges are only the ones it makes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.ledger.models import JournalEntry
from app.payments import channels
from app.payments.cards.gateway import GatewayUnavailable, StripeGateway
from app.payments.cards.reconcile import Mismatch, UnmatchedPayment, reconcile_stripe
from app.payments.cards.service import open_link, refund_card_payment
from app.payments.models import (
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
)
from app.payments.service import create_payment
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.test_autopay_cards import DECLINING_CARD, GOOD_CARD, card_token
from tests.payments.test_cards_localstripe import account_with_card, localstripe_client


@pytest.fixture
def empty_localstripe(localstripe: str) -> str:
    """Delete every object localstripe holds, so only this test's charges are listed."""
    httpx.delete(f"{localstripe}/_config/data", timeout=5).raise_for_status()
    return localstripe


def pay_due(session: Session, account_id: int, key: str) -> Payment:
    payment = channels.pay(session, account_id=account_id, channel=PaymentChannel.WEB,
                           idempotency_key=key, actor="customer")
    session.commit()
    return payment


def charge_at_stripe(client: stripe.StripeClient, cents: int) -> Any:
    """Create and confirm a PaymentIntent at Stripe, outside our code."""
    return client.v1.payment_intents.create(params={
        "amount": cents, "currency": "usd", "payment_method": card_token(GOOD_CARD),
        "confirm": True,
    })


def row_counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Payment, PaymentStatusChange, JournalEntry, Refund)
    }


def test_reconcile_reports_each_difference(empty_localstripe: str, session: Session) -> None:
    client = localstripe_client(empty_localstripe)
    day = get_settings().today()
    city = City(session)

    matched = pay_due(session, account_with_card(session, city=city).account_id, "pay-ok")
    declined_account = account_with_card(session, DECLINING_CARD, city=city)
    declined = pay_due(session, declined_account.account_id, "pay-no")
    refunded = pay_due(session, account_with_card(session, city=city).account_id, "pay-refunded")
    # A refund made in Stripe's dashboard, which we never posted.
    assert refunded.external_ref is not None
    client.v1.refunds.create(params={"payment_intent": refunded.external_ref, "amount": 1000})

    linked = account_with_card(session, city=city)
    link, _ = channels.start_payment_link(
        session, account_id=linked.account_id, channel=PaymentChannel.SMS,
        idempotency_key="SM1:link", actor="sms",
    )
    open_link(session, StripeGateway(), link.token)
    session.commit()
    assert link.payment_intent_ref is not None
    assert link.payment_id is not None
    # Paid at Stripe, but neither the webhook nor the done page reached us.
    method = card_token(GOOD_CARD)
    client.v1.payment_intents.update(link.payment_intent_ref, params={"payment_method": method})
    client.v1.payment_intents.confirm(link.payment_intent_ref)

    direct = client.v1.charges.create(params={
        "amount": 500, "currency": "usd", "source": card_token(GOOD_CARD),
    })
    other_amount = charge_at_stripe(client, 5000)
    wrong_amount = create_payment(
        session, account_id=linked.account_id, amount=Decimal("45.00"),
        channel=PaymentChannel.WEB, method=PaymentMethod.CARD, provider="stripe",
        idempotency_key="pay-wrong-amount", taken_by="test", received_on=day,
        external_ref=str(other_amount.id), status=PaymentStatus.SUCCEEDED,
    )
    missing = create_payment(
        session, account_id=linked.account_id, amount=Decimal("12.00"),
        channel=PaymentChannel.WEB, method=PaymentMethod.CARD, provider="stripe",
        idempotency_key="pay-missing", taken_by="test", received_on=day,
        external_ref="pi_NotAtStripe0001", status=PaymentStatus.SUCCEEDED,
    )
    session.commit()
    before = row_counts(session)

    report = reconcile_stripe(session, StripeGateway(), day=day)

    assert report.day == day
    assert report.charges_listed == 6
    assert report.matched == 5
    assert [(c.charge_ref, c.payment_intent_ref, c.amount, c.status)
            for c in report.charges_without_payment] == [
        (direct.id, None, Decimal("5.00"), "succeeded")
    ]
    assert report.payments_without_charge == [
        UnmatchedPayment(missing.id, "pi_NotAtStripe0001", Decimal("12.00"), "succeeded")
    ]
    assert report.amount_mismatches == [
        Mismatch(wrong_amount.id, str(other_amount.id), ours="45.00", stripe="50.00")
    ]
    assert report.status_mismatches == [
        Mismatch(link.payment_id, link.payment_intent_ref,
                 ours="pending (not posted)", stripe="succeeded")
    ]
    assert report.refund_mismatches == [
        Mismatch(refunded.id, refunded.external_ref, ours="0.00", stripe="10.00")
    ]
    assert not report.clean
    # The declined charge matched its failed payment through the metadata key, and the
    # paid one matched with no difference, so neither is listed above.
    assert declined.status == PaymentStatus.FAILED
    assert matched.status == PaymentStatus.SUCCEEDED
    session.expire_all()
    assert row_counts(session) == before


def test_reconcile_clean_day(empty_localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    payment = pay_due(session, account.account_id, "pay-1")
    refund_card_payment(session, StripeGateway(), payment=payment, amount=Decimal("8.12"),
                        idempotency_key="r1", actor="clerk")
    session.commit()

    report = reconcile_stripe(session, StripeGateway(), day=get_settings().today())

    assert report.charges_listed == 1
    assert report.matched == 1
    assert report.clean


def test_reconcile_other_days_list_nothing(empty_localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    pay_due(session, account.account_id, "pay-1")
    today = get_settings().today()

    # localstripe returns today's charges for yesterday's lower bound too, so this also
    # checks the upper bound applied after listing.
    for day in (today - dt.timedelta(days=1), today + dt.timedelta(days=1)):
        report = reconcile_stripe(session, StripeGateway(), day=day)
        assert report.charges_listed == 0, day
        assert report.matched == 0, day
        assert report.clean, day


class RecordingGateway:
    """A gateway with no charges that records the range it was asked to list."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def list_charges(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]:
        self.ranges.append((created_from, created_to))
        return []

    def find_intent(self, intent_ref: str) -> dict[str, Any] | None:
        return None


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2026, 3, 8), 23), (dt.date(2026, 11, 1), 25), (dt.date(2026, 12, 4), 24)],
)
def test_reconcile_day_is_local(stripe_settings: None, session: Session, day: dt.date,
                                hours: int) -> None:
    gateway = RecordingGateway()

    reconcile_stripe(session, gateway, day=day)  # type: ignore[arg-type]

    [(created_from, created_to)] = gateway.ranges
    start = dt.datetime.fromtimestamp(created_from, get_settings().zone)
    assert (start.date(), start.hour, start.minute) == (day, 0, 0)
    assert created_to - created_from == hours * 3600


def test_reconcile_stripe_unreachable(
    localstripe: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens here
    get_settings.cache_clear()

    with pytest.raises(GatewayUnavailable, match="run the reconciliation again"):
        reconcile_stripe(session, StripeGateway(), day=get_settings().today())


def test_reconcile_command_reports_stray_charge(
    empty_localstripe: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import app as cli_app

    account = account_with_card(session)
    pay_due(session, account.account_id, "pay-1")
    charge_at_stripe(localstripe_client(empty_localstripe), 1234)
    today = get_settings().today().isoformat()
    result = CliRunner().invoke(cli_app, ["payments", "reconcile", "--date", today],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "1 payment matched" in result.output
    assert "charge with no payment here" in result.output
    assert "12.34" in result.output
