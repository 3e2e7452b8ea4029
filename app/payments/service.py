"""Recording payments, posting them once, and undoing them with reversals.

Every door (Stripe, bank drafts, lockbox, the counter) comes through here. A payment is
created once per idempotency key, moves only along ``ALLOWED`` transitions, and is
posted to the ledger exactly once when it succeeds. A return or dispute reverses that
entry and may add a fee; a refund posts money paid back, capped at what was paid.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.db import insert_ignoring_duplicates, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.ledger.chart import CASH, FEES, RECEIVABLES
from app.ledger.models import EntryKind, JournalEntry
from app.ledger.service import PostingLine, account_balance, post_entry, reverse_entry
from app.messaging.payment_alerts import deliver_after_commit
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentNotice,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
)
from app.settings import get_settings

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

S = PaymentStatus
#: Moves a payment may make. ``succeeded`` is final except for a return or a dispute,
#: so a late ``processing`` or ``payment_failed`` event cannot move it backwards.
ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.PENDING: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELED}),
    # A PaymentIntent that failed may be confirmed again with another card.
    S.FAILED: frozenset({S.PROCESSING, S.SUCCEEDED, S.CANCELED}),
    S.SUCCEEDED: frozenset({S.RETURNED, S.DISPUTED}),
    # A dispute the utility wins gives the money back.
    S.DISPUTED: frozenset({S.SUCCEEDED}),
    S.RETURNED: frozenset(),
    S.CANCELED: frozenset(),
}


def check_amount(amount: Decimal) -> Decimal:
    if amount <= 0 or amount != amount.quantize(CENT):
        raise InvalidInput(
            f"payment amount {amount} must be positive and in whole cents, such as 84.12",
            code="invalid_amount",
        )
    return amount


def lock_account(session: Session, account_id: int) -> Account:
    """Lock the account row (PostgreSQL) so balance checks and postings serialize."""
    account = session.scalar(select(Account).where(Account.id == account_id).with_for_update())
    if account is None:
        raise NotFound(f"account id {account_id} not found", code="account_not_found")
    return account


def create_payment(
    session: Session,
    *,
    account_id: int,
    amount: Decimal,
    channel: PaymentChannel,
    method: PaymentMethod,
    provider: str,
    idempotency_key: str,
    taken_by: str,
    received_on: dt.date,
    external_ref: str | None = None,
    method_label: str | None = None,
    bill_id: int | None = None,
    status: PaymentStatus = PaymentStatus.PENDING,
    source: str = "created",
    **links: Any,
) -> Payment:
    """Create a payment once per idempotency key; a repeat returns the first payment.

    The same key for another account or amount is a conflict. A payment created as
    ``succeeded`` is posted to the ledger in the same call.
    """
    check_amount(amount)
    existing = _find_existing(session, idempotency_key, provider, external_ref)
    if existing is not None:
        return _same_or_conflict(existing, account_id, amount, idempotency_key)
    payment = Payment(
        account_id=account_id,
        amount=amount,
        channel=channel,
        method=method,
        status=PaymentStatus.PENDING,
        provider=provider,
        external_ref=external_ref,
        idempotency_key=idempotency_key,
        method_label=method_label,
        bill_id=bill_id,
        received_on=received_on,
        taken_by=taken_by,
        **links,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key or reference committed first.
        existing = _find_existing(session, idempotency_key, provider, external_ref)
        if existing is None:
            raise
        return _same_or_conflict(existing, account_id, amount, idempotency_key)
    session.add(
        PaymentStatusChange(
            payment_id=payment.id, from_status=None, to_status=PaymentStatus.PENDING, source=source
        )
    )
    if status != PaymentStatus.PENDING:
        change_status(session, payment, status, source=source)
    return payment


def _find_existing(
    session: Session, key: str, provider: str, external_ref: str | None
) -> Payment | None:
    found = session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if found is None and external_ref is not None:
        found = session.scalar(
            select(Payment).where(
                Payment.provider == provider, Payment.external_ref == external_ref
            )
        )
    return found


def _same_or_conflict(payment: Payment, account_id: int, amount: Decimal, key: str) -> Payment:
    if payment.account_id != account_id or payment.amount != amount:
        raise Conflict(
            f"idempotency key {key!r} was already used for payment {payment.id} of "
            f"{payment.amount}; send a new key for a new payment",
            code="idempotency_key_reused",
        )
    return payment


def change_status(
    session: Session,
    payment: Payment,
    to: PaymentStatus,
    *,
    source: str,
    reason: str | None = None,
    strict: bool = True,
    effective_date: dt.date | None = None,
) -> bool:
    """Move a payment to ``to``; post it when it succeeds for the first time.

    A move that ``ALLOWED`` forbids raises a conflict, or with ``strict=False`` (late
    webhook events) is logged and ignored. Returns whether the status changed.
    """
    if payment.status == to:
        return False
    if to not in ALLOWED[payment.status]:
        if strict:
            raise Conflict(
                f"payment {payment.id} is {payment.status}; it cannot become {to}",
                code="payment_transition_invalid",
            )
        log.info(
            "ignored stale move of payment %s from %s to %s (source %s)",
            payment.id,
            payment.status,
            to,
            source,
        )
        return False
    session.add(
        PaymentStatusChange(
            payment_id=payment.id,
            from_status=payment.status,
            to_status=to,
            reason=reason,
            source=source,
        )
    )
    previous = payment.status
    payment.status = to
    payment.updated_at = utcnow()
    if to == PaymentStatus.SUCCEEDED and payment.journal_entry_id is None:
        _post(session, payment)
    elif to == PaymentStatus.SUCCEEDED and previous == PaymentStatus.DISPUTED:
        _reinstate(session, payment, source=source, effective_date=effective_date)
    session.flush()
    return True


def _post(session: Session, payment: Payment) -> None:
    lock_account(session, payment.account_id)
    owed_before = max(account_balance(session, payment.account_id), ZERO)
    entry = post_entry(
        session,
        key=f"payment:{payment.id}",
        kind=EntryKind.PAYMENT,
        effective_date=payment.received_on,
        memo=f"Payment by {payment.channel.value}",
        actor=payment.taken_by,
        lines=[
            PostingLine(CASH, payment.amount),
            PostingLine(RECEIVABLES, -payment.amount, payment.account_id),
        ],
    )
    payment.journal_entry_id = entry.id
    payment.credit_on_account = max(payment.amount - owed_before, ZERO)
    if payment.credit_on_account > 0:
        log.info(
            "payment %s left a credit of %s on the account", payment.id, payment.credit_on_account
        )
    queue_notice(
        session,
        NoticeKind.PAYMENT_RECEIVED,
        account_id=payment.account_id,
        payment=payment,
        key=f"receipt:{payment.id}",
        credit_on_account=str(payment.credit_on_account),
        balance_after=str(owed_before - payment.amount),
    )


def _reinstate(
    session: Session, payment: Payment, *, source: str, effective_date: dt.date | None
) -> None:
    post_entry(
        session,
        key=f"payment:{payment.id}:reinstated",
        kind=EntryKind.PAYMENT,
        effective_date=effective_date or get_settings().today(),
        memo="Payment reinstated: dispute won",
        actor=source,
        lines=[
            PostingLine(CASH, payment.amount),
            PostingLine(RECEIVABLES, -payment.amount, payment.account_id),
        ],
    )


def reverse_payment(
    session: Session,
    payment: Payment,
    *,
    to: PaymentStatus,
    reason: str,
    source: str,
    effective_date: dt.date,
    fee: Decimal = ZERO,
    notice: NoticeKind,
) -> JournalEntry:
    """Reverse a succeeded payment (a bank return or a card dispute) and add a fee.

    The bill the payment paid is open again with its original due date, because
    application is computed from the ledger.
    """
    if payment.journal_entry_id is None:
        raise Conflict(
            f"payment {payment.id} was never posted, so there is nothing to reverse",
            code="payment_not_posted",
        )
    change_status(session, payment, to, source=source, reason=reason)
    reversal = reverse_entry(
        session,
        payment.journal_entry_id,
        actor=source,
        memo=f"Payment {to.value}: {reason}"[:200],
        effective_date=effective_date,
    )
    payment.reversal_entry_id = reversal.id
    if fee > 0:
        post_entry(
            session,
            key=f"fee:{to.value}:{payment.id}",
            kind=EntryKind.FEE,
            effective_date=effective_date,
            memo=f"{to.value.title()} payment fee",
            actor=source,
            lines=[
                PostingLine(RECEIVABLES, fee, payment.account_id),
                PostingLine(FEES, -fee),
            ],
        )
    queue_notice(
        session,
        notice,
        account_id=payment.account_id,
        payment=payment,
        key=f"{notice.value}:{payment.id}",
        reason=reason,
        fee=str(fee),
    )
    return reversal


def refunded_total(session: Session, payment_id: int) -> Decimal:
    total = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.payment_id == payment_id)
    )
    return Decimal(total or 0).quantize(CENT)


def check_refund(session: Session, payment: Payment, amount: Decimal) -> None:
    """Raise unless ``amount`` can be refunded: posted, not reversed, within the cap."""
    check_amount(amount)
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Conflict(
            f"payment {payment.id} is {payment.status}; only a succeeded payment is refunded",
            code="refund_not_allowed",
        )
    already = refunded_total(session, payment.id)
    if already + amount > payment.amount:
        raise InvalidInput(
            f"refund of {amount} on payment {payment.id} would bring refunds to "
            f"{already + amount}, more than the {payment.amount} paid; at most "
            f"{payment.amount - already} can still be refunded",
            code="refund_exceeds_payment",
        )


def record_refund(
    session: Session,
    payment: Payment,
    *,
    amount: Decimal,
    refund_ref: str,
    actor: str,
    effective_date: dt.date,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> Refund:
    """Post money paid back on a payment, once per refund reference, within the cap."""
    existing = session.scalar(select(Refund).where(Refund.refund_ref == refund_ref))
    if existing is not None:
        if idempotency_key and existing.idempotency_key is None:
            # The webhook reported this refund before the call that started it returned.
            existing.idempotency_key = idempotency_key
        return existing
    session.scalar(select(Payment.id).where(Payment.id == payment.id).with_for_update())
    check_refund(session, payment, amount)
    entry = post_entry(
        session,
        key=f"refund:{refund_ref}",
        kind=EntryKind.REFUND,
        effective_date=effective_date,
        memo=f"Refund on payment {payment.id}",
        actor=actor,
        lines=[
            PostingLine(RECEIVABLES, amount, payment.account_id),
            PostingLine(CASH, -amount),
        ],
    )
    refund = Refund(
        payment_id=payment.id,
        refund_ref=refund_ref,
        amount=amount,
        reason=reason,
        journal_entry_id=entry.id,
        created_by=actor,
        idempotency_key=idempotency_key,
    )
    session.add(refund)
    session.flush()
    queue_notice(
        session,
        NoticeKind.PAYMENT_REFUNDED,
        account_id=payment.account_id,
        payment=payment,
        key=f"refund:{refund_ref}",
        amount=str(amount),
    )
    return refund


def queue_notice(
    session: Session,
    kind: NoticeKind,
    *,
    account_id: int,
    key: str,
    payment: Payment | None = None,
    **payload: str,
) -> bool:
    """Queue a customer notice once per key; the messaging outbox delivers it.

    The texted kinds go out once the transaction commits (``app.messaging.payment_alerts``).
    Returns False when the notice was already queued.
    """
    if payment is not None:
        payload.setdefault("amount", str(payment.amount))
        payload.setdefault("method", payment.method_label or payment.method.value)
        payload.setdefault("received_on", payment.received_on.isoformat())
    row = {
        "notice_key": key,
        "kind": kind,
        "account_id": account_id,
        "payment_id": payment.id if payment is not None else None,
        "payload": payload,
        "created_at": utcnow(),
    }
    queued = insert_ignoring_duplicates(session, PaymentNotice, [row], ["notice_key"]) == 1
    if queued:
        deliver_after_commit(session)
    return queued
