"""Twilio signatures behind proxies, with explicit ports and with repeated form keys.

Each request is signed by the twilio SDK's own ``RequestValidator.compute_signature``
over the URL Twilio would have called.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from app.inbound.models import InboundEvent
from app.main import create_app
from app.settings import get_settings

TOKEN = "signature-test-auth-token"
PUBLIC = "https://ops.example-utility.org"
PROXY = "10.0.0.5"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def twilio_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("UPM_PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("UPM_TWILIO_TRUSTED_PROXIES", f"{PROXY},192.168.8.0/24")
    get_settings.cache_clear()


def _client(peer: str) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://127.0.0.1:8000", client=(peer, 40000)) as c:
        yield c


@pytest.fixture
def from_untrusted_peer(twilio_env: None) -> Iterator[TestClient]:
    yield from _client("203.0.113.9")


@pytest.fixture
def from_proxy(twilio_env: None) -> Iterator[TestClient]:
    yield from _client(PROXY)


def signature(url: str, params: dict[str, str] | list[tuple[str, str]]) -> str:
    if isinstance(params, list):
        # A multi-valued form, as Twilio signs it: every value of a repeated key.
        return str(RequestValidator(TOKEN).compute_signature(url, FormData(params)))
    return str(RequestValidator(TOKEN).compute_signature(url, params))


def text(sid: str, body: str = "HELP") -> dict[str, str]:
    return {"MessageSid": sid, "From": "+15550100123", "To": "+15550100999", "Body": body}


def claimed(session: Session, event_id: str) -> int:
    query = select(func.count()).select_from(InboundEvent).where(InboundEvent.event_id == event_id)
    return int(session.scalar(query) or 0)


def test_public_url_signature_accepted(
    from_untrusted_peer: TestClient,
) -> None:
    # The app receives http://127.0.0.1:8000 while Twilio signed the public https URL.
    form = text("SM00000000000000000000000000000011")
    headers = {
        **FORM_HEADERS,
        "Host": "ops.example-utility.org",
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": signature(f"{PUBLIC}/twilio/sms", form),
    }

    response = from_untrusted_peer.post("/twilio/sms", data=form, headers=headers)

    assert response.status_code == 200
    assert response.text.startswith("<?xml")


def test_http_url_signature_invalid() -> None:
    form = text("SM00000000000000000000000000000012")
    signed = signature(f"{PUBLIC}/twilio/sms", form)

    validator = RequestValidator(TOKEN)

    assert validator.validate("http://ops.example-utility.org/twilio/sms", form, signed) is False


def test_untrusted_forwarded_host_rejected(
    from_untrusted_peer: TestClient, session: Session
) -> None:
    # The forger signs over its own host and sends it as X-Forwarded-Host.
    sid = "SM00000000000000000000000000000013"
    form = text(sid)
    headers = {
        **FORM_HEADERS,
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": signature("https://evil.example/twilio/sms", form),
    }

    response = from_untrusted_peer.post("/twilio/sms", data=form, headers=headers)

    assert response.status_code == 403
    assert response.json()["code"] == "twilio_signature_invalid"
    assert claimed(session, sid) == 0


def test_trusted_proxy_headers_build_url(from_proxy: TestClient) -> None:
    # A second public name served by the same app, reached through the trusted proxy.
    form = text("SM00000000000000000000000000000014")
    headers = {
        **FORM_HEADERS,
        "X-Forwarded-Host": "texts.example-utility.org",
        "X-Forwarded-Proto": "https",
        "X-Twilio-Signature": signature("https://texts.example-utility.org/twilio/sms", form),
    }

    response = from_proxy.post("/twilio/sms", data=form, headers=headers)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("signed_over", "public"),
    [
        ("https://ops.example-utility.org/twilio/sms", "https://ops.example-utility.org:443"),
        ("https://ops.example-utility.org:443/twilio/sms", "https://ops.example-utility.org"),
    ],
)
def test_default_port_either_way_accepted(
    twilio_env: None, monkeypatch: pytest.MonkeyPatch, signed_over: str, public: str
) -> None:
    # The public base URL carries :443 and Twilio's signed URL does not, and the reverse.
    monkeypatch.setenv("UPM_PUBLIC_BASE_URL", public)
    get_settings.cache_clear()
    form = text("SM00000000000000000000000000000015")
    headers = {**FORM_HEADERS, "X-Twilio-Signature": signature(signed_over, form)}

    with TestClient(create_app()) as client:
        response = client.post("/twilio/sms", data=form, headers=headers)

    assert response.status_code == 200


def test_repeated_keys_accepted(from_untrusted_peer: TestClient) -> None:
    # A key sent twice is signed with both values, and dict(form) would keep only one.
    pairs = [
        ("MessageSid", "SM00000000000000000000000000000001"),
        ("From", "+15550100123"),
        ("To", "+15550100999"),
        ("Body", "PAY"),
        ("MessagingBinding.Address", "+15550100123"),
        ("MessagingBinding.Address", "+15550100122"),
    ]
    headers = {**FORM_HEADERS, "X-Twilio-Signature": signature(f"{PUBLIC}/twilio/sms", pairs)}

    response = from_untrusted_peer.post("/twilio/sms", content=_encode(pairs), headers=headers)

    assert response.status_code == 200


def test_repeated_keys_single_value_rejected(from_untrusted_peer: TestClient) -> None:
    pairs = [
        ("MessageSid", "SM00000000000000000000000000000016"),
        ("From", "+15550100123"),
        ("MessagingBinding.Address", "+15550100123"),
        ("MessagingBinding.Address", "+15550100122"),
    ]
    one_value = dict(pairs)
    headers = {
        **FORM_HEADERS,
        "X-Twilio-Signature": signature(f"{PUBLIC}/twilio/sms", one_value),
    }

    response = from_untrusted_peer.post("/twilio/sms", content=_encode(pairs), headers=headers)

    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/sms/status"])
def test_unsigned_request_rejected(
    from_untrusted_peer: TestClient, session: Session, path: str
) -> None:
    sid = "SM00000000000000000000000000000017"
    form = {**text(sid), "MessageStatus": "delivered"}

    response = from_untrusted_peer.post(path, data=form, headers=FORM_HEADERS)

    assert response.status_code == 403
    assert claimed(session, sid) == 0


def _encode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)
