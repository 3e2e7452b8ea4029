"""The voice webhook behind a TLS-terminating proxy, and unsigned or forged requests.

Each request is signed by the twilio SDK's ``RequestValidator.compute_signature`` over
the URL Twilio would have called.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app.calls.models import Call
from app.inbound.models import InboundEvent
from app.main import create_app
from app.settings import get_settings

TOKEN = "voice-signature-test-token"
PUBLIC = "https://ops.example-utility.org"
PROXY = "10.0.0.5"
CALL = {
    "CallSid": "CA00000000000000000000000000000001",
    "From": "+15550100123",
    "To": "+15550100999",
    "CallStatus": "ringing",
}


@pytest.fixture
def voice_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("UPM_PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("UPM_TWILIO_TRUSTED_PROXIES", PROXY)
    get_settings.cache_clear()


def _client(peer: str) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://127.0.0.1:8000", client=(peer, 40000)) as c:
        yield c


@pytest.fixture
def from_proxy(voice_env: None) -> Iterator[TestClient]:
    yield from _client(PROXY)


@pytest.fixture
def from_untrusted_peer(voice_env: None) -> Iterator[TestClient]:
    yield from _client("203.0.113.9")


def signature(url: str) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, CALL))


def calls(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Call)) or 0)


def claims(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


def test_proxied_call_answered(from_proxy: TestClient) -> None:
    # The app is reached at http://127.0.0.1:8000; Twilio signed the public https URL.
    headers = {
        "Host": "ops.example-utility.org",
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": signature(f"{PUBLIC}/twilio/voice"),
    }

    response = from_proxy.post("/twilio/voice", data=CALL, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Gather" in response.text


def test_public_url_used_without_proxy(from_untrusted_peer: TestClient) -> None:
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/twilio/voice")}

    response = from_untrusted_peer.post("/twilio/voice", data=CALL, headers=headers)

    assert response.status_code == 200


def test_http_url_signature_invalid() -> None:
    signed = signature(f"{PUBLIC}/twilio/voice")

    valid = RequestValidator(TOKEN).validate(
        "http://ops.example-utility.org/twilio/voice", CALL, signed
    )

    assert valid is False


def test_forged_forwarded_host_rejected(from_untrusted_peer: TestClient, session: Session) -> None:
    headers = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": signature("https://evil.example/twilio/voice"),
    }

    response = from_untrusted_peer.post("/twilio/voice", data=CALL, headers=headers)

    assert response.status_code == 403
    assert response.json()["code"] == "twilio_signature_invalid"
    assert calls(session) == 0
    assert claims(session) == 0


@pytest.mark.parametrize(
    "path", ["/twilio/voice", "/twilio/voice/menu/choice?v=3&a=1", "/twilio/voice/status"]
)
def test_unsigned_request_rejected(
    from_untrusted_peer: TestClient, session: Session, path: str
) -> None:
    response = from_untrusted_peer.post(path, data={**CALL, "Digits": "1"})

    assert response.status_code == 403
    assert response.json()["code"] == "twilio_signature_missing"
    assert calls(session) == 0
    assert claims(session) == 0


def test_step_signature_covers_query(from_untrusted_peer: TestClient, session: Session) -> None:
    # A signature over one attempt does not carry to another: the query is signed too.
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC}/twilio/voice/language?v=1&a=1")}

    response = from_untrusted_peer.post(
        "/twilio/voice/language?v=1&a=3", data=CALL, headers=headers
    )

    assert response.status_code == 403
    assert claims(session) == 0
