"""The Twilio REST client, pointed at a local fake when ``UPM_TWILIO_API_BASE`` is set."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from app.settings import get_settings


def twilio_client() -> Client:
    """Build a Twilio REST client from the settings.

    With ``UPM_TWILIO_API_BASE`` set, a custom ``http_client`` rewrites the scheme and
    host of every request the SDK makes (``https://api.twilio.com`` and the other
    ``*.twilio.com`` domains) to that base, so no request reaches Twilio. The custom
    http client is used rather than setting ``client.api.base_url`` because it covers
    every domain of the SDK, not only the one set by hand.
    """
    settings = get_settings()
    base = settings.twilio_api_base
    http_client = RebasedHttpClient(base, timeout=10) if base else TwilioHttpClient(timeout=10)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def create_message(to_number: str, from_number: str | None, body: str) -> MessageInstance:
    """Send a text through the Messages API, asking for status callbacks to our webhook."""
    base = get_settings().public_base_url.rstrip("/")
    return twilio_client().messages.create(
        to=to_number, from_=from_number, body=body, status_callback=f"{base}/twilio/sms/status"
    )


_TWILIO_HOST = re.compile(r"(^|\.)twilio\.com$")


class RebasedHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with Twilio's hosts replaced by a configured base URL."""

    def __init__(self, base: str, **options: Any) -> None:
        super().__init__(**options)
        self.base = base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, rebased_url(url, self.base), *args, **kwargs)


def rebased_url(url: str, base: str) -> str:
    """Return ``url`` with its Twilio host replaced by ``base``'s scheme, host and path."""
    parts = urlsplit(url)
    if not _TWILIO_HOST.search(parts.hostname or ""):
        raise ValueError(f"not a Twilio API address: {parts.hostname!r}")
    target = urlsplit(base)
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))
