"""HTTP doors for card payments: the Stripe webhook and the hosted card page."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.models import Account
from app.db import session_scope
from app.payments.cards import service, webhook
from app.payments.cards.gateway import StripeGateway
from app.settings import get_settings
from app.web.dependencies import get_session
from app.web.formatting import make_templates

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
templates = make_templates()
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
def pay_page(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """Show the hosted card form for a payment link (Stripe.js collects the card)."""
    settings = get_settings()
    link, client_secret = service.open_link(session, StripeGateway(), token)
    return templates.TemplateResponse(
        request,
        "pay/card.html",
        {
            "link": link,
            "client_secret": client_secret,
            "publishable_key": settings.stripe_publishable_key or "",
            "stripe_js_url": settings.stripe_js_url,
            "utility_name": settings.utility_name,
            "account_label": session.get(Account, link.account_id).masked_number,  # type: ignore[union-attr]
        },
    )


@router.get("/pay/{token}/done", response_class=HTMLResponse)
def pay_done(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """Confirm the outcome with Stripe (not the browser) and post a success once."""
    payment = service.finish_link(session, StripeGateway(), token)
    return templates.TemplateResponse(
        request,
        "pay/done.html",
        {"payment": payment, "utility_name": get_settings().utility_name},
    )
