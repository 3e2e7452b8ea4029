"""The call loop: one CallSid, signed requests, redirects, the status callback and its guards.

The transport here checks each signature with the SDK's ``RequestValidator`` and returns
scripted documents by path, so the loop is tested apart from any IVR.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from app.demo.call_simulator import STATUS_PATH, CallError, CallSetup, simulate_call
from tests.demo.support import CannedConnector, ScriptedPhone

BASE = "https://upm.example.test"
TOKEN = "test-auth-token-for-signatures"
SETUP = CallSetup(
    caller="+15550100123",
    called="+15550100000",
    public_base_url=BASE,
    auth_token=TOKEN,
    call_sid="CA00000000000000000000000000000001",
)


class ScriptedApp:
    """Responds to each path with a scripted document after checking the signature."""

    def __init__(self, documents: dict[str, str]) -> None:
        self.documents = documents
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def __call__(
        self, method: str, path: str, fields: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, str]:
        signed = fields if method == "POST" else {}
        valid = RequestValidator(TOKEN).validate(BASE + path, signed, headers["X-Twilio-Signature"])
        if not valid:
            return 403, "invalid signature"
        if method == "GET":
            fields = dict(parse_qsl(urlsplit(path).query))
        self.requests.append((method, path, fields))
        route = urlsplit(path).path
        if route == STATUS_PATH:
            return 204, ""
        if route not in self.documents:
            return 404, "not found"
        return 200, self.documents[route]


MENU = (
    '<Response><Gather action="/twilio/voice/menu" numDigits="1">'
    "<Say>Press 1 for your balance.</Say></Gather>"
    '<Redirect method="GET">/twilio/voice/again</Redirect></Response>'
)


def test_call_follows_gather_and_redirect() -> None:
    app = ScriptedApp(
        {
            "/twilio/voice": MENU,
            "/twilio/voice/again": MENU,
            "/twilio/voice/menu": "<Response><Say>You owe $84.12.</Say><Hangup/></Response>",
        }
    )
    phone = ScriptedPhone("", "1")

    record = simulate_call(SETUP, phone, CannedConnector(), app)

    assert record.requests == ["/twilio/voice", "/twilio/voice/again", "/twilio/voice/menu"]
    assert record.ended == "hangup"
    assert record.status_callback == 204
    methods = [method for method, _, _ in app.requests]
    assert methods == ["POST", "GET", "POST", "POST"]
    assert {fields["CallSid"] for _, _, fields in app.requests} == {SETUP.call_sid}
    statuses = [fields["CallStatus"] for _, _, fields in app.requests]
    assert statuses == ["ringing", "in-progress", "in-progress", "completed"]
    assert app.requests[2][2]["Digits"] == "1"
    assert app.requests[2][2]["From"] == "+15550100123"
    assert app.requests[2][2]["To"] == "+15550100000"
    assert app.requests[2][2]["Direction"] == "inbound"
    assert app.requests[3][1] == STATUS_PATH
    assert int(app.requests[3][2]["CallDuration"]) >= 1
    assert "You owe $84.12." in [line.text for line in record.heard]


def test_hang_up_at_pay_posts_action() -> None:
    app = ScriptedApp(
        {
            "/twilio/voice": '<Response><Pay action="/twilio/voice/pay" chargeAmount="9.50"/>'
            "</Response>",
            "/twilio/voice/pay": "<Response><Say>never heard</Say></Response>",
        }
    )

    record = simulate_call(SETUP, ScriptedPhone("hangup"), CannedConnector(), app)

    assert record.requests == ["/twilio/voice", "/twilio/voice/pay"]
    assert app.requests[1][2]["Result"] == "caller-hung-up"
    assert record.ended == "caller hung up"
    assert "never heard" not in [line.text for line in record.heard]
    assert app.requests[2][1] == STATUS_PATH


def test_app_error_ends_call() -> None:
    app = ScriptedApp({"/twilio/voice": "<Response><Redirect>/missing</Redirect></Response>"})

    record = simulate_call(SETUP, ScriptedPhone(), CannedConnector(), app)

    assert record.ended == "application error (HTTP 404)"
    assert record.heard[-1].text == "the app responded HTTP 404: not found"
    assert record.status_callback == 204


def test_wrong_token_is_rejected() -> None:
    app = ScriptedApp({"/twilio/voice": "<Response><Hangup/></Response>"})
    forged = CallSetup(caller="+15550100123", called="", public_base_url=BASE, auth_token="x")

    record = simulate_call(forged, ScriptedPhone(), CannedConnector(), app)

    assert record.ended == "application error (HTTP 403)"
    assert record.status_callback == 403


def test_looping_ivr_is_stopped() -> None:
    app = ScriptedApp({"/twilio/voice": "<Response><Redirect>/twilio/voice</Redirect></Response>"})
    setup = CallSetup(
        caller="+15550100123", called="", public_base_url=BASE, auth_token=TOKEN, max_requests=5
    )

    record = simulate_call(setup, ScriptedPhone(), CannedConnector(), app)

    assert len(record.requests) == 5
    assert record.ended == "stopped after 5 requests (is the IVR looping?)"


def test_url_outside_public_base() -> None:
    app = ScriptedApp(
        {"/twilio/voice": "<Response><Redirect>https://elsewhere.test/x</Redirect></Response>"}
    )

    with pytest.raises(CallError, match="outside UPM_PUBLIC_BASE_URL"):
        simulate_call(SETUP, ScriptedPhone(), CannedConnector(), app)
