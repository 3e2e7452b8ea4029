"""Builders and checks shared by the payment tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.billing.models import Bill, BillRun, BillRunStatus
from app.ledger.chart import RECEIVABLES, REVENUE_BY_SERVICE, ensure_chart
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.ledger.service import PostingLine, account_balance, post_entry
from app.payments.models import Payment, PaymentStatus, Refund
from app.payments.owed import amount_owed
from tests.app.factories import City


def issue_bill(
    session: Session,
    city: City,
    account: Account,
    total: str,
    *,
    period_start: dt.date = dt.date(2026, 10, 1),
    due_date: dt.date = dt.date(2026, 12, 10),
) -> Bill:
    """Post a water bill of ``total`` straight to the ledger, as a bill run would."""
    run = session.scalar(
        select(BillRun).where(
            BillRun.cycle_id == city.cycle.id, BillRun.period_start == period_start
        )
    )
    if run is None:
        run = BillRun(
            cycle_id=city.cycle.id,
            period_start=period_start,
            period_end=period_start + dt.timedelta(days=29),
            status=BillRunStatus.COMPLETED,
            started_by="test",
        )
        session.add(run)
        session.flush()
    amount = Decimal(total)
    entry = post_entry(
        session,
        key=f"bill:{run.id}:{account.id}",
        kind=EntryKind.BILL,
        effective_date=period_start + dt.timedelta(days=30),
        memo="Bill",
        actor="test",
        lines=[
            PostingLine(RECEIVABLES, amount, account.id),
            PostingLine(REVENUE_BY_SERVICE["water"], -amount),
        ],
    )
    bill = Bill(
        account_id=account.id,
        bill_run_id=run.id,
        period_start=period_start,
        period_end=run.period_end,
        bill_date=period_start + dt.timedelta(days=30),
        due_date=due_date,
        total=amount,
        journal_entry_id=entry.id,
    )
    session.add(bill)
    session.flush()
    return bill


def assert_ledger_invariants(session: Session) -> None:
    """Each entry balances; each balance equals its postings and its application."""
    unbalanced = session.execute(
        select(Posting.entry_id, func.sum(Posting.amount))
        .group_by(Posting.entry_id)
        .having(func.sum(Posting.amount) != 0)
    ).all()
    assert unbalanced == []
    chart = ensure_chart(session)
    for account_id in session.scalars(select(Account.id)):
        postings = session.scalars(
            select(Posting.amount).where(
                Posting.account_id == account_id,
                Posting.ledger_account_id == chart[RECEIVABLES],
            )
        ).all()
        balance = account_balance(session, account_id)
        assert balance == sum(postings, Decimal("0.00"))
        assert amount_owed(session, account_id, today=dt.date(2026, 12, 4)).balance == balance
    for payment in session.scalars(select(Payment)):
        posted = payment.journal_entry_id is not None
        assert posted == (payment.status in (
            PaymentStatus.SUCCEEDED, PaymentStatus.RETURNED, PaymentStatus.DISPUTED
        )), f"payment {payment.id} is {payment.status} but posted={posted}"
        refunds = session.scalars(select(Refund.amount).where(Refund.payment_id == payment.id))
        assert sum(refunds, Decimal("0.00")) <= payment.amount


def entries_of(session: Session, kind: EntryKind) -> list[JournalEntry]:
    return list(session.scalars(select(JournalEntry).where(JournalEntry.kind == kind)))
