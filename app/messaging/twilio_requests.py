"""Checking that a request really comes from Twilio, before anything else happens.

Twilio signs the full URL it called and every form field. Behind a TLS-terminating
proxy the app receives ``http://internal-host/...``, so the URL to check is built from the
configured public base URL, or from ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` only
when the request comes straight from a configured trusted proxy. The SDK's
``RequestValidator`` does the check: it is given the multi-valued form (repeated keys
kept) and tries the URL with and without the default port.
"""

from __future__ import annotations

import ipaddress
import logging

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from app.settings import get_settings

log = logging.getLogger(__name__)


def signed_url(request: Request) -> str:
    """Return the URL Twilio called, as Twilio saw it."""
    settings = get_settings()
    peer = request.client.host if request.client else ""
    if _trusted(peer, settings.trusted_proxies):
        proto = _first(request.headers.get("x-forwarded-proto")) or request.url.scheme
        host = _first(request.headers.get("x-forwarded-host")) or request.headers.get("host", "")
        base = f"{proto}://{host}"
    else:
        base = settings.public_base_url.rstrip("/")
    url = base + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


def rejection(request: Request, form: FormData) -> Response | None:
    """Return a 403 response unless the request carries a valid Twilio signature."""
    settings = get_settings()
    signature = request.headers.get("x-twilio-signature")
    path = request.url.path
    if not signature:
        log.warning("Twilio request to %s without X-Twilio-Signature rejected", path)
        return _forbidden("twilio_signature_missing", "the X-Twilio-Signature header is missing")
    if not settings.twilio_auth_token:
        log.error("Twilio request to %s rejected: UPM_TWILIO_AUTH_TOKEN is not set", path)
        return _forbidden("twilio_not_configured", "Twilio requests are not accepted here")
    if not RequestValidator(settings.twilio_auth_token).validate(
        signed_url(request), form, signature
    ):
        log.warning("Twilio request to %s with an invalid signature rejected", path)
        return _forbidden("twilio_signature_invalid", "the X-Twilio-Signature is invalid")
    return None


def _trusted(peer: str, proxies: list[str]) -> bool:
    if not peer or not proxies:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _first(value: str | None) -> str:
    """Return the first entry of a comma-separated forwarded header (the client's side)."""
    return (value or "").split(",")[0].strip()


def _forbidden(code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=403)
