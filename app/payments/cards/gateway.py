"""The Stripe boundary: the only place where money is integer cents.

Every call that creates something carries an idempotency key built from our ids, so a
retry after a timeout returns the first object instead of charging twice. Stripe's
address comes from the settings, which is how tests and the demo use localstripe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe

from app.errors import DomainError, InvalidInput
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)


def to_cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InvalidInput(f"amount {amount} is not whole cents", code="invalid_amount")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


class GatewayUnavailable(DomainError):
    """Stripe could not be reached or timed out; the outcome of the call is unknown."""

    code = "gateway_unavailable"
    http_status = 503


class CardDeclined(DomainError):
    """Stripe declined the card while attaching it to a customer."""

    code = "card_declined"
    http_status = 402


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of confirming a PaymentIntent."""

    payment_intent_ref: str | None
    status: str
    decline_code: str | None = None
    message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


class StripeGateway:
    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        if not settings.stripe_secret_key:
            raise InvalidInput(
                "Stripe is not configured; set UPM_STRIPE_SECRET_KEY (and UPM_STRIPE_API_BASE "
                "to use localstripe)",
                code="stripe_not_configured",
            )
        addresses: Any = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.currency = settings.currency.lower()
        self.client = stripe.StripeClient(
            settings.stripe_secret_key, base_addresses=addresses, max_network_retries=2
        )

    def create_customer(self, *, name: str, account_number: str, key: str) -> str:
        customer = self._call(
            self.client.v1.customers.create,
            {"name": name, "metadata": {"account_number": account_number}},
            key,
        )
        return str(customer.id)

    def attach_card(self, *, customer_ref: str, payment_method_ref: str) -> dict[str, Any]:
        """Attach a card to the customer; return its brand, last four digits and expiry."""
        try:
            method = self._call(
                self.client.v1.payment_methods.attach,
                {"customer": customer_ref},
                None,
                payment_method_ref,
            )
        except stripe.CardError as error:
            raise CardDeclined(
                f"the card was declined ({error.code or 'card_declined'}) and was not saved. "
                "Use another card."
            ) from error
        card = method.card
        return {
            "brand": str(card.brand),
            "last4": str(card.last4),
            "exp_month": int(card.exp_month),
            "exp_year": int(card.exp_year),
        }

    def charge(
        self,
        *,
        amount: Decimal,
        customer_ref: str,
        payment_method_ref: str,
        off_session: bool,
        metadata: dict[str, str],
        key: str,
    ) -> ChargeResult:
        """Create and confirm a PaymentIntent with a saved card; a decline is a result."""
        params = {
            "amount": to_cents(amount),
            "currency": self.currency,
            "customer": customer_ref,
            "payment_method": payment_method_ref,
            "confirm": True,
            "off_session": off_session,
            "metadata": metadata,
        }
        try:
            intent = self._call(self.client.v1.payment_intents.create, params, key)
        except stripe.CardError as error:
            json_body: Any = error.json_body or {}
            body: dict[str, Any] = dict(json_body.get("error") or {})
            intent_ref = (body.get("payment_intent") or {}).get("id")
            return ChargeResult(
                payment_intent_ref=intent_ref,
                status="declined",
                decline_code=body.get("decline_code") or error.code,
                message=str(body.get("message") or error.user_message or "card declined"),
            )
        except stripe.InvalidRequestError as error:
            # Stripe refused the request itself, e.g. a customer or card it does not know.
            # Nothing was charged, so it is a failure of this attempt, not an unknown.
            log.warning("Stripe rejected a charge (idempotency key %s): %s", key, error)
            return ChargeResult(
                payment_intent_ref=None,
                status="rejected",
                decline_code=error.code or "invalid_request",
                message=str(error.user_message or error)[:300],
            )
        return ChargeResult(payment_intent_ref=str(intent.id), status=str(intent.status))

    def create_intent(
        self, *, amount: Decimal, metadata: dict[str, str], key: str
    ) -> tuple[str, str]:
        """Create an unconfirmed PaymentIntent for a hosted page; return id and client secret."""
        intent = self._call(
            self.client.v1.payment_intents.create,
            {
                "amount": to_cents(amount),
                "currency": self.currency,
                "payment_method_types": ["card"],
                "metadata": metadata,
            },
            key,
        )
        return str(intent.id), str(intent.client_secret)

    def retrieve_intent(self, intent_ref: str) -> dict[str, Any]:
        intent = self._call(self.client.v1.payment_intents.retrieve, None, None, intent_ref)
        return dict(intent.to_dict())

    def find_intent(self, intent_ref: str) -> dict[str, Any] | None:
        """Return a PaymentIntent, or None when Stripe has none with that id."""
        try:
            return self.retrieve_intent(intent_ref)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise

    def find_charge(self, charge_ref: str) -> dict[str, Any] | None:
        """Return a Charge, or None when Stripe has none with that id."""
        try:
            charge = self._call(self.client.v1.charges.retrieve, None, None, charge_ref)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise
        return dict(charge.to_dict())

    def list_charges(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]:
        """Return every charge created from ``created_from`` up to, not including, ``created_to``.

        Both bounds are Unix seconds. Each charge carries its PaymentIntent, expanded, so
        the metadata we set on the PaymentIntent is at hand.
        """
        # NOTE: localstripe 1.15 filters charges on a single `created[gt]` bound and fails
        # on `gte`, `lt` or two bounds, so the upper bound is applied here. Against Stripe
        # this also pages through the charges created since `created_to`.
        params: Any = {
            "created": {"gt": created_from - 1},
            "limit": 100,
            "expand": ["data.payment_intent"],
        }
        try:
            page = self.client.v1.charges.list(params=params)
            charges = [charge.to_dict() for charge in page.auto_paging_iter()]
        except stripe.APIConnectionError as error:
            log.warning("Stripe unreachable while listing charges from %s: %s", created_from, error)
            raise GatewayUnavailable(
                "listing charges failed because Stripe is unreachable; run the reconciliation again"
            ) from error
        return [charge for charge in charges if created_from <= charge["created"] < created_to]

    def refund(self, *, intent_ref: str, amount: Decimal, key: str) -> tuple[str, Decimal]:
        refund = self._call(
            self.client.v1.refunds.create,
            {"payment_intent": intent_ref, "amount": to_cents(amount)},
            key,
        )
        return str(refund.id), from_cents(int(refund.amount))

    def _call(self, method: Any, params: Any, key: str | None, *args: Any) -> Any:
        options: Any = {"idempotency_key": key} if key else None
        try:
            if params is None:
                return method(*args, options=options)
            return method(*args, params=params, options=options)
        except stripe.APIConnectionError as error:
            log.warning("Stripe unreachable (idempotency key %s): %s", key, error)
            raise GatewayUnavailable(
                f"Stripe did not respond (idempotency key {key}); retry with the same key"
            ) from error
