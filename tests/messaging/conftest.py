"""Fixtures for customer texts: the fake Messages API, fixed schedule settings, customers.

Twilio's REST API has no local counterpart, so the tests use the fake Messages API of the
crew-text tests: an HTTP server on 127.0.0.1 that records every message the Twilio SDK
sends. ``reject_number`` makes it respond for one number as Twilio does for a recipient
who replied STOP.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.main import create_app
from app.messaging.models import OutboundMessage
from app.settings import get_settings
from tests.app.factories import City
from tests.sms_flows.conftest import (  # noqa: F401 - fixtures used by name
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    FakeMessagesApi,
    fake_twilio,
    signed_form,
)

BILLING_NUMBER = FROM_NUMBER
ALERTS_NUMBER = "+15550100002"
CUSTOMER_PHONE = "+15550100123"
SECOND_PHONE = "+15550100124"
UNVERIFIED_PHONE = "+15550100125"


@pytest.fixture
def schedule_settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule the tests expect: Chicago, quiet 21:00-08:00, reminder 2 days at 08:00."""
    monkeypatch.setenv("UPM_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("UPM_QUIET_HOURS_START", "21:00")
    monkeypatch.setenv("UPM_QUIET_HOURS_END", "08:00")
    monkeypatch.setenv("UPM_REMINDER_DAYS_BEFORE_DUE", "2")
    monkeypatch.setenv("UPM_REMINDER_TIME", "08:00")
    monkeypatch.setenv("UPM_UTILITY_NAME", "City of Riverbend Utilities")
    monkeypatch.setenv("UPM_OFFICE_PHONE", "+15125550100")
    get_settings.cache_clear()


@pytest.fixture
def twilio(
    fake_twilio: FakeMessagesApi,  # noqa: F811 - the imported fixture
    schedule_settings: None,
    monkeypatch: pytest.MonkeyPatch,
) -> FakeMessagesApi:
    """The fake Messages API with separate billing and alerts numbers."""
    monkeypatch.setenv("UPM_TWILIO_ALERTS_NUMBER", ALERTS_NUMBER)
    get_settings.cache_clear()
    return fake_twilio


def reject_number(fake: FakeMessagesApi, number: str, code: int = 21610) -> None:
    """Make the fake reject a message to ``number`` with Twilio's error ``code`` (HTTP 400)."""
    accepting = fake.server.RequestHandlerClass

    class Rejecting(accepting):  # type: ignore[valid-type, misc]
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
            if form.get("To") != number:
                self.rfile = io.BytesIO(raw)
                super().do_POST()
                return
            fake.paths.append(self.path)
            fake.messages.append(form)
            error = {
                "code": code,
                "message": "Attempt to send to unsubscribed recipient",
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": 400,
            }
            data = json.dumps(error).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    fake.server.RequestHandlerClass = Rejecting


def add_phone(session: Session, account: Account, phone: str, *, verified: bool = True) -> None:
    session.add(
        Contact(
            account_id=account.id,
            kind=ContactKind.PHONE,
            value=phone,
            label="mobile",
            verified=verified,
        )
    )
    session.flush()


@pytest.fixture
def customer(session: Session) -> Callable[..., Account]:
    """Create an account whose customer speaks ``language``, with phone contacts; commit."""
    city = City(session)

    def make(
        language: str = "en",
        phones: tuple[str, ...] = (CUSTOMER_PHONE,),
        unverified: tuple[str, ...] = (),
        name: str = "Pat Doe",
    ) -> Account:
        account, _premise = city.account(name=name)
        account.customer.language = language
        for phone in phones:
            add_phone(session, account, phone)
        for phone in unverified:
            add_phone(session, account, phone, verified=False)
        session.commit()
        return account

    return make


def messages(session: Session, **where: Any) -> list[OutboundMessage]:
    """Return the stored outbound messages, oldest first, reloaded from the database."""
    session.expire_all()
    query = select(OutboundMessage).filter_by(**where).order_by(OutboundMessage.id)
    return list(session.scalars(query))


@pytest.fixture
def client(twilio: FakeMessagesApi) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


CHICAGO = ZoneInfo("America/Chicago")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Return a Chicago wall-clock time as an aware datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHICAGO)
