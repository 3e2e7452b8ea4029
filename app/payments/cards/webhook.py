"""Stripe webhook events: verified over the raw body, claimed once, applied forward only.

Stripe delivers each event at least once and in no fixed order. The event id is claimed
before anything else, a payment is found by its PaymentIntent (or created from the
metadata we set), and status moves go through the payment state machine, so a late
``processing`` or ``payment_failed`` after ``succeeded`` changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.db import lock_name
from app.errors import DomainError
from app.inbound.service import claim_event
from app.ledger.chart import CASH, RECEIVABLES
from app.ledger.models import EntryKind
from app.ledger.service import PostingLine, post_entry
from app.payments.cards.gateway import from_cents
from app.payments.models import NoticeKind, Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.service import (
    change_status,
    create_payment,
    queue_notice,
    record_refund,
    refunded_total,
    reverse_payment,
)
from app.payments.suspense import hold_in_suspense
from app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "stripe"
TOLERANCE_SECONDS = 300


class SignatureInvalid(DomainError):
    code = "signature_invalid"
    http_status = 400


def verify_event(payload: bytes, header: str | None, secrets: list[str]) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` header over the untouched body with each secret.

    Two secrets are configured during a rotation; the event is accepted when any of
    them matches any ``v1`` signature in the header, within a 300-second tolerance.
    """
    if not secrets:
        raise SignatureInvalid("Stripe webhooks are not configured: set UPM_STRIPE_WEBHOOK_SECRETS")
    if not header:
        raise SignatureInvalid("missing Stripe-Signature header")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), header, secret, TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            continue
        try:
            event = json.loads(payload)
        except ValueError as error:
            raise SignatureInvalid(f"webhook body is not JSON: {error}") from error
        if not isinstance(event, dict) or "id" not in event or "type" not in event:
            raise SignatureInvalid("webhook body is not a Stripe event (no id or type)")
        return event
    raise SignatureInvalid("Stripe-Signature does not match any configured secret or is too old")


def handle_event(session: Session, event: dict[str, Any]) -> str:
    """Apply one verified event; return what happened, for the response and the log."""
    if not claim_event(session, provider=PROVIDER, event_id=event["id"], kind=event["type"]):
        return "duplicate"
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    obj = event.get("data", {}).get("object", {})
    return handler(session, obj, f"stripe event {event['id']}")


def _payment_for_intent(session: Session, intent: dict[str, Any], source: str) -> Payment | None:
    """Find the payment of a PaymentIntent, or create it from the metadata we set."""
    intent_ref = intent.get("id")
    # A Twilio <Pay> callback may be posting this same intent right now (twilio_pay.py).
    lock_name(session, f"stripe:{intent_ref}")
    payment = session.scalar(
        select(Payment).where(Payment.provider == PROVIDER, Payment.external_ref == intent_ref)
    )
    if payment is not None:
        return payment
    metadata = intent.get("metadata") or {}
    key = metadata.get("upm_payment_key")
    if key:
        payment = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        if payment is not None:
            if payment.external_ref is None:
                payment.external_ref = intent_ref
            return payment
    account_id = metadata.get("upm_account_id")
    if not account_id or not str(account_id).isdigit():
        return None
    if session.get(Account, int(account_id)) is None:
        return None
    channel = metadata.get("upm_channel", PaymentChannel.WEB.value)
    return create_payment(
        session,
        account_id=int(account_id),
        amount=from_cents(int(intent.get("amount_received") or intent.get("amount") or 0)),
        channel=PaymentChannel(channel)
        if channel in PaymentChannel._value2member_map_
        else PaymentChannel.WEB,
        method=PaymentMethod.CARD,
        provider=PROVIDER,
        external_ref=intent_ref,
        idempotency_key=key or f"stripe:{intent_ref}",
        taken_by="stripe",
        received_on=_event_date(intent),
        method_label="card",
        source=source,
    )


def _event_date(obj: dict[str, Any]) -> dt.date:
    created = obj.get("created")
    if isinstance(created, int):
        return dt.datetime.fromtimestamp(created, get_settings().zone).date()
    return get_settings().today()


def _intent_succeeded(session: Session, intent: dict[str, Any], source: str) -> str:
    payment = _payment_for_intent(session, intent, source)
    if payment is None:
        amount = from_cents(int(intent.get("amount_received") or intent.get("amount") or 0))
        hold_in_suspense(
            session,
            key=f"stripe:{intent.get('id')}",
            amount=amount,
            received_on=_event_date(intent),
            reference=str(intent.get("id")),
            reason="card payment names no account of ours",
            detail={"metadata": intent.get("metadata") or {}, "provider": PROVIDER},
        )
        return "suspense"
    label = _card_label(intent)
    if label and payment.method_label in (None, "card"):
        payment.method_label = label
    changed = change_status(session, payment, PaymentStatus.SUCCEEDED, source=source, strict=False)
    return "posted" if changed else "unchanged"


def _card_label(intent: dict[str, Any]) -> str | None:
    """Return "Visa ending 4242" from the intent's charge, when the event carries it."""
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        charges = (intent.get("charges") or {}).get("data") or []
        charge = charges[0] if charges and isinstance(charges[0], dict) else None
    card = ((charge or {}).get("payment_method_details") or {}).get("card") or {}
    if card.get("brand") and card.get("last4"):
        return f"{str(card['brand']).title()} ending {card['last4']}"[:60]
    return None


def _intent_moved(to: PaymentStatus) -> Any:
    def handler(session: Session, intent: dict[str, Any], source: str) -> str:
        payment = _payment_for_intent(session, intent, source)
        if payment is None:
            return "unmatched"
        error = intent.get("last_payment_error") or {}
        if to == PaymentStatus.FAILED and payment.status != PaymentStatus.SUCCEEDED:
            payment.failure_code = error.get("decline_code") or error.get("code")
            payment.failure_message = (error.get("message") or "")[:300] or None
        changed = change_status(session, payment, to, source=source, strict=False)
        if changed and to == PaymentStatus.FAILED:
            queue_notice(
                session,
                NoticeKind.PAYMENT_DECLINED,
                account_id=payment.account_id,
                payment=payment,
                key=f"declined:{payment.id}:{intent.get('id')}",
                decline_code=payment.failure_code or "",
            )
        return "updated" if changed else "unchanged"

    return handler


def _payment_for_charge(session: Session, charge: dict[str, Any]) -> Payment | None:
    intent_ref = charge.get("payment_intent")
    if not intent_ref:
        return None
    return session.scalar(
        select(Payment).where(Payment.provider == PROVIDER, Payment.external_ref == intent_ref)
    )


def _charge_refunded(session: Session, charge: dict[str, Any], source: str) -> str:
    """Post each refund once by its ``re_…`` id; without them, post only the new part.

    ``amount_refunded`` is cumulative, so it is never posted as if it were one refund.
    """
    payment = _payment_for_charge(session, charge)
    if payment is None:
        log.warning("refund event for unknown charge %s (%s)", charge.get("id"), source)
        return "unmatched"
    today = _event_date(charge)
    refunds = (charge.get("refunds") or {}).get("data") or []
    if refunds:
        for refund in refunds:
            if refund.get("status") in ("failed", "canceled"):
                continue
            record_refund(
                session,
                payment,
                amount=from_cents(int(refund["amount"])),
                refund_ref=str(refund["id"]),
                actor="stripe",
                effective_date=today,
            )
        return "refunded"
    cumulative = from_cents(int(charge.get("amount_refunded") or 0))
    new_part = cumulative - refunded_total(session, payment.id)
    if new_part <= 0:
        return "unchanged"
    record_refund(
        session,
        payment,
        amount=new_part,
        refund_ref=f"{charge.get('id')}:refunded-to:{cumulative}",
        actor="stripe",
        effective_date=today,
    )
    return "refunded"


def _dispute_created(session: Session, dispute: dict[str, Any], source: str) -> str:
    payment = _payment_for_charge(session, dispute)
    if payment is None:
        log.warning("dispute %s for unknown charge (%s)", dispute.get("id"), source)
        return "unmatched"
    if payment.status != PaymentStatus.SUCCEEDED:
        return "unchanged"
    disputed = from_cents(int(dispute.get("amount") or 0))
    reason = f"card dispute {dispute.get('id')}: {dispute.get('reason') or 'no reason given'}"
    if disputed >= payment.amount - refunded_total(session, payment.id):
        reverse_payment(
            session,
            payment,
            to=PaymentStatus.DISPUTED,
            reason=reason,
            source=source,
            effective_date=_event_date(dispute),
            fee=get_settings().dispute_fee,
            notice=NoticeKind.PAYMENT_DISPUTED,
        )
        return "disputed"
    # NOTE: a dispute for part of a payment keeps the payment succeeded and posts the
    # disputed part back to the receivable; winning it posts that part again.
    _post_partial_dispute(session, payment, disputed, dispute, reason)
    return "disputed"


def _post_partial_dispute(
    session: Session, payment: Payment, disputed: Decimal, dispute: dict[str, Any], reason: str
) -> None:
    post_entry(
        session,
        key=f"dispute:{dispute.get('id')}",
        kind=EntryKind.RETURN,
        effective_date=_event_date(dispute),
        memo=reason[:200],
        actor="stripe",
        lines=[
            PostingLine(RECEIVABLES, disputed, payment.account_id),
            PostingLine(CASH, -disputed),
        ],
    )


def _dispute_closed(session: Session, dispute: dict[str, Any], source: str) -> str:
    payment = _payment_for_charge(session, dispute)
    if payment is None or dispute.get("status") != "won":
        return "unchanged"
    if payment.status == PaymentStatus.DISPUTED:
        change_status(
            session,
            payment,
            PaymentStatus.SUCCEEDED,
            source=source,
            reason="dispute won",
            effective_date=_event_date(dispute),
        )
        return "reinstated"
    disputed = from_cents(int(dispute.get("amount") or 0))
    post_entry(
        session,
        key=f"dispute-won:{dispute.get('id')}",
        kind=EntryKind.PAYMENT,
        effective_date=_event_date(dispute),
        memo=f"Dispute {dispute.get('id')} won",
        actor="stripe",
        lines=[
            PostingLine(CASH, disputed),
            PostingLine(RECEIVABLES, -disputed, payment.account_id),
        ],
    )
    return "reinstated"


HANDLERS = {
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.processing": _intent_moved(PaymentStatus.PROCESSING),
    "payment_intent.payment_failed": _intent_moved(PaymentStatus.FAILED),
    "payment_intent.canceled": _intent_moved(PaymentStatus.CANCELED),
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
