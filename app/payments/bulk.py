"""Posting many succeeded payments at once: lockbox files and draft files.

The rows are those ``service.create_payment`` would write one by one (journal entry, two
postings, payment, first status change, receipt notice), inserted in bulk with COPY on
PostgreSQL, in chunks so memory stays bounded. Ids are reserved up front, so nothing is
read back. The caller has already claimed the file the payments come from, which is
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

from app.bulk import allocate_ids, insert_rows, matching
from app.db import utcnow
from app.ledger.chart import CASH, RECEIVABLES, ensure_chart
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.messaging.payment_alerts import deliver_after_commit
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
CHUNK = 10_000


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
    for clause in matching(session, Posting.account_id, sorted(account_ids)):
        rows = session.execute(
            select(Posting.account_id, func.sum(Posting.amount))
            .where(clause, Posting.ledger_account_id == chart[RECEIVABLES])
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
    balances: dict[int, Decimal] | None = None,
) -> None:
    """Insert the payments, their entries, postings, history rows and receipts.

    ``balances`` (each account's receivable balance before these payments) is read from
    the ledger when not given; it decides how much of each payment is a credit.
    """
    if not payments:
        return
    if balances is None:
        balances = receivable_balances(session, {p.account_id for p in payments})
    else:
        balances = dict(balances)
    for start in range(0, len(payments), CHUNK):
        _post_chunk(
            session, payments[start : start + CHUNK], channel, method, actor, source, balances
        )


def _post_chunk(
    session: Session,
    payments: Sequence[NewPayment],
    channel: PaymentChannel,
    method: PaymentMethod,
    actor: str,
    source: str,
    balances: dict[int, Decimal],
) -> None:
    chart = ensure_chart(session)
    now = utcnow()
    entry_ids = allocate_ids(session, JournalEntry, len(payments))
    payment_ids = allocate_ids(session, Payment, len(payments))
    insert_rows(
        session,
        JournalEntry,
        [
            {
                "id": entry_id,
                "entry_key": p.key,
                "kind": EntryKind.PAYMENT,
                "effective_date": p.received_on,
                "posted_at": now,
                "memo": p.memo[:200],
                "actor": actor,
            }
            for p, entry_id in zip(payments, entry_ids, strict=True)
        ],
    )
    postings: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    for p, entry_id, payment_id in zip(payments, entry_ids, payment_ids, strict=True):
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
        credit = max(p.amount - owed, ZERO)
        rows.append(
            {
                "id": payment_id,
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
                "credit_on_account": credit,
                "bill_id": p.bill_id,
                "bank_account_id": p.bank_account_id,
                "represents_payment_id": p.represents_payment_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        history.append(
            {
                "payment_id": payment_id,
                "from_status": None,
                "to_status": PaymentStatus.SUCCEEDED,
                "source": source,
                "occurred_at": now,
            }
        )
        notices.append(
            {
                "notice_key": f"receipt:{payment_id}",
                "kind": NoticeKind.PAYMENT_RECEIVED,
                "account_id": p.account_id,
                "payment_id": payment_id,
                "created_at": now,
                "payload": {
                    "amount": str(p.amount),
                    "received_on": p.received_on.isoformat(),
                    "method": p.method_label,
                    "credit_on_account": str(credit),
                },
            }
        )
    insert_rows(session, Posting, postings)
    insert_rows(session, Payment, rows)
    insert_rows(session, PaymentStatusChange, history)
    insert_rows(session, PaymentNotice, notices)
    if notices:
        deliver_after_commit(session)
