"""Front counter pages for staff: open a drawer, take payments, close it, print receipts.

Each form posts, and a success redirects (303) to the drawer's page, so reloading that
page never posts twice. The take-payment form carries an idempotency key made when
the form is shown, so a double click posts one payment. A rejected form is shown again
with the error, and the rejection goes to the audit log with its error code.
"""

from __future__ import annotations

import logging
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.accounts.service import get_account_by_number
from app.audit.service import record
from app.errors import DomainError, InvalidInput
from app.payments.counter.receipts import build_receipt, email_receipt, render_receipt_html
from app.payments.counter.service import (
    close_drawer,
    counter_payment,
    drawer_payments,
    drawer_totals,
    format_staff_time,
    get_drawer_session,
    open_drawer,
    open_drawer_sessions,
    recently_closed_sessions,
    take_payment,
)
from app.payments.models import Payment, PaymentMethod
from app.web.dependencies import get_session
from app.web.formatting import make_templates

log = logging.getLogger(__name__)

PREFIX = "/counter"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
templates = make_templates()
templates.env.filters["local_time"] = format_staff_time

# "function" scope commits before the response is sent, so the page a redirect leads to
# always shows the payment, and a failed commit never looks like a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
FormText = Annotated[str, Form()]

METHOD_NAMES = {
    PaymentMethod.CASH: "Cash",
    PaymentMethod.CHECK: "Check",
    PaymentMethod.CARD_PRESENT: "Card on the terminal",
}
CARD_FIELDS = ("card_brand", "card_last4", "approval_code")


@router.get("", response_class=HTMLResponse)
def counter_home(request: Request, session: SessionDep) -> Response:
    return _home_page(request, session, form={"drawer": "", "opening_float": "", "clerk": ""})


@router.post("", response_class=HTMLResponse)
def open_drawer_submit(
    request: Request,
    session: SessionDep,
    drawer: FormText = "",
    opening_float: FormText = "",
    clerk: FormText = "",
) -> Response:
    form = _safe_form({"drawer": drawer, "opening_float": opening_float, "clerk": clerk})
    try:
        drawer_session = open_drawer(
            session,
            drawer=drawer,
            opening_float=_required_money("opening float", opening_float),
            actor=clerk,
        )
    except DomainError as exc:
        _record_rejection(session, clerk, "drawer.open", {"drawer": form["drawer"][:20]}, exc)
        return _home_page(request, session, form=form, error=exc)
    return _see_other(f"{PREFIX}/{drawer_session.id}")


@router.get("/receipts/{payment_id}", response_class=HTMLResponse)
def receipt_page(
    request: Request, payment_id: int, session: SessionDep, lang: str | None = None
) -> Response:
    """Show a printable receipt in the customer's language, or in ``lang`` (en or es)."""
    try:
        receipt = build_receipt(session, payment_id, lang)
    except DomainError as exc:
        return _error_page(request, exc)
    return HTMLResponse(render_receipt_html(receipt))


@router.post("/receipts/{payment_id}/email", response_class=HTMLResponse)
def email_receipt_submit(
    request: Request, payment_id: int, session: SessionDep, clerk: FormText = ""
) -> Response:
    try:
        queued = email_receipt(session, payment_id)
    except DomainError as exc:
        _record_rejection(session, clerk, "counter.receipt_email", {"payment_id": payment_id}, exc)
        return _error_page(request, exc)
    record(
        session,
        actor=_actor(clerk),
        action="counter.receipt_email",
        target=f"payment:{payment_id}",
        outcome="queued" if queued else "already_queued",
    )
    payment = session.get_one(Payment, payment_id)
    if payment.drawer_session_id is None:
        return _see_other(f"{PREFIX}/receipts/{payment_id}")
    return _see_other(f"{PREFIX}/{payment.drawer_session_id}?emailed={payment_id}")


@router.get("/{session_id}", response_class=HTMLResponse)
def drawer_page(
    request: Request,
    session_id: int,
    session: SessionDep,
    paid: int | None = None,
    emailed: int | None = None,
) -> Response:
    """Show a drawer session: the payment form, the payments and totals, and the count."""
    try:
        context = _drawer_context(session, session_id)
    except DomainError as exc:
        return _error_page(request, exc)
    payment = session.get(Payment, paid) if paid is not None else None
    if payment is not None and payment.drawer_session_id == session_id:
        context["posted"] = counter_payment(session, payment)
    context["emailed"] = emailed
    return templates.TemplateResponse(request, "counter/drawer.html", context)


@router.post("/{session_id}/payments", response_class=HTMLResponse)
def take_payment_submit(
    request: Request,
    session_id: int,
    session: SessionDep,
    account_number: FormText = "",
    amount: FormText = "",
    method: FormText = "",
    tendered: FormText = "",
    check_number: FormText = "",
    card_brand: FormText = "",
    card_last4: FormText = "",
    approval_code: FormText = "",
    clerk: FormText = "",
    idempotency_key: FormText = "",
) -> Response:
    form = {
        "account_number": account_number,
        "amount": amount,
        "method": method,
        "tendered": tendered,
        "check_number": check_number,
        "card_brand": card_brand,
        "card_last4": card_last4,
        "approval_code": approval_code,
        "clerk": clerk,
        "idempotency_key": idempotency_key,
    }
    try:
        account = _account_for_payment(session, account_number)
        result = take_payment(
            session,
            drawer_session_id=session_id,
            account_id=account.id,
            amount=_required_money("amount", amount),
            method=method,
            idempotency_key=idempotency_key,
            actor=clerk,
            check_number=check_number.strip() or None,
            card_last4=card_last4.strip() or None,
            card_brand=card_brand.strip() or None,
            approval_code=approval_code.strip() or None,
            tendered=_optional_money("cash received", tendered),
        )
    except DomainError as exc:
        arguments = {"drawer_session_id": session_id, "method": method[:20]}
        _record_rejection(session, clerk, "counter.payment", arguments, exc)
        return _drawer_error_page(request, session, session_id, _safe_form(form), exc)
    return _see_other(f"{PREFIX}/{session_id}?paid={result.payment.id}")


@router.post("/{session_id}/close", response_class=HTMLResponse)
def close_drawer_submit(
    request: Request,
    session_id: int,
    session: SessionDep,
    counted_cash: FormText = "",
    counted_checks: FormText = "",
    clerk: FormText = "",
) -> Response:
    try:
        close_drawer(
            session,
            drawer_session_id=session_id,
            counted_cash=_required_money("cash counted", counted_cash),
            counted_checks=_required_money("checks counted", counted_checks),
            actor=clerk,
        )
    except DomainError as exc:
        _record_rejection(session, clerk, "drawer.close", {"drawer_session_id": session_id}, exc)
        form = {"counted_cash": counted_cash, "counted_checks": counted_checks, "clerk": clerk}
        return _drawer_error_page(request, session, session_id, _safe_form(form), exc)
    return _see_other(f"{PREFIX}/{session_id}")


def _home_page(
    request: Request,
    session: Session,
    *,
    form: dict[str, str],
    error: DomainError | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "counter/index.html",
        {
            "open_sessions": open_drawer_sessions(session),
            "closed_sessions": recently_closed_sessions(session),
            "form": form,
            "error": error.message if error else None,
        },
        status_code=error.http_status if error else 200,
    )


def _drawer_context(session: Session, session_id: int) -> dict[str, Any]:
    drawer_session = get_drawer_session(session, session_id)
    form = dict.fromkeys(("account_number", "amount", "tendered", "check_number", *CARD_FIELDS), "")
    form |= {
        "method": PaymentMethod.CASH.value,
        "clerk": drawer_session.opened_by,
        "idempotency_key": uuid.uuid4().hex,
        "counted_cash": "",
        "counted_checks": "",
    }
    return {
        "drawer": drawer_session,
        "payments": drawer_payments(session, session_id),
        "totals": drawer_totals(session, drawer_session),
        "methods": METHOD_NAMES,
        "form": form,
        "error": None,
        "posted": None,
        "emailed": None,
    }


def _drawer_error_page(
    request: Request,
    session: Session,
    session_id: int,
    form: dict[str, str],
    error: DomainError,
) -> Response:
    try:
        context = _drawer_context(session, session_id)
    except DomainError as exc:
        return _error_page(request, exc)
    context["form"] |= form
    context["error"] = error.message
    return templates.TemplateResponse(
        request, "counter/drawer.html", context, status_code=error.http_status
    )


def _error_page(request: Request, error: DomainError) -> Response:
    return templates.TemplateResponse(
        request,
        "pages/error.html",
        {"code": error.code, "message": error.message},
        status_code=error.http_status,
    )


def _safe_form(form: dict[str, str]) -> dict[str, str]:
    """Return the form to show again, blanking any field that may hold a card number."""
    safe = dict(form)
    for field, value in form.items():
        if field != "idempotency_key" and _may_be_card_number(value):
            safe[field] = ""
    return safe


def _may_be_card_number(value: str) -> bool:
    # Card numbers in use are 13 to 19 digits long, often typed with spaces or dashes.
    return sum(character.isdigit() for character in value) >= 13


def _record_rejection(
    session: Session, clerk: str, action: str, arguments: dict[str, Any], error: DomainError
) -> None:
    """Roll back the failed step and audit the rejection with its error code only.

    The message is left out because it may repeat what was typed, such as an account
    number.
    """
    session.rollback()
    record(
        session,
        actor=_actor(clerk),
        action=action,
        outcome="rejected",
        arguments=arguments,
        detail=error.code,
    )
    log.info("rejected %s %s: %s", action, arguments, error.code)


def _account_for_payment(session: Session, number: str) -> Account:
    # The account lookup's errors repeat the number typed, so a card number typed in the
    # account field is rejected here without repeating it.
    if _may_be_card_number(number):
        raise InvalidInput(
            "the account number is invalid because it is as long as a card number; enter the "
            "account number printed on the bill",
            code="account_number_format",
        )
    return get_account_by_number(session, number)


def _actor(clerk: str) -> str:
    # TODO: use the signed-in staff member's id once staff log in. Until then the clerk
    # types a name in the form.
    return " ".join(clerk.split())[:80] or "unknown"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


#: Dollars as a clerk types them: digits, or commas between groups of three, and at most
#: two decimals. "5,00" is rejected rather than read as 500.00.
MONEY_TEXT = re.compile(r"(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")


def _optional_money(field: str, raw: str) -> Decimal | None:
    text = raw.strip().removeprefix("$").strip()
    if not text:
        return None
    value = None
    if MONEY_TEXT.fullmatch(text):
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite():
        # The message leaves out what was typed, in case it was a card number.
        raise InvalidInput(
            f"{field} must be an amount in dollars and cents, such as 40.00 or 1,250.00",
            code="invalid_amount",
        )
    return value


def _required_money(field: str, raw: str) -> Decimal:
    value = _optional_money(field, raw)
    if value is None:
        raise InvalidInput(
            f"{field} is missing; enter dollars and cents, such as 40.00", code="amount_missing"
        )
    return value
