"""Read-only pages for office staff: account search, an account, a bill, the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.accounts.service import get_account_by_number, search_accounts, service_address
from app.errors import DomainError
from app.ledger.service import account_balance
from app.web.dependencies import get_session
from app.web.formatting import make_templates
from app.web.queries import (
    account_agreements,
    account_bills,
    account_exceptions,
    account_ledger,
    bill_of_account,
)

router = APIRouter(include_in_schema=False)
templates = make_templates()
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "pages/search.html", {"query": "", "rows": [], "total": 0}
    )


@router.get("/accounts", response_class=HTMLResponse)
def search_page(
    request: Request, session: SessionDep, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    error = None
    rows: list[tuple[Account, str | None]] = []
    total = 0
    if q:
        try:
            result = search_accounts(session, q)
        except DomainError as exc:
            error = exc.message
        else:
            total = result.total
            rows = [(a, service_address(session, a.id)) for a in result.accounts]
    return templates.TemplateResponse(
        request,
        "pages/search.html",
        {"query": q, "rows": rows, "total": total, "error": error},
    )


@router.get("/accounts/{number}", response_class=HTMLResponse)
def account_page(request: Request, number: str, session: SessionDep) -> HTMLResponse:
    account = get_account_by_number(session, number)
    return templates.TemplateResponse(
        request,
        "pages/account.html",
        {
            "account": account,
            "agreements": account_agreements(session, account.id),
            "bills": account_bills(session, account.id),
            "balance": account_balance(session, account.id),
            "not_billed": account_exceptions(session, account.id),
        },
    )


@router.get("/accounts/{number}/bills/{bill_id}", response_class=HTMLResponse)
def bill_page(request: Request, number: str, bill_id: int, session: SessionDep) -> HTMLResponse:
    account = get_account_by_number(session, number)
    bill = bill_of_account(session, account, bill_id)
    return templates.TemplateResponse(
        request, "pages/bill.html", {"account": account, "bill": bill}
    )


@router.get("/accounts/{number}/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, number: str, session: SessionDep) -> HTMLResponse:
    account = get_account_by_number(session, number)
    return templates.TemplateResponse(
        request,
        "pages/ledger.html",
        {"account": account, "rows": account_ledger(session, account.id)},
    )
