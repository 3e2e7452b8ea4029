"""The simulator's Stripe Pay connector against localstripe: charges, declines and tokens."""

from __future__ import annotations

from decimal import Decimal

import stripe

from app.demo.pay_connector import StripePayConnector
from app.demo.twiml_player import Card, PayPrompt

KEY = "sk_test_upm"


def prompt(amount: str) -> PayPrompt:
    return PayPrompt(
        charge_amount=Decimal(amount),
        currency="usd",
        description="Account 100000017",
        token_type=None,
        connector="Default",
        valid_card_types=("visa",),
        max_attempts=1,
        parameters={"account": "100000017"},
        attempt=1,
    )


def card(number: str) -> Card:
    return Card(number, "visa", "12", "30", "123", "78701")


def test_charge_creates_stripe_charge(localstripe_url: str) -> None:
    connector = StripePayConnector(localstripe_url, KEY)

    outcome = connector.process(prompt("84.12"), card("4242424242424242"))

    assert outcome.error is None
    assert outcome.confirmation_code is not None
    client = stripe.StripeClient(KEY, base_addresses={"api": localstripe_url})
    charge = client.v1.charges.retrieve(outcome.confirmation_code)
    assert charge.amount == 8412
    assert charge.currency == "usd"
    assert charge.status == "succeeded"
    assert charge.metadata["account"] == "100000017"


def test_declined_card_is_error(localstripe_url: str) -> None:
    connector = StripePayConnector(localstripe_url, KEY)

    # localstripe declines charges on this test card, as Stripe does.
    outcome = connector.process(prompt("84.12"), card("4000000000000341"))

    assert outcome.confirmation_code is None
    assert outcome.error_code == "card_declined"
    assert outcome.error


def test_tokenize_returns_payment_method(localstripe_url: str) -> None:
    connector = StripePayConnector(localstripe_url, KEY)

    outcome = connector.process(prompt("0"), card("4242424242424242"))

    assert outcome.token is not None
    assert outcome.token.startswith("pm_")
    assert outcome.confirmation_code is None


def test_remote_stripe_is_refused() -> None:
    connector = StripePayConnector("https://api.stripe.com", KEY)

    outcome = connector.process(prompt("1.00"), card("4242424242424242"))

    assert connector.client is None
    assert outcome.error_code == "connector_not_configured"
    assert outcome.error is not None
    assert "not on this machine" in outcome.error


def test_missing_stripe_is_error() -> None:
    outcome = StripePayConnector(None, None).process(prompt("1.00"), card("4242424242424242"))

    assert outcome.error_code == "connector_not_configured"
