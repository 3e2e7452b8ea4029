"""The simulator's stand-in for Twilio's Stripe Pay Connector.

On a call, Twilio's connector receives the card the caller keyed and creates the Stripe
objects itself; the app only sees the ``<Pay>`` action's result. This does the same
against the demo's local Stripe: a charge becomes a PaymentMethod made from the card and a
Charge on it (its ``ch_`` id is the ``PaymentConfirmationCode``), and a tokenization
returns the PaymentMethod's id as the ``PaymentToken``. It refuses any Stripe address
that is not on this machine, because card numbers must never go to a real Stripe.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import stripe

from app.demo.twiml_player import Card, ConnectorOutcome, PayPrompt
from app.payments.cards.gateway import to_cents

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class StripePayConnector:
    """Charges or tokenizes a keyed card in a local Stripe (localstripe)."""

    def __init__(self, api_base: str | None, secret_key: str | None) -> None:
        self.problem: str | None = None
        self.client: stripe.StripeClient | None = None
        if not api_base or not secret_key:
            self.problem = (
                "no local Stripe: start `upm demo`, or set UPM_STRIPE_SECRET_KEY and "
                "UPM_STRIPE_API_BASE to a localstripe on 127.0.0.1"
            )
        elif urlsplit(api_base).hostname not in LOCAL_HOSTS:
            self.problem = (
                f"UPM_STRIPE_API_BASE {api_base} is not on this machine; the simulator sends "
                "card numbers only to a localstripe on 127.0.0.1"
            )
        else:
            addresses: Any = {"api": api_base}
            self.client = stripe.StripeClient(secret_key, base_addresses=addresses)

    def process(self, prompt: PayPrompt, card: Card) -> ConnectorOutcome:
        """Create the Stripe objects Twilio's connector would; a decline is an outcome."""
        if self.client is None:
            return ConnectorOutcome(error=self.problem, error_code="connector_not_configured")
        try:
            method = self.client.v1.payment_methods.create(
                params={
                    "type": "card",
                    "card": {
                        "number": card.number,
                        "exp_month": int(card.exp_month),
                        "exp_year": 2000 + int(card.exp_year),
                        "cvc": card.security_code,
                    },
                }
            )
            if prompt.charge_amount <= 0:
                return ConnectorOutcome(token=str(method.id))
            charge = self.client.v1.charges.create(
                params={
                    "amount": to_cents(prompt.charge_amount),
                    "currency": prompt.currency,
                    "source": str(method.id),
                    "description": prompt.description or "",
                    "metadata": prompt.parameters,
                }
            )
        except stripe.CardError as error:
            return ConnectorOutcome(
                error=str(error.user_message or "card declined"),
                error_code=str(error.code or "card_declined"),
            )
        except stripe.StripeError as error:
            log.warning("the demo's Stripe failed a <Pay> request: %s", error)
            return ConnectorOutcome(
                error=str(error.user_message or error), error_code="payment_connector_error"
            )
        return ConnectorOutcome(confirmation_code=str(charge.id))
