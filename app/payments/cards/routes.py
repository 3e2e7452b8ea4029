"""HTTP doors for card payments: the Stripe webhook and the hosted card page."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.models import Account
from app.db import session_scope
from app.errors import DomainError
from app.i18n import jinja_environment, normalize_language
from app.payments.cards import service, webhook
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.models import PaymentLink
from app.settings import get_settings
from app.web.dependencies import get_session

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]


@router.post("/stripe/webhook")
async def stripe_webhook(request: Request) -> JSONResponse:
    """Verify the signature over the raw bytes, then apply the event in one transaction."""
    payload = await request.body()
    header = request.headers.get("stripe-signature")
    try:
        event = webhook.verify_event(payload, header, get_settings().webhook_secrets)
    except webhook.SignatureInvalid as error:
        log.warning("rejected a Stripe webhook: %s", error.message)
        return JSONResponse({"code": error.code, "message": error.message}, status_code=400)

    def apply() -> str:
        with session_scope() as session:
            return webhook.handle_event(session, event)

    outcome = await run_in_threadpool(apply)
    log.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return JSONResponse({"received": True, "outcome": outcome})


@router.get("/pay/{token}", response_class=HTMLResponse)
def pay_page(token: str, session: SessionDep, lang: str | None = None) -> HTMLResponse:
    """Show the hosted card form for a payment link (Stripe.js collects the card).

    The page is in ``lang`` when given (``en`` or ``es``), else in the customer's language.
    """
    settings = get_settings()
    language = _page_language(session, token, lang)
    try:
        link, client_secret = service.open_link(session, StripeGateway(), token)
    except DomainError as error:
        return _link_unavailable(session, error, language)
    return _render_page(
        "pay/card.html",
        language,
        link=link,
        client_secret=client_secret,
        publishable_key=settings.stripe_publishable_key or "",
        stripe_js_url=settings.stripe_js_url,
        account_label=session.get_one(Account, link.account_id).masked_number,
    )


@router.get("/pay/{token}/done", response_class=HTMLResponse)
def pay_done(token: str, session: SessionDep, lang: str | None = None) -> HTMLResponse:
    """Confirm the outcome with Stripe (not the browser) and post a success once."""
    language = _page_language(session, token, lang)
    try:
        payment = service.finish_link(session, StripeGateway(), token)
    except DomainError as error:
        return _link_unavailable(session, error, language)
    return _render_page("pay/done.html", language, payment=payment)


def _page_language(session: Session, token: str, requested: str | None) -> str:
    """Return ``requested`` if given, else the language of the link's customer, else English."""
    if requested:
        return normalize_language(requested)
    link = session.scalar(select(PaymentLink).where(PaymentLink.token == token))
    if link is None:
        return normalize_language(None)
    return normalize_language(session.get_one(Account, link.account_id).customer.language)


def _link_unavailable(session: Session, error: DomainError, language: str) -> HTMLResponse:
    """Undo the request's writes and render why the link cannot be paid (expired, paid, …)."""
    session.rollback()
    level = logging.WARNING if error.http_status >= 500 else logging.INFO
    log.log(level, "payment link page not shown: %s (%s)", error.code, error.message)
    return _render_page(
        "pay/unavailable.html", language, status_code=error.http_status, code=error.code
    )


def _render_page(
    template: str, language: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = jinja_environment(language).get_template(template)
    html = page.render(utility_name=get_settings().utility_name, **context)
    return HTMLResponse(html, status_code=status_code)
