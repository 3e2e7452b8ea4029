"""Play a whole phone call against the app's voice webhooks, the way Twilio does.

The call starts with a signed ``POST /twilio/voice`` and follows every document with
``twiml_player.play_document``: each ``<Gather>`` or ``<Pay>`` action and each
``<Redirect>`` is the next signed request, all with one ``CallSid``. When the call ends,
the status callback reports ``completed`` and the call's duration.

Requests are signed with the SDK's ``RequestValidator`` over the app's public URL
(``UPM_PUBLIC_BASE_URL`` and the path) and sent to wherever the app really listens, so
the same simulator works behind a proxy. The transport is a function, so tests can post
to an app in the same process.
"""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from app.demo.twiml_player import (
    Heard,
    NextRequest,
    PayConnector,
    Phone,
    TwimlError,
    play_document,
)

VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/voice/status"
API_VERSION = "2010-04-01"
#: A call that makes more requests than this is stopped: the IVR is probably looping.
MAX_REQUESTS = 80

#: Sends one request: method, path with query, form fields and headers; returns the
#: HTTP status and the body.
Transport = Callable[[str, str, dict[str, str], dict[str, str]], tuple[int, str]]


class CallError(RuntimeError):
    """The simulated call cannot go on, for a reason outside the TwiML."""


@dataclass(frozen=True)
class CallSetup:
    """The caller, the number called, and the token and URL that requests are signed with."""

    caller: str
    called: str
    public_base_url: str
    auth_token: str
    account_sid: str = "AC" + "0" * 32
    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    max_requests: int = MAX_REQUESTS
    status_path: str = STATUS_PATH


@dataclass
class CallRecord:
    """The log of a call: each request's path, the lines heard and how the call ended."""

    call_sid: str
    requests: list[str] = field(default_factory=list)
    heard: list[Heard] = field(default_factory=list)
    ended: str = ""
    status_callback: int | None = None


def simulate_call(
    setup: CallSetup, phone: Phone, connector: PayConnector, transport: Transport
) -> CallRecord:
    """Play the call from the first webhook to the status callback and return its record."""
    record = CallRecord(call_sid=setup.call_sid)
    base = setup.public_base_url.rstrip("/")
    request: NextRequest | None = NextRequest(base + VOICE_PATH, "POST", {})
    started = time.monotonic()
    while request is not None:
        if len(record.requests) >= setup.max_requests:
            record.ended = f"stopped after {setup.max_requests} requests (is the IVR looping?)"
            break
        call_status = "ringing" if not record.requests else "in-progress"
        fields = {**_call_fields(setup, call_status), **request.params}
        path = _path_of(request.url, base)
        record.requests.append(path)
        status, body = _send(transport, setup, request.method, path, fields)
        if status != 200:
            # Twilio tells the caller an application error occurred and hangs up.
            line = Heard("note", f"the app responded HTTP {status}: {body[:300]}")
            record.heard.append(line)
            phone.hear(line)
            record.ended = f"application error (HTTP {status})"
            break
        try:
            turn = play_document(body, request.url, phone, connector)
        except TwimlError as error:
            record.ended = f"application error ({error})"
            break
        record.heard.extend(turn.heard)
        if turn.ended is not None and turn.next is not None:
            # The caller hung up during <Pay>: Twilio still posts the action.
            fields = {**_call_fields(setup, "completed"), **turn.next.params}
            record.requests.append(_path_of(turn.next.url, base))
            _send(transport, setup, turn.next.method, record.requests[-1], fields)
        record.ended = turn.ended or ""
        request = turn.next if turn.ended is None else None

    duration = max(1, round(time.monotonic() - started))
    status_fields = {
        **_call_fields(setup, "completed"),
        "CallDuration": str(duration),
        "Timestamp": email.utils.formatdate(usegmt=True),
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "0",
    }
    record.status_callback, _ = _send(transport, setup, "POST", setup.status_path, status_fields)
    return record


def _call_fields(setup: CallSetup, call_status: str) -> dict[str, str]:
    """Return the fields Twilio sends with every voice request of an inbound call."""
    return {
        "AccountSid": setup.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": setup.call_sid,
        "CallStatus": call_status,
        "Called": setup.called,
        "Caller": setup.caller,
        "Direction": "inbound",
        "From": setup.caller,
        "To": setup.called,
    }


def _path_of(url: str, base: str) -> str:
    """Return the path and query of ``url``, which must be under the public base URL."""
    target, public = urlsplit(url), urlsplit(base)
    if (target.scheme, target.netloc) != (public.scheme, public.netloc):
        raise CallError(
            f"the IVR sent the call to {url}, which is outside UPM_PUBLIC_BASE_URL {base}; "
            "TwiML URLs must be relative or under the public base URL"
        )
    return target.path + (f"?{target.query}" if target.query else "")


def _send(
    transport: Transport, setup: CallSetup, method: str, path: str, fields: dict[str, str]
) -> tuple[int, str]:
    """Sign the request as Twilio does and send it: a GET carries the fields in its query."""
    base = setup.public_base_url.rstrip("/")
    validator = RequestValidator(setup.auth_token)
    if method == "GET":
        path = path + ("&" if "?" in path else "?") + urlencode(fields)
        signature = validator.compute_signature(base + path, {})
        return transport("GET", path, {}, {"X-Twilio-Signature": signature})
    signature = validator.compute_signature(base + path, fields)
    return transport(method, path, fields, {"X-Twilio-Signature": signature})
