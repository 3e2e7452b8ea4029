"""The suspense queue: money or bank notices that match no account, kept for a clerk.

Unmatched money is in the bank, so it is posted at once (cash in, suspense liability)
and the clerk's resolution moves it to the right account as a payment. Nothing is
dropped: an unmatched return or change notice waits here too, with no posting.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.ledger.chart import CASH, SUSPENSE
from app.ledger.models import EntryKind
from app.ledger.service import PostingLine, post_entry
from app.payments.bankfiles.models import SuspenseItem, SuspenseKind, SuspenseStatus
from app.payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.service import create_payment


def hold_in_suspense(
    session: Session,
    *,
    key: str,
    amount: Decimal,
    received_on: dt.date,
    reason: str,
    reference: str | None = None,
    payer_name: str | None = None,
    kind: SuspenseKind = SuspenseKind.UNMATCHED_PAYMENT,
    bank_file_id: int | None = None,
    line_number: int | None = None,
    detail: dict[str, Any] | None = None,
) -> SuspenseItem:
    """Queue an item for review; unmatched money is posted to suspense once per ``key``."""
    entry_id = None
    if kind == SuspenseKind.UNMATCHED_PAYMENT:
        entry = post_entry(
            session,
            key=f"suspense:{key}",
            kind=EntryKind.PAYMENT,
            effective_date=received_on,
            memo=f"Unidentified payment: {reason}"[:200],
            actor="suspense",
            lines=[PostingLine(CASH, amount), PostingLine(SUSPENSE, -amount)],
        )
        entry_id = entry.id
        found = session.scalar(
            select(SuspenseItem).where(SuspenseItem.journal_entry_id == entry_id)
        )
        if found is not None:
            return found
    item = SuspenseItem(
        kind=kind,
        bank_file_id=bank_file_id,
        line_number=line_number,
        amount=amount,
        received_on=received_on,
        # Bank files carry free text; the columns keep the start of it.
        reference=reference[:120] if reference else None,
        payer_name=payer_name[:120] if payer_name else None,
        reason=reason[:200],
        detail=detail or {},
        journal_entry_id=entry_id,
    )
    session.add(item)
    session.flush()
    return item


def open_items(session: Session, *, limit: int = 200) -> list[SuspenseItem]:
    return list(
        session.scalars(
            select(SuspenseItem)
            .where(SuspenseItem.status == SuspenseStatus.OPEN)
            .order_by(SuspenseItem.received_on, SuspenseItem.id)
            .limit(limit)
        )
    )


def resolve_to_account(
    session: Session, item_id: int, *, account_id: int, actor: str, note: str | None = None
) -> Payment:
    """Move an unmatched payment to an account: post it as a payment and clear suspense."""
    item = session.scalar(select(SuspenseItem).where(SuspenseItem.id == item_id).with_for_update())
    if item is None:
        raise NotFound(f"suspense item {item_id} not found", code="suspense_not_found")
    if item.status != SuspenseStatus.OPEN:
        raise Conflict(
            f"suspense item {item_id} was already resolved by {item.resolved_by}",
            code="suspense_resolved",
        )
    if item.kind != SuspenseKind.UNMATCHED_PAYMENT:
        raise Conflict(
            f"suspense item {item_id} has no money to apply; close it with a note instead",
            code="suspense_no_money",
        )
    from_stripe = (item.detail or {}).get("provider") == "stripe" and item.reference
    channel = PaymentChannel.LOCKBOX if item.bank_file_id else PaymentChannel.WEB
    payment = create_payment(
        session,
        account_id=account_id,
        amount=item.amount,
        channel=channel,
        method=PaymentMethod.CHECK if item.bank_file_id else PaymentMethod.CARD,
        # A card payment keeps its PaymentIntent, so reconciliation, refunds and disputes
        # find it like any other card payment.
        provider="stripe" if from_stripe else "suspense",
        external_ref=item.reference if from_stripe else f"suspense:{item.id}",
        idempotency_key=f"suspense:{item.id}",
        taken_by=actor,
        received_on=item.received_on,
        method_label=_method_label(item),
        status=PaymentStatus.SUCCEEDED,
        source=f"suspense item {item.id} resolved by {actor}",
    )
    # The payment posted cash in; the money was already in cash, so move it out of suspense.
    post_entry(
        session,
        key=f"suspense-cleared:{item.id}",
        kind=EntryKind.ADJUSTMENT,
        effective_date=item.received_on,
        memo=f"Suspense item {item.id} applied to payment {payment.id}",
        actor=actor,
        lines=[PostingLine(SUSPENSE, item.amount), PostingLine(CASH, -item.amount)],
    )
    _close(item, actor=actor, note=note, payment_id=payment.id)
    record(
        session,
        actor=actor,
        action="suspense.resolve",
        outcome="ok",
        target=f"suspense:{item.id}",
        arguments={"account_id": account_id, "payment_id": payment.id},
    )
    return payment


def _method_label(item: SuspenseItem) -> str:
    check_number = (item.detail or {}).get("check_number")
    if check_number:
        return f"check {check_number}"[:60]
    return "check" if item.bank_file_id else "card"


def close_without_money(session: Session, item_id: int, *, actor: str, note: str) -> SuspenseItem:
    """Close an unmatched return or change notice after the clerk has dealt with it."""
    note = " ".join(note.split())
    if not note:
        raise InvalidInput(
            "a note is required: say what the bank or the customer confirmed",
            code="suspense_note_missing",
        )
    item = session.get(SuspenseItem, item_id)
    if item is None:
        raise NotFound(f"suspense item {item_id} not found", code="suspense_not_found")
    if item.status != SuspenseStatus.OPEN:
        raise Conflict(
            f"suspense item {item_id} was already resolved by {item.resolved_by}",
            code="suspense_resolved",
        )
    if item.kind == SuspenseKind.UNMATCHED_PAYMENT:
        raise Conflict(
            f"suspense item {item_id} contains {item.amount}; apply it to an account",
            code="suspense_holds_money",
        )
    _close(item, actor=actor, note=note, payment_id=None)
    record(
        session,
        actor=actor,
        action="suspense.close",
        outcome="ok",
        target=f"suspense:{item.id}",
        detail=note,
    )
    return item


def _close(item: SuspenseItem, *, actor: str, note: str | None, payment_id: int | None) -> None:
    item.status = SuspenseStatus.RESOLVED
    item.resolved_by = actor
    item.resolved_at = utcnow()
    item.resolution_note = note
    item.resolved_payment_id = payment_id
