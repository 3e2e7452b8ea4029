"""Staff pages for payments: an account's payments, the suspense queue, bank files."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.service import get_account_by_number
from app.errors import DomainError
from app.payments import channels
from app.payments.bankfiles.models import BankFile, BankFileError
from app.payments.cards.models import SavedCard
from app.payments.drafts.models import BankAccount, DraftFile
from app.payments.models import Payment
from app.payments.suspense import close_without_money, open_items, resolve_to_account
from app.settings import get_settings
from app.web.dependencies import get_session
from app.web.formatting import make_templates

router = APIRouter(include_in_schema=False)
templates = make_templates()
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/accounts/{number}/payments", response_class=HTMLResponse)
def account_payments(request: Request, number: str, session: SessionDep) -> HTMLResponse:
    account = get_account_by_number(session, number)
    payments = session.scalars(
        select(Payment)
        .where(Payment.account_id == account.id)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
    ).all()
    return templates.TemplateResponse(
        request,
        "payments/account.html",
        {
            "account": account,
            "owed": channels.look_up(session, account.id),
            "payments": payments,
            "enrollments": channels.active_enrollments(session, account.id),
            "cards": session.scalars(
                select(SavedCard).where(SavedCard.account_id == account.id)
            ).all(),
            "banks": session.scalars(
                select(BankAccount).where(BankAccount.account_id == account.id)
            ).all(),
        },
    )


@router.get("/payments/suspense", response_class=HTMLResponse)
def suspense_page(
    request: Request, session: SessionDep, error: str | None = None, done: str | None = None
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "payments/suspense.html",
        {
            "items": open_items(session),
            "error": error,
            "done": done,
        },
    )


@router.post("/payments/suspense/{item_id}")
def resolve_item(
    item_id: int,
    session: SessionDep,
    account_number: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Apply an unmatched payment to the account the clerk found."""
    # NOTE: staff pages have no login yet, so the audit actor is the page itself.
    try:
        account = get_account_by_number(session, account_number)
        payment = resolve_to_account(
            session, item_id, account_id=account.id, actor="staff-page", note=note or None
        )
    except DomainError as error:
        session.rollback()
        query = urlencode({"error": error.message})
        return RedirectResponse(f"/payments/suspense?{query}", status_code=303)
    query = urlencode(
        {"done": f"item {item_id} posted as payment {payment.id} to {account.number}"}
    )
    return RedirectResponse(f"/payments/suspense?{query}", status_code=303)


@router.post("/payments/suspense/{item_id}/close")
def close_item(
    item_id: int,
    session: SessionDep,
    note: Annotated[str, Form(min_length=1, max_length=300)],
) -> Response:
    """Close a return or change notice that matched no draft, with the clerk's note."""
    try:
        close_without_money(session, item_id, actor="staff-page", note=note)
    except DomainError as error:
        session.rollback()
        return RedirectResponse(
            f"/payments/suspense?{urlencode({'error': error.message})}", status_code=303
        )
    query = urlencode({"done": f"item {item_id} closed"})
    return RedirectResponse(f"/payments/suspense?{query}", status_code=303)


@router.get("/payments/files", response_class=HTMLResponse)
def files_page(request: Request, session: SessionDep) -> HTMLResponse:
    bank_files = session.scalars(select(BankFile).order_by(BankFile.id.desc()).limit(100)).all()
    errors = session.scalars(
        select(BankFileError)
        .where(BankFileError.bank_file_id.in_([f.id for f in bank_files]))
        .order_by(BankFileError.bank_file_id, BankFileError.line_number)
    ).all()
    draft_files = session.scalars(
        select(DraftFile).order_by(DraftFile.draft_date.desc()).limit(60)
    ).all()
    return templates.TemplateResponse(
        request,
        "payments/files.html",
        {
            "bank_files": bank_files,
            "errors": errors,
            "draft_files": draft_files,
            "utility_name": get_settings().utility_name,
        },
    )
