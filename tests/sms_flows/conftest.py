"""Fixtures for crew texts: a fake Twilio Messages API on 127.0.0.1 and signed requests."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app.main import create_app
from app.settings import get_settings
from app.work_orders import service
from app.work_orders.models import Crew, CrewMember, Priority, Staff, StaffRole, WorkOrderType
from app.work_orders.service import Actor
from tests.app.factories import City

ACCOUNT_SID = "AC00000000000000000000000000000001"
AUTH_TOKEN = "test-auth-token-for-signatures"
FROM_NUMBER = "+15550100000"
PUBLIC_BASE_URL = "https://upm.example.test"
TECH_PHONE = "+15550100777"
OTHER_TECH_PHONE = "+15550100888"


class FakeMessagesApi:
    """Twilio's Messages API, create only: records each form, responds as Twilio does."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.paths: list[str] = []
        self._sids = count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.paths.append(self.path)
                fake.messages.append(form)
                sid = f"SM{next(fake._sids):032d}"
                answer = {
                    "sid": sid, "account_sid": ACCOUNT_SID, "to": form.get("To"),
                    "from": form.get("From"), "body": form.get("Body"), "status": "queued",
                    "num_segments": "1", "direction": "outbound-api",
                    "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
                }
                data = json.dumps(answer).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_twilio(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesApi]:
    fake = FakeMessagesApi()
    monkeypatch.setenv("UPM_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("UPM_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("UPM_TWILIO_FROM_NUMBER", FROM_NUMBER)
    monkeypatch.setenv("UPM_TWILIO_API_BASE", fake.url)
    monkeypatch.setenv("UPM_PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    get_settings.cache_clear()
    yield fake
    fake.close()


def signed_form(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    """Return the X-Twilio-Signature header for a form posted to ``path``."""
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params)
    return {"X-Twilio-Signature": signature}


_message_numbers = count(1)


def inbound(phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SMin{next(_message_numbers):030d}",
        "AccountSid": ACCOUNT_SID,
        "From": phone,
        "To": FROM_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


@pytest.fixture
def client(fake_twilio: FakeMessagesApi) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def text(client: TestClient) -> Callable[..., Any]:
    """Post a signed inbound text and return the HTTP response."""

    def send(phone: str, body: str, sid: str | None = None) -> Any:
        params = inbound(phone, body, sid)
        return client.post("/twilio/sms", data=params, headers=signed_form("/twilio/sms", params))

    return send


@pytest.fixture
def world(session: Session, fake_twilio: FakeMessagesApi) -> dict[str, Any]:
    """A premise with a six-dial water meter read at 4000, a clerk, two crew members."""
    city = City(session)
    _, premise = city.account()
    register = city.meter(premise, "W-100", "water", "gal", dials=6)
    city.read(register, dt.date(2026, 11, 1), "004000")
    clerk = Staff(name="Cleo Clerk", role=StaffRole.CLERK)
    tech = Staff(name="Tia Tech", role=StaffRole.FIELD_CREW, phone=TECH_PHONE)
    other = Staff(name="Omar Other", role=StaffRole.FIELD_CREW, phone=OTHER_TECH_PHONE)
    crew = Crew(code="N1", name="North crew")
    session.add_all([clerk, tech, other, crew])
    session.flush()
    session.add_all([CrewMember(crew_id=crew.id, staff_id=tech.id),
                     CrewMember(crew_id=crew.id, staff_id=other.id)])
    session.commit()
    return {"premise": premise, "meter_id": register.meter_id, "clerk": clerk,
            "tech": tech, "other": other, "crew": crew}


@pytest.fixture
def dispatched(session: Session, world: dict[str, Any]) -> Callable[..., int]:
    """Create a reread, assign it to a crew member, dispatch it and commit; return its number."""
    keys = count(1)

    def make(member: str = "tech", notes: str | None = "Dog in back yard") -> int:
        clerk = Actor("clerk", world["clerk"])
        order = service.create_order(
            session, type=WorkOrderType.REREAD, priority=Priority.ROUTINE, actor=clerk,
            idempotency_key=f"reread-{next(keys)}", premise_id=world["premise"].id,
            meter_id=world["meter_id"], notes=notes,
            now=dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC),
        )
        service.assign(session, order, crew=world["crew"], member=world[member], actor=clerk)
        service.dispatch(session, order, actor=clerk)
        session.commit()
        return order.number

    return make


# Customer texts: households, saved cards (localstripe) and signed texts to any of our
# numbers. Imported last, because that module imports the helpers above.
from tests.sms_flows.customer_fixtures import (  # noqa: E402, F401
    cards,
    customer_city,
    households,
    localstripe,
    localstripe_url,
    sms,
    staff_alerts,
    stripe_settings,
    today,
)
