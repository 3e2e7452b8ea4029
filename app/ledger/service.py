"""Posting to the ledger: balanced, append-only, idempotent by entry key."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.ledger.chart import ADJUSTMENTS, CASH, RECEIVABLES, ensure_chart
from app.ledger.models import EntryKind, JournalEntry, Posting

log = logging.getLogger(__name__)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PostingLine:
    """One side of an entry: a ledger account code, an optional customer account, an amount.

    Debits are positive and credits negative.
    """

    ledger_code: str
    amount: Decimal
    account_id: int | None = None


def check_balanced(lines: Sequence[PostingLine]) -> None:
    """Raise unless the lines are whole cents, name receivables' accounts, and sum to zero."""
    if len(lines) < 2:
        raise InvalidInput("a journal entry needs at least two postings", code="entry_too_short")
    for line in lines:
        if line.amount != line.amount.quantize(CENT):
            raise InvalidInput(
                f"posting amount {line.amount} is not whole cents; round each line once first",
                code="amount_not_cents",
            )
        if line.ledger_code == RECEIVABLES and line.account_id is None:
            raise InvalidInput(
                "a receivables posting must name the customer account", code="receivable_no_account"
            )
    total = sum((line.amount for line in lines), Decimal(0))
    if total != 0:
        raise InvalidInput(
            f"journal entry does not balance: postings sum to {total}, expected 0",
            code="entry_unbalanced",
        )


def post_entry(
    session: Session,
    *,
    key: str,
    kind: EntryKind,
    effective_date: dt.date,
    memo: str,
    actor: str,
    lines: Sequence[PostingLine],
    reverses_id: int | None = None,
) -> JournalEntry:
    """Post a balanced entry once: a second call with the same ``key`` returns the first.

    The same key with different postings is a conflict, never a silent second posting.
    """
    check_balanced(lines)
    existing = session.scalar(select(JournalEntry).where(JournalEntry.entry_key == key))
    if existing is not None:
        if _same_postings(existing, lines):
            return existing
        raise Conflict(
            f"entry key {key!r} was already posted with other amounts; use a new key",
            code="entry_key_reused",
        )
    chart = ensure_chart(session)
    entry = JournalEntry(
        entry_key=key,
        kind=kind,
        effective_date=effective_date,
        memo=memo,
        actor=actor,
        reverses_id=reverses_id,
    )
    session.add(entry)
    session.flush()
    for line in lines:
        if line.ledger_code not in chart:
            raise InvalidInput(
                f"ledger account {line.ledger_code!r} is not in the chart of accounts",
                code="unknown_ledger_account",
            )
        session.add(
            Posting(
                entry_id=entry.id,
                ledger_account_id=chart[line.ledger_code],
                account_id=line.account_id,
                amount=line.amount,
            )
        )
    session.flush()
    log.info("posted journal entry %s kind=%s key=%s", entry.id, kind, key)
    return entry


def _same_postings(entry: JournalEntry, lines: Sequence[PostingLine]) -> bool:
    stored = sorted(
        (posting.ledger_account.code, posting.account_id, posting.amount)
        for posting in entry.postings
    )
    expected = sorted((line.ledger_code, line.account_id, line.amount) for line in lines)
    return stored == expected


def reverse_entry(
    session: Session, entry_id: int, *, actor: str, memo: str, effective_date: dt.date
) -> JournalEntry:
    """Post the mirror image of an entry; an entry is reversed at most once."""
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise NotFound(f"journal entry {entry_id} not found", code="entry_not_found")
    if original.kind == EntryKind.REVERSAL:
        raise Conflict(
            f"journal entry {entry_id} is itself a reversal; post a new entry instead",
            code="reverse_a_reversal",
        )
    already = session.scalar(select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id))
    if already is not None:
        raise Conflict(
            f"journal entry {entry_id} was already reversed by entry {already}",
            code="already_reversed",
        )
    lines = [
        PostingLine(posting.ledger_account.code, -posting.amount, posting.account_id)
        for posting in original.postings
    ]
    return post_entry(
        session,
        key=f"reversal:{entry_id}",
        kind=EntryKind.REVERSAL,
        effective_date=effective_date,
        memo=memo,
        actor=actor,
        lines=lines,
        reverses_id=entry_id,
    )


def account_balance(session: Session, account_id: int) -> Decimal:
    """Sum the account's receivable postings: owed if positive, in credit if negative."""
    chart = ensure_chart(session)
    total = session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(
            Posting.account_id == account_id,
            Posting.ledger_account_id == chart[RECEIVABLES],
        )
    )
    return Decimal(total or 0).quantize(CENT)


def post_payment(
    session: Session,
    *,
    account_id: int,
    amount: Decimal,
    key: str,
    received_on: dt.date,
    actor: str,
    memo: str = "Payment received",
) -> JournalEntry:
    """Record money received: debit cash, credit the account's receivable."""
    if amount <= 0:
        raise InvalidInput(
            f"payment amount {amount} must be positive; use a refund for money paid out",
            code="payment_not_positive",
        )
    return post_entry(
        session,
        key=key,
        kind=EntryKind.PAYMENT,
        effective_date=received_on,
        memo=memo,
        actor=actor,
        lines=[
            PostingLine(CASH, amount),
            PostingLine(RECEIVABLES, -amount, account_id),
        ],
    )


def post_adjustment(
    session: Session,
    *,
    account_id: int,
    amount: Decimal,
    key: str,
    effective_date: dt.date,
    actor: str,
    memo: str,
) -> JournalEntry:
    """Charge (positive ``amount``) or credit (negative) an account outside a bill."""
    if amount == 0:
        raise InvalidInput("an adjustment of 0.00 changes nothing", code="adjustment_zero")
    return post_entry(
        session,
        key=key,
        kind=EntryKind.ADJUSTMENT,
        effective_date=effective_date,
        memo=memo,
        actor=actor,
        lines=[
            PostingLine(RECEIVABLES, amount, account_id),
            PostingLine(ADJUSTMENTS, -amount),
        ],
    )
