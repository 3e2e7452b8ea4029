"""The amount an account owes: balance, amount due, due date, past due and last payment."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.billing.models import Bill
from app.bulk import matching
from app.ledger.chart import RECEIVABLES, ensure_chart
from app.ledger.models import JournalEntry, Posting
from app.payments.application import Application, Charge, apply_credits
from app.payments.models import Payment, PaymentStatus
from app.settings import get_settings

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LastPayment:
    amount: Decimal
    received_on: dt.date
    channel: str
    method_label: str | None


@dataclass(frozen=True)
class AmountOwed:
    #: Sum of the receivable postings: positive when owed, negative for a credit.
    balance: Decimal
    amount_due: Decimal
    #: Earliest due date among charges still open, or None when nothing is open.
    due_date: dt.date | None
    past_due: Decimal
    credit_balance: Decimal
    last_payment: LastPayment | None
    application: Application


def load_application(session: Session, account_id: int) -> Application:
    """Apply the account's credits to its charges, leaving out reversed pairs."""
    return load_applications(session, [account_id])[account_id]


def load_applications(session: Session, account_ids: Sequence[int]) -> dict[int, Application]:
    """Apply credits to charges for many accounts in a few queries (draft files use it)."""
    chart = ensure_chart(session)
    policy = get_settings().payment_application
    rows: list[Any] = []
    bills: list[Any] = []
    ordered = sorted(set(account_ids))
    for clause in matching(session, Posting.account_id, ordered):
        rows.extend(
            session.execute(
                select(
                    Posting.account_id,
                    JournalEntry.id,
                    JournalEntry.kind,
                    JournalEntry.effective_date,
                    JournalEntry.reverses_id,
                    func.sum(Posting.amount),
                )
                .join(Posting, Posting.entry_id == JournalEntry.id)
                .where(clause, Posting.ledger_account_id == chart[RECEIVABLES])
                .group_by(Posting.account_id, JournalEntry.id)
            ).all()
        )
    for clause in matching(session, Bill.account_id, ordered):
        bills.extend(
            session.execute(
                select(Bill.journal_entry_id, Bill.id, Bill.due_date).where(clause)
            ).all()
        )
    bill_of_entry = {entry_id: (bill_id, due) for entry_id, bill_id, due in bills}
    reversed_ids = {row[4] for row in rows if row[4] is not None}
    charges: dict[int, list[Charge]] = defaultdict(list)
    credits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for account_id, entry_id, kind, effective_date, reverses_id, net in rows:
        if entry_id in reversed_ids or reverses_id is not None:
            continue
        net = Decimal(net)
        if net > 0:
            bill_id, due_date = bill_of_entry.get(entry_id, (None, effective_date))
            charges[account_id].append(
                Charge(
                    entry_id=entry_id,
                    kind=str(kind),
                    posted_on=effective_date,
                    due_date=due_date,
                    amount=net,
                    bill_id=bill_id,
                )
            )
        elif net < 0:
            credits[account_id] -= net
    return {
        account_id: apply_credits(charges[account_id], credits[account_id], policy)
        for account_id in ordered
    }


def last_payment(session: Session, account_id: int) -> LastPayment | None:
    payment = session.scalar(
        select(Payment)
        .where(
            Payment.account_id == account_id,
            Payment.status.in_([PaymentStatus.SUCCEEDED, PaymentStatus.RETURNED]),
        )
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .limit(1)
    )
    if payment is None:
        return None
    return LastPayment(
        amount=payment.amount,
        received_on=payment.received_on,
        channel=payment.channel.value,
        method_label=payment.method_label,
    )


def amount_owed(session: Session, account_id: int, *, today: dt.date) -> AmountOwed:
    """Return what the account owes as of ``today``."""
    application = load_application(session, account_id)
    open_total = sum((item.open for item in application.charges), ZERO)
    balance = open_total - application.unapplied
    open_due_dates = [item.charge.due_date for item in application.open_charges]
    return AmountOwed(
        balance=balance,
        amount_due=max(balance, ZERO),
        due_date=min(open_due_dates) if open_due_dates else None,
        past_due=application.past_due(today),
        credit_balance=application.unapplied,
        last_payment=last_payment(session, account_id),
        application=application,
    )


def bill_open_amount(session: Session, bill: Bill) -> Decimal:
    """Return what is still unpaid on one bill under the application policy."""
    for item in load_application(session, bill.account_id).charges:
        if item.charge.entry_id == bill.journal_entry_id:
            return item.open
    return ZERO
