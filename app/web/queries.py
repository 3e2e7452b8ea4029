"""Read-only queries behind the account pages and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.accounts.models import Account
from app.billing.models import Bill, BillingCycle, BillRun, BillRunException
from app.errors import NotFound
from app.ledger.chart import RECEIVABLES, ensure_chart
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.premises.models import ServiceAgreement


@dataclass(frozen=True)
class LedgerRow:
    entry_id: int
    effective_date: str
    kind: str
    memo: str
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True)
class NotBilled:
    cycle: str
    period: str
    code: str
    message: str


def account_exceptions(session: Session, account_id: int) -> list[NotBilled]:
    """Bill runs that could not bill the account and have not billed it since."""
    rows = session.execute(
        select(
            BillingCycle.code, BillRun.period_start, BillRunException.code, BillRunException.message
        )
        .join(BillRun, BillRun.id == BillRunException.bill_run_id)
        .join(BillingCycle, BillingCycle.id == BillRun.cycle_id)
        .where(BillRunException.account_id == account_id)
        .order_by(BillRun.period_start.desc())
    ).all()
    return [
        NotBilled(cycle, f"{start:%Y-%m}", code, message) for cycle, start, code, message in rows
    ]


def account_agreements(session: Session, account_id: int) -> list[ServiceAgreement]:
    return list(
        session.scalars(
            select(ServiceAgreement)
            .options(
                selectinload(ServiceAgreement.premise), selectinload(ServiceAgreement.tariff)
            )
            .where(ServiceAgreement.account_id == account_id)
            .order_by(ServiceAgreement.premise_id, ServiceAgreement.service)
        )
    )


def account_bills(session: Session, account_id: int) -> list[Bill]:
    return list(
        session.scalars(
            select(Bill)
            .where(Bill.account_id == account_id)
            .order_by(Bill.period_start.desc(), Bill.id.desc())
        )
    )


def bill_of_account(session: Session, account: Account, bill_id: int) -> Bill:
    bill = session.scalar(
        select(Bill)
        .options(selectinload(Bill.lines), selectinload(Bill.segments))
        .where(Bill.id == bill_id, Bill.account_id == account.id)
    )
    if bill is None:
        raise NotFound(
            f"bill {bill_id} not found on account {account.number}", code="bill_not_found"
        )
    return bill


def account_ledger(session: Session, account_id: int) -> list[LedgerRow]:
    """List the account's receivable postings in order, with a running balance."""
    receivables = ensure_chart(session)[RECEIVABLES]
    rows = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.effective_date,
            JournalEntry.kind,
            JournalEntry.memo,
            Posting.amount,
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .where(Posting.account_id == account_id, Posting.ledger_account_id == receivables)
        .order_by(JournalEntry.effective_date, JournalEntry.id)
    )
    balance = Decimal("0.00")
    ledger = []
    for entry_id, effective_date, kind, memo, amount in rows:
        balance += amount
        ledger.append(
            LedgerRow(entry_id, effective_date.isoformat(), str(kind), memo, amount, balance)
        )
    return ledger
