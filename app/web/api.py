"""JSON API (read-only for now): health, accounts, bills and ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.accounts.service import get_account_by_number, search_accounts
from app.ledger.service import account_balance
from app.web.dependencies import get_session
from app.web.queries import account_bills, account_ledger, bill_of_account

router = APIRouter(prefix="/api")
SessionDep = Annotated[Session, Depends(get_session)]


class Health(BaseModel):
    status: str
    database: str
    schema_revision: str | None


class AccountOut(BaseModel):
    number: str
    customer: str
    status: str
    balance: Decimal


class BillSummaryOut(BaseModel):
    id: int
    period_start: dt.date
    period_end: dt.date
    bill_date: dt.date
    due_date: dt.date
    total: Decimal


class BillLineOut(BaseModel):
    line_number: int
    service: str
    code: str
    kind: str
    description: str
    quantity: Decimal | None
    unit: str | None
    amount: Decimal


class BillOut(BillSummaryOut):
    lines: list[BillLineOut]


class LedgerRowOut(BaseModel):
    entry_id: int
    effective_date: dt.date
    kind: str
    memo: str
    amount: Decimal
    balance: Decimal


def health(session: SessionDep) -> Health:
    """Report that the database responds, which backend it is and its schema revision."""
    connection = session.connection()
    revision = MigrationContext.configure(connection).get_current_revision()
    return Health(status="ok", database=connection.dialect.name, schema_revision=revision)


@router.get("/accounts", response_model=list[AccountOut])
def api_search(
    session: SessionDep, q: Annotated[str, Query(min_length=2, max_length=100)]
) -> list[AccountOut]:
    return [
        AccountOut(
            number=a.number,
            customer=a.customer.name,
            status=str(a.status),
            balance=account_balance(session, a.id),
        )
        for a in search_accounts(session, q).accounts
    ]


@router.get("/accounts/{number}", response_model=AccountOut)
def api_account(number: str, session: SessionDep) -> AccountOut:
    account = get_account_by_number(session, number)
    return AccountOut(
        number=account.number,
        customer=account.customer.name,
        status=str(account.status),
        balance=account_balance(session, account.id),
    )


@router.get("/accounts/{number}/bills", response_model=list[BillSummaryOut])
def api_bills(number: str, session: SessionDep) -> list[BillSummaryOut]:
    account = get_account_by_number(session, number)
    return [
        BillSummaryOut.model_validate(b, from_attributes=True)
        for b in account_bills(session, account.id)
    ]


@router.get("/accounts/{number}/bills/{bill_id}", response_model=BillOut)
def api_bill(number: str, bill_id: int, session: SessionDep) -> BillOut:
    account = get_account_by_number(session, number)
    return BillOut.model_validate(bill_of_account(session, account, bill_id), from_attributes=True)


@router.get("/accounts/{number}/ledger", response_model=list[LedgerRowOut])
def api_ledger(number: str, session: SessionDep) -> list[LedgerRowOut]:
    account = get_account_by_number(session, number)
    return [
        LedgerRowOut.model_validate(r, from_attributes=True)
        for r in account_ledger(session, account.id)
    ]
