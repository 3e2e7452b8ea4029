"""Assembles the ASGI application: the one place routers and channels are mounted."""

from __future__ import annotations

import gc
import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline

# Every model must be mapped before the first request resolves a relationship by name.
import app.models as _all_models  # noqa: F401
from app.errors import DomainError
from app.payments import pages as payment_pages
from app.payments.cards import routes as card_routes
from app.payments.counter import routes as counter_routes
from app.portal import routes as portal_routes
from app.settings import get_settings
from app.web import api, pages, usage
from app.work_orders import pages as work_order_pages
from chatops import routes as slack_routes
from ivr_flows import routes as voice_routes
from sms_flows import routes as sms_routes

#: Paths that return JSON for programs. Every other path returns a page for people.
MACHINE_PATHS = ("/api", "/health", "/stripe", "/twilio", "/slack")


class _HideLinkTokens(logging.Filter):
    """Mask /pay/ and /bill/ link tokens in access logs: anyone with a token opens its page."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                LINK_TOKEN.sub(r"/\1/…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


LINK_TOKEN = re.compile(r"/(pay|bill)/[^/?\s]+")


def _freeze_startup_objects() -> None:
    """Move the objects made while starting up out of the garbage collector's reach.

    Modules, mappers and the SDKs leave about 180,000 long-lived objects, and each full
    collection walked them all during some request: about 45 ms on the benchmark machine,
    which set the webhooks' p99 latency (docs/benchmarks.md). Runs once per process.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def create_app() -> FastAPI:
    settings = get_settings()
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideLinkTokens) for f in access_log.filters):
        access_log.addFilter(_HideLinkTokens())
    # The docs page serves Swagger UI from the package, not a CDN: utilities often run
    # the office network without outside access.
    application = FastAPIOffline(
        title=f"upm: {settings.utility_name}",
        description="Utility Process Management API: accounts, bills and the ledger.",
        version="0.1.0",
    )
    application.add_api_route("/health", api.health, methods=["GET"], response_model=api.Health)
    application.include_router(api.router)
    application.include_router(usage.router)
    application.include_router(pages.router)
    application.include_router(card_routes.router)
    application.include_router(payment_pages.router)
    application.include_router(counter_routes.router)
    application.include_router(portal_routes.router)
    application.include_router(slack_routes.build_router())
    application.include_router(sms_routes.router)
    application.include_router(voice_routes.router)
    application.include_router(work_order_pages.router)

    @application.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if request.url.path.startswith(MACHINE_PATHS):
            return JSONResponse(
                {"code": exc.code, "message": exc.message}, status_code=exc.http_status
            )
        return pages.templates.TemplateResponse(
            request,
            "pages/error.html",
            {"code": exc.code, "message": exc.message},
            status_code=exc.http_status,
        )

    _freeze_startup_objects()
    return application
