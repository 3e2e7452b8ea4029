"""Nightly reconciliation of card payments with Stripe. It reports and never posts.

For one local day it lists the charges that Stripe created and matches each to our
payment by PaymentIntent id (``Payment.external_ref``), or else by the idempotency key
we put in the PaymentIntent's metadata. It reports charges with no payment here,
payments with no charge at Stripe, and payments whose amount, status or refunds differ.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.usage import local_midnight_utc
from app.payments.cards.gateway import StripeGateway, from_cents
from app.payments.cards.service import PROVIDER
from app.payments.models import Payment
from app.payments.service import refunded_total
from app.settings import get_settings

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class StripeCharge:
    """A charge at Stripe, as the report lists it."""

    charge_ref: str
    payment_intent_ref: str | None
    amount: Decimal
    status: str
    created_at: dt.datetime


@dataclass(frozen=True)
class UnmatchedPayment:
    """A payment of ours whose PaymentIntent Stripe does not have."""

    payment_id: int
    payment_intent_ref: str | None
    amount: Decimal
    status: str


@dataclass(frozen=True)
class Mismatch:
    """A payment of ours that Stripe records differently: ``ours`` against ``stripe``."""

    payment_id: int
    payment_intent_ref: str | None
    ours: str
    stripe: str


@dataclass
class ReconcileReport:
    """The findings of one day's reconciliation. An empty list means nothing to look at."""

    day: dt.date
    #: Charges listed at Stripe for the day.
    charges_listed: int = 0
    #: Payments of ours found at Stripe, with or without a mismatch.
    matched: int = 0
    #: Charges that moved money (succeeded or pending) with no payment of ours.
    charges_without_payment: list[StripeCharge] = field(default_factory=list)
    #: Payments of ours, received that day, whose PaymentIntent Stripe does not have.
    payments_without_charge: list[UnmatchedPayment] = field(default_factory=list)
    amount_mismatches: list[Mismatch] = field(default_factory=list)
    #: Succeeded at Stripe but not posted here, or posted here but not succeeded there.
    status_mismatches: list[Mismatch] = field(default_factory=list)
    #: Money refunded at Stripe against the refunds posted here.
    refund_mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.charges_without_payment
            or self.payments_without_charge
            or self.amount_mismatches
            or self.status_mismatches
            or self.refund_mismatches
        )


@dataclass(frozen=True)
class _StripeSide:
    """Stripe's record of one PaymentIntent, or of one charge made without one."""

    intent_ref: str | None
    metadata: dict[str, Any]
    charges: list[dict[str, Any]]

    @property
    def settled(self) -> dict[str, Any] | None:
        """Return the charge that took the money (succeeded and captured), if any."""
        for charge in self.charges:
            if charge.get("status") == SUCCEEDED and charge.get("captured", True):
                return charge
        return None


def reconcile_stripe(session: Session, gateway: StripeGateway, *, day: dt.date) -> ReconcileReport:
    """Compare the Stripe charges created on the local ``day`` with our payments.

    Payments of ours received that day but not among the listed charges are looked up
    by PaymentIntent. Nothing is written: the caller decides what to post or refund.
    """
    zone = get_settings().zone
    start = local_midnight_utc(day, zone)
    end = local_midnight_utc(day + dt.timedelta(days=1), zone)
    charges = gateway.list_charges(
        created_from=int(start.timestamp()), created_to=int(end.timestamp())
    )
    report = ReconcileReport(day=day, charges_listed=len(charges))

    compared: set[int] = set()
    for side in _group_by_intent(charges):
        payment = _find_payment(session, side)
        if payment is None:
            report.charges_without_payment.extend(_charges_that_moved_money(side))
            continue
        compared.add(payment.id)
        report.matched += 1
        _compare_charges(session, report, payment, side)

    for payment in _stripe_payments_received(session, day):
        if payment.id not in compared:
            _check_unlisted(gateway, report, payment)

    log.info(
        "Stripe reconciliation of %s: %s charges, %s matched, %s charges without payment, "
        "%s payments without charge, %s amount, %s status and %s refund mismatches",
        day,
        report.charges_listed,
        report.matched,
        len(report.charges_without_payment),
        len(report.payments_without_charge),
        len(report.amount_mismatches),
        len(report.status_mismatches),
        len(report.refund_mismatches),
    )
    return report


def _group_by_intent(charges: Iterable[dict[str, Any]]) -> list[_StripeSide]:
    """Group charges by PaymentIntent, because a declined card and a retry share one."""
    sides: dict[str, _StripeSide] = {}
    for charge in charges:
        intent = charge.get("payment_intent")
        if isinstance(intent, dict):
            intent_ref, metadata = str(intent["id"]), dict(intent.get("metadata") or {})
        elif isinstance(intent, str):
            intent_ref, metadata = intent, {}
        else:
            intent_ref, metadata = None, {}
        # A charge made without a PaymentIntent is grouped alone under its own id.
        key = intent_ref or str(charge["id"])
        side = sides.setdefault(key, _StripeSide(intent_ref, metadata, []))
        side.charges.append(charge)
    return list(sides.values())


def _find_payment(session: Session, side: _StripeSide) -> Payment | None:
    if side.intent_ref is None:
        return None
    payment = session.scalar(
        select(Payment).where(Payment.provider == PROVIDER, Payment.external_ref == side.intent_ref)
    )
    if payment is not None:
        return payment
    # A call that timed out or was declined may have left our payment without the id.
    key = side.metadata.get("upm_payment_key")
    if not key:
        return None
    return session.scalar(
        select(Payment).where(Payment.provider == PROVIDER, Payment.idempotency_key == key)
    )


def _charges_that_moved_money(side: _StripeSide) -> list[StripeCharge]:
    return [
        StripeCharge(
            charge_ref=str(charge["id"]),
            payment_intent_ref=side.intent_ref,
            amount=from_cents(int(charge["amount"])),
            status=str(charge["status"]),
            created_at=dt.datetime.fromtimestamp(int(charge["created"]), dt.UTC),
        )
        for charge in side.charges
        if charge.get("status") in (SUCCEEDED, "pending")
    ]


def _compare_charges(
    session: Session, report: ReconcileReport, payment: Payment, side: _StripeSide
) -> None:
    settled = side.settled
    if settled is not None:
        stripe_status = SUCCEEDED
    elif any(charge.get("status") == "pending" for charge in side.charges):
        stripe_status = "pending"
    else:
        stripe_status = "failed"
    _compare_status(report, payment, side.intent_ref, stripe_status)

    charge = settled or side.charges[-1]
    _compare_amount(report, payment, side.intent_ref, from_cents(int(charge["amount"])))

    if settled is not None:
        theirs = from_cents(int(settled.get("amount_refunded") or 0))
        ours = refunded_total(session, payment.id)
        if theirs != ours:
            report.refund_mismatches.append(
                Mismatch(payment.id, side.intent_ref, ours=str(ours), stripe=str(theirs))
            )


def _check_unlisted(gateway: StripeGateway, report: ReconcileReport, payment: Payment) -> None:
    """Look up a payment of the day that no listed charge matched, by its PaymentIntent."""
    if payment.external_ref is None:
        # Without an id there is nothing to look up. Only a posted payment is a problem.
        if payment.journal_entry_id is not None:
            report.payments_without_charge.append(_unmatched(payment))
        return
    intent = gateway.find_intent(payment.external_ref)
    if intent is None:
        report.payments_without_charge.append(_unmatched(payment))
        return
    # The PaymentIntent exists with no charge that day, so it is unpaid or was charged later.
    _compare_status(report, payment, payment.external_ref, str(intent.get("status")))
    if intent.get("status") == SUCCEEDED:
        amount = from_cents(int(intent.get("amount_received") or intent.get("amount") or 0))
        _compare_amount(report, payment, payment.external_ref, amount)


def _compare_status(
    report: ReconcileReport, payment: Payment, intent_ref: str | None, stripe_status: str
) -> None:
    posted = payment.journal_entry_id is not None
    if (stripe_status == SUCCEEDED) != posted:
        ours = f"{payment.status.value} ({'posted' if posted else 'not posted'})"
        report.status_mismatches.append(
            Mismatch(payment.id, intent_ref, ours=ours, stripe=stripe_status)
        )


def _compare_amount(
    report: ReconcileReport, payment: Payment, intent_ref: str | None, amount: Decimal
) -> None:
    if amount != payment.amount:
        report.amount_mismatches.append(
            Mismatch(payment.id, intent_ref, ours=str(payment.amount), stripe=str(amount))
        )


def _stripe_payments_received(session: Session, day: dt.date) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.provider == PROVIDER, Payment.received_on == day)
            .order_by(Payment.id)
        )
    )


def _unmatched(payment: Payment) -> UnmatchedPayment:
    return UnmatchedPayment(
        payment_id=payment.id,
        payment_intent_ref=payment.external_ref,
        amount=payment.amount,
        status=payment.status.value,
    )
