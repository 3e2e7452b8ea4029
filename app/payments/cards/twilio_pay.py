"""Card payments that Twilio ``<Pay>`` charged through its Stripe Pay Connector.

The connector charges the card itself and tells us only a confirmation code (a
``ch_…`` Charge or a ``pi_…`` PaymentIntent id) through the call's webhook. The webhook
proves nothing about money, so the charge is read back from Stripe and the payment is
posted for the amount Stripe holds, once per call and confirmation code.

Stripe also sends a ``payment_intent.succeeded`` event for that charge. The connector's
PaymentIntent carries none of our metadata, so the event finds our payment by its
PaymentIntent id when this posted first. When the event came first it parked the money
in the suspense queue under that id, and this applies that suspense item to the account
instead of posting the money a second time.

Both take the same named lock on the PaymentIntent id first, so an event handled at the
same instant as the ``<Pay>`` callback waits for it and then finds its payment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import lock_name
from app.errors import Conflict
from app.payments.bankfiles.models import SuspenseItem, SuspenseStatus
from app.payments.cards.gateway import StripeGateway, from_cents
from app.payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.service import change_status, create_payment, lock_account
from app.payments.suspense import resolve_to_account
from app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "stripe"


class ChargeNotConfirmed(Conflict):
    """Stripe has no succeeded charge for a confirmation code Twilio reported."""

    code = "twilio_pay_not_confirmed"


@dataclass(frozen=True)
class ConfirmedCharge:
    #: The PaymentIntent id, or the Charge id for a charge made without one.
    reference: str
    amount: Decimal


def confirm_charge(gateway: StripeGateway, confirmation_code: str) -> ConfirmedCharge:
    """Read the charge behind a ``<Pay>`` confirmation code from Stripe; raise unless paid."""
    if confirmation_code.startswith("pi_"):
        intent = gateway.find_intent(confirmation_code)
        if intent is None or intent.get("status") != "succeeded":
            raise _not_confirmed(confirmation_code, intent)
        cents = intent.get("amount_received") or intent.get("amount") or 0
        return ConfirmedCharge(str(intent["id"]), from_cents(int(cents)))
    charge = gateway.find_charge(confirmation_code) if confirmation_code else None
    if charge is None or charge.get("status") != "succeeded" or not charge.get("paid"):
        raise _not_confirmed(confirmation_code, charge)
    cents = int(charge.get("amount") or 0) - int(charge.get("amount_refunded") or 0)
    reference = charge.get("payment_intent") or charge["id"]
    if isinstance(reference, dict):
        reference = reference["id"]
    return ConfirmedCharge(str(reference), from_cents(cents))


def _not_confirmed(code: str, found: dict[str, Any] | None) -> ChargeNotConfirmed:
    state = "not found" if found is None else f"status {found.get('status')}"
    return ChargeNotConfirmed(
        f"Stripe has no succeeded charge for <Pay> confirmation code {code!r} ({state}); "
        "nothing was posted. Check the charge in Stripe before posting it by hand."
    )


def post_pay_charge(
    session: Session,
    gateway: StripeGateway,
    *,
    account_id: int,
    confirmation_code: str,
    call_sid: str,
    card_label: str | None,
    actor: str,
) -> Payment:
    """Post a ``<Pay>`` charge to the account once, for the amount Stripe charged."""
    key = f"twilio-pay:{call_sid}:{confirmation_code}"
    earlier = session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if earlier is not None:
        return earlier
    charge = confirm_charge(gateway, confirmation_code)
    # Stripe's event about the same intent waits here, so it finds this payment.
    lock_name(session, f"stripe:{charge.reference}")
    lock_account(session, account_id)
    suspense_item = session.scalar(
        select(SuspenseItem)
        .where(
            SuspenseItem.reference == charge.reference,
            SuspenseItem.status == SuspenseStatus.OPEN,
        )
        .with_for_update()
    )
    if suspense_item is not None and (suspense_item.detail or {}).get("provider") == PROVIDER:
        log.info(
            "<Pay> charge %s was held in suspense item %s; applying it",
            charge.reference,
            suspense_item.id,
        )
        payment = resolve_to_account(
            session,
            suspense_item.id,
            account_id=account_id,
            actor=actor,
            note=f"Twilio <Pay> on call {call_sid}",
        )
    else:
        payment = create_payment(
            session,
            account_id=account_id,
            amount=charge.amount,
            channel=PaymentChannel.IVR,
            method=PaymentMethod.CARD,
            provider=PROVIDER,
            external_ref=charge.reference,
            idempotency_key=key,
            taken_by=actor,
            received_on=get_settings().today(),
            method_label=card_label or "card",
            status=PaymentStatus.SUCCEEDED,
            source=f"twilio pay {confirmation_code}",
        )
        # A payment found by its PaymentIntent (made first by a webhook) may still be pending.
        change_status(
            session,
            payment,
            PaymentStatus.SUCCEEDED,
            source=f"twilio pay {confirmation_code}",
            strict=False,
        )
    record(
        session,
        actor=actor,
        action="payment.pay",
        outcome=payment.status.value,
        target=f"account:{account_id}",
        arguments={
            "amount": str(charge.amount),
            "channel": PaymentChannel.IVR.value,
            "card": card_label,
            "stripe": charge.reference,
        },
    )
    return payment
