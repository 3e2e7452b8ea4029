"""Posting many succeeded payments at once: lockbox files and draft files.

The rows are those ``service.create_payment`` would write one by one (journal entry, two
postings, payment, first status change, receipt notice), inserted in bulk with COPY on
PostgreSQL. The caller has already claimed the file the payments come from, which is
what keeps them from being posted twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bulk import insert_rows
from app.db import utcnow
from app.ledger.chart import CASH, RECEIVABLES, ensure_chart
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentNotice,
    PaymentStatus,
    PaymentStatusChange,
)

ZERO = Decimal("0.00")
IN_LIST = 5000


@dataclass(frozen=True)
class NewPayment:
    """A succeeded payment to post; ``key`` is both its idempotency key and entry key."""

    key: str
    account_id: int
    amount: Decimal
    received_on: dt.date
    provider: str
    external_ref: str
    method_label: str
    memo: str
    bill_id: int | None = None
    bank_account_id: int | None = None
    represents_payment_id: int | None = None


def receivable_balances(session: Session, account_ids: set[int]) -> dict[int, Decimal]:
    """Sum each account's receivable postings, in a few queries for any number of accounts."""
    chart = ensure_chart(session)
    balances: dict[int, Decimal] = {}
    ordered = sorted(account_ids)
    for start in range(0, len(ordered), IN_LIST):
        rows = session.execute(
            select(Posting.account_id, func.sum(Posting.amount))
            .where(
                Posting.account_id.in_(ordered[start : start + IN_LIST]),
                Posting.ledger_account_id == chart[RECEIVABLES],
            )
            .group_by(Posting.account_id)
        ).all()
        balances.update(
            {account_id: Decimal(total) for account_id, total in rows if account_id is not None}
        )
    return balances


def post_payments(
    session: Session,
    payments: Sequence[NewPayment],
    *,
    channel: PaymentChannel,
    method: PaymentMethod,
    actor: str,
    source: str,
) -> None:
    """Insert the payments, their entries, postings, history rows and receipts."""
    if not payments:
        return
    chart = ensure_chart(session)
    now = utcnow()
    insert_rows(
        session,
        JournalEntry,
        [
            {
                "entry_key": p.key,
                "kind": EntryKind.PAYMENT,
                "effective_date": p.received_on,
                "posted_at": now,
                "memo": p.memo[:200],
                "actor": actor,
            }
            for p in payments
        ],
    )
    keys = [p.key for p in payments]
    entry_ids: dict[str, int] = {}
    for start in range(0, len(keys), IN_LIST):
        entry_ids.update(
            session.execute(
                select(JournalEntry.entry_key, JournalEntry.id).where(
                    JournalEntry.entry_key.in_(keys[start : start + IN_LIST])
                )
            ).all()
        )
    balances = receivable_balances(session, {p.account_id for p in payments})
    postings: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for p in payments:
        entry_id = entry_ids[p.key]
        postings.append(
            {
                "entry_id": entry_id,
                "ledger_account_id": chart[CASH],
                "account_id": None,
                "amount": p.amount,
            }
        )
        postings.append(
            {
                "entry_id": entry_id,
                "ledger_account_id": chart[RECEIVABLES],
                "account_id": p.account_id,
                "amount": -p.amount,
            }
        )
        owed = max(balances.get(p.account_id, ZERO), ZERO)
        balances[p.account_id] = balances.get(p.account_id, ZERO) - p.amount
        rows.append(
            {
                "account_id": p.account_id,
                "amount": p.amount,
                "channel": channel,
                "method": method,
                "status": PaymentStatus.SUCCEEDED,
                "provider": p.provider,
                "external_ref": p.external_ref,
                "idempotency_key": p.key,
                "method_label": p.method_label,
                "received_on": p.received_on,
                "taken_by": actor,
                "journal_entry_id": entry_id,
                "credit_on_account": max(p.amount - owed, ZERO),
                "bill_id": p.bill_id,
                "bank_account_id": p.bank_account_id,
                "represents_payment_id": p.represents_payment_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    insert_rows(session, Posting, postings)
    insert_rows(session, Payment, rows)
    _history_and_receipts(session, keys, source, now)


def _history_and_receipts(session: Session, keys: list[str], source: str, now: dt.datetime) -> None:
    stored: list[Any] = []
    for start in range(0, len(keys), IN_LIST):
        stored.extend(
            session.execute(
                select(
                    Payment.id,
                    Payment.account_id,
                    Payment.amount,
                    Payment.received_on,
                    Payment.method_label,
                    Payment.credit_on_account,
                ).where(Payment.idempotency_key.in_(keys[start : start + IN_LIST]))
            ).all()
        )
    insert_rows(
        session,
        PaymentStatusChange,
        [
            {
                "payment_id": row[0],
                "from_status": None,
                "to_status": PaymentStatus.SUCCEEDED,
                "source": source,
                "occurred_at": now,
            }
            for row in stored
        ],
    )
    insert_rows(
        session,
        PaymentNotice,
        [
            {
                "notice_key": f"receipt:{row[0]}",
                "kind": NoticeKind.PAYMENT_RECEIVED,
                "account_id": row[1],
                "payment_id": row[0],
                "created_at": now,
                "payload": {
                    "amount": str(row[2]),
                    "received_on": row[3].isoformat(),
                    "method": row[4],
                    "credit_on_account": str(row[5]),
                },
            }
            for row in stored
        ],
    )
