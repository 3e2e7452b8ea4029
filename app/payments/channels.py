"""The payment functions every channel calls: web, IVR, SMS, Slack and the counter.

Each takes the caller's idempotency key (an IVR ``CallSid`` and step, an SMS
``MessageSid``, a form token) so a retried request acts once, and records the channel.
The channel adapters only turn a conversation into these calls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.inbound.service import claim_event
from app.payments.autopay.models import AutopayEnrollment, AutopayMethod, EnrollmentStatus
from app.payments.cards import service as cards
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.models import PaymentLink, SavedCard
from app.payments.drafts.models import BankAccount, BankAccountStatus
from app.payments.models import Payment, PaymentChannel, PaymentStatus
from app.payments.owed import AmountOwed, amount_owed
from app.payments.service import refunded_total
from app.settings import get_settings


def look_up(session: Session, account_id: int, *, today: dt.date | None = None) -> AmountOwed:
    """Return balance, amount due, due date, past due and the last payment."""
    return amount_owed(session, account_id, today=today or get_settings().today())


def pay(
    session: Session,
    *,
    account_id: int,
    channel: PaymentChannel,
    idempotency_key: str,
    actor: str,
    amount: Decimal | None = None,
    saved_card_id: int | None = None,
    gateway: StripeGateway | None = None,
) -> Payment:
    """Pay with a saved card: the amount due unless an amount is given.

    The customer is present (web, phone, text), so the charge is on-session.
    """
    card = _card(session, account_id, saved_card_id)
    if amount is None:
        earlier = select(Payment.amount).where(Payment.idempotency_key == idempotency_key)
        amount = _amount_due(session, account_id, session.scalar(earlier))
    payment = cards.charge_saved_card(
        session,
        gateway or StripeGateway(),
        account_id=account_id,
        amount=amount,
        card=card,
        channel=channel,
        idempotency_key=idempotency_key,
        actor=actor,
        off_session=False,
    )
    record(
        session,
        actor=actor,
        action="payment.pay",
        outcome=payment.status.value,
        target=f"account:{account_id}",
        arguments={"amount": str(amount), "channel": channel.value, "card": card.label},
    )
    return payment


def _amount_due(session: Session, account_id: int, earlier: Decimal | None) -> Decimal:
    """Return ``earlier``, the amount of a first request with the same key, or the amount due.

    A retry must reach the first payment or link even though nothing is owed once it is paid.
    """
    if earlier is not None:
        return earlier
    amount = look_up(session, account_id).amount_due
    if amount <= 0:
        raise InvalidInput(
            "nothing is owed on this account; give an amount to pay ahead",
            code="nothing_owed",
        )
    return amount


def _card(session: Session, account_id: int, saved_card_id: int | None) -> SavedCard:
    if saved_card_id is None:
        card = cards.default_card(session, account_id)
        if card is None:
            raise NotFound(
                "no saved card on this account; send a payment link instead",
                code="no_saved_card",
            )
        return card
    card = session.get(SavedCard, saved_card_id)
    if card is None or card.account_id != account_id or card.removed_at is not None:
        raise NotFound(
            f"saved card {saved_card_id} is not an active card of this account",
            code="card_not_found",
        )
    return card


def start_payment_link(
    session: Session,
    *,
    account_id: int,
    channel: PaymentChannel,
    idempotency_key: str,
    actor: str,
    amount: Decimal | None = None,
) -> tuple[PaymentLink, str]:
    """Create a hosted payment link (for the amount due by default); return it and its URL."""
    if amount is None:
        earlier = select(PaymentLink.amount).where(PaymentLink.idempotency_key == idempotency_key)
        amount = _amount_due(session, account_id, session.scalar(earlier))
    link = cards.start_payment_link(
        session,
        account_id=account_id,
        amount=amount,
        channel=channel,
        idempotency_key=idempotency_key,
        actor=actor,
    )
    return link, cards.link_url(link)


def enroll_autopay(
    session: Session,
    *,
    account_id: int,
    channel: PaymentChannel,
    idempotency_key: str,
    actor: str,
    saved_card_id: int | None = None,
    bank_account_id: int | None = None,
) -> AutopayEnrollment:
    """Enroll the account in autopay by card or bank draft; a new enrollment replaces the old."""
    existing = session.scalar(
        select(AutopayEnrollment).where(AutopayEnrollment.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing
    if (saved_card_id is None) == (bank_account_id is None):
        raise InvalidInput(
            "name exactly one of a saved card or a bank account for autopay",
            code="autopay_method_missing",
        )
    method = AutopayMethod.CARD if saved_card_id is not None else AutopayMethod.BANK_DRAFT
    if saved_card_id is not None:
        _card(session, account_id, saved_card_id)
    else:
        bank = session.get(BankAccount, bank_account_id)
        if bank is None or bank.account_id != account_id:
            raise NotFound(
                f"bank account {bank_account_id} is not on this account", code="bank_not_found"
            )
        if bank.status != BankAccountStatus.ACTIVE:
            raise Conflict(
                f"bank account ending {bank.number_last4} is {bank.status.value} "
                f"({bank.suspended_reason}); a new authorization is needed",
                code="bank_account_suspended",
            )
    for old in active_enrollments(session, account_id):
        _end(old, EnrollmentStatus.CANCELED, "replaced by a new enrollment")
    enrollment = AutopayEnrollment(
        account_id=account_id,
        method=method,
        saved_card_id=saved_card_id,
        bank_account_id=bank_account_id,
        idempotency_key=idempotency_key,
        channel=channel.value,
        enrolled_by=actor,
    )
    session.add(enrollment)
    session.flush()
    record(
        session,
        actor=actor,
        action="autopay.enroll",
        outcome="ok",
        target=f"account:{account_id}",
        arguments={"method": method.value, "channel": channel.value},
    )
    return enrollment


def cancel_autopay(
    session: Session,
    *,
    account_id: int,
    channel: PaymentChannel,
    idempotency_key: str,
    actor: str,
    reason: str = "canceled by request",
) -> int:
    """Cancel the account's autopay; return how many enrollments ended (0 on a repeat)."""
    if not claim_event(session, provider="upm", event_id=idempotency_key, kind="autopay.cancel"):
        return 0
    ended = 0
    for enrollment in active_enrollments(session, account_id):
        _end(enrollment, EnrollmentStatus.CANCELED, reason)
        ended += 1
    record(
        session,
        actor=actor,
        action="autopay.cancel",
        outcome="ok" if ended else "none_active",
        target=f"account:{account_id}",
        arguments={"channel": channel.value},
    )
    return ended


def active_enrollments(session: Session, account_id: int) -> list[AutopayEnrollment]:
    return list(
        session.scalars(
            select(AutopayEnrollment).where(
                AutopayEnrollment.account_id == account_id,
                AutopayEnrollment.status == EnrollmentStatus.ACTIVE,
            )
        )
    )


def _end(enrollment: AutopayEnrollment, status: EnrollmentStatus, reason: str) -> None:
    enrollment.status = status
    enrollment.ended_at = utcnow()
    enrollment.ended_reason = reason[:200]


@dataclass(frozen=True)
class PaymentRecord:
    payment_id: int
    received_on: dt.date
    amount: Decimal
    refunded: Decimal
    channel: str
    method_label: str | None
    status: str


def payment_history(session: Session, account_id: int, *, limit: int = 24) -> list[PaymentRecord]:
    """List the account's payments, newest first, with what was refunded on each."""
    payments = session.scalars(
        select(Payment)
        .where(Payment.account_id == account_id, Payment.status != PaymentStatus.PENDING)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .limit(limit)
    )
    return [
        PaymentRecord(
            payment_id=payment.id,
            received_on=payment.received_on,
            amount=payment.amount,
            refunded=refunded_total(session, payment.id),
            channel=payment.channel.value,
            method_label=payment.method_label,
            status=payment.status.value,
        )
        for payment in payments
    ]
