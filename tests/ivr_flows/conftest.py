"""Fixtures for the IVR: a caller that plays the TwiML as Twilio would, and a customer.

Every request is signed with the twilio SDK's ``RequestValidator`` over the absolute URL
the previous TwiML named, so the tests walk the call tree through the real endpoints.
Twilio's REST API has no local counterpart, so the fake Messages API of the crew-text
tests takes any text a payment sends. Stripe is localstripe.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app.accounts.models import Account, Contact, ContactKind
from app.calls.models import Call
from app.main import create_app
from app.settings import get_settings
from ivr_flows import people
from ivr_flows.speech import VOICES
from tests.app.factories import City, water_tariff
from tests.payments.conftest import (  # noqa: F401 - fixtures used by name
    localstripe,
    localstripe_url,
    stripe_settings,
)
from tests.payments.helpers import issue_bill
from tests.sms_flows.conftest import (  # noqa: F401 - fixtures used by name
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    FakeMessagesApi,
    fake_twilio,
)

CALLER = "+15550100123"
UNKNOWN_CALLER = "+15550100999"
OUR_NUMBER = "+15550100000"
ZIP_CODE = "78701"
BILL_TOTAL = Decimal("84.12")
DUE_DATE = dt.date(2026, 12, 10)
#: Wednesday 9 December 2026, 10:00 in Chicago (UTC-6): the office is open.
OPEN_AT = dt.datetime(2026, 12, 9, 16, 0, tzinfo=dt.UTC)
#: The same Wednesday at 19:00 in Chicago: the office is closed.
CLOSED_AT = dt.datetime(2026, 12, 10, 1, 0, tzinfo=dt.UTC)

_call_numbers = count(1)


@dataclass
class Customer:
    account_id: int
    number: str


@dataclass
class Phone:
    """A caller: posts what the last TwiML asks for and keeps each document it got."""

    client: TestClient
    caller: str = CALLER
    call_sid: str = field(default_factory=lambda: f"CA{next(_call_numbers):032d}")
    documents: list[ET.Element] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def twiml(self) -> ET.Element:
        return self.documents[-1]

    def call(self) -> ET.Element:
        return self.post(f"{PUBLIC_BASE_URL}/twilio/voice", CallStatus="ringing")

    def press(self, digits: str) -> ET.Element:
        """Key ``digits`` at the document's ``<Gather>``."""
        return self.post(self.gather().attrib["action"], Digits=digits)

    def speak(self, words: str) -> ET.Element:
        return self.post(self.gather().attrib["action"], SpeechResult=words, Confidence="0.9")

    def wait(self) -> ET.Element:
        """Say nothing: the ``<Gather>`` times out and Twilio follows the next verb."""
        verbs = list(self.twiml)
        after = verbs[verbs.index(self.gather()) + 1]
        assert after.tag == "Redirect", "a <Gather> must be followed by a <Redirect>"
        return self.post(str(after.text))

    def follow(self) -> ET.Element:
        """Follow the document's ``<Redirect>``, as Twilio does after the verbs before it."""
        redirects = self.twiml.findall("Redirect")
        assert len(redirects) == 1
        return self.post(str(redirects[0].text))

    def pay_result(self, **fields: str) -> ET.Element:
        """Post ``<Pay>``'s action, as Twilio does when ``<Pay>`` ends."""
        verb = self.twiml.find("Pay")
        assert verb is not None, "the document has no <Pay>"
        return self.post(verb.attrib["action"], **fields)

    def dial_result(self, status: str) -> ET.Element:
        verb = self.twiml.find("Dial")
        assert verb is not None, "the document has no <Dial>"
        return self.post(verb.attrib["action"], DialCallStatus=status)

    def hang_up(self, status: str = "completed", duration: str = "42") -> httpx.Response:
        return self.send(
            f"{PUBLIC_BASE_URL}/twilio/voice/status", CallStatus=status, CallDuration=duration
        )

    def gather(self) -> ET.Element:
        found = self.twiml.find("Gather")
        assert found is not None, f"no <Gather> in {ET.tostring(self.twiml, encoding='unicode')}"
        return found

    def said(self) -> str:
        """Return every ``<Say>`` of the last document, nested ones included, in order."""
        return " ".join(str(say.text) for say in self.twiml.iter("Say"))

    def post(self, url: str, **fields: str) -> ET.Element:
        response = self.send(url, **fields)
        assert response.status_code == 200, response.text
        document = ET.fromstring(response.text)
        check_twiml(url, document)
        self.documents.append(document)
        return self.twiml

    def send(self, url: str, **fields: str) -> httpx.Response:
        """Post a signed form to an absolute URL and return the HTTP response."""
        params = {
            "CallSid": self.call_sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.caller,
            "To": OUR_NUMBER,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **fields,
        }
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        response = self.client.post(
            url.removeprefix(PUBLIC_BASE_URL),
            data=params,
            headers={"X-Twilio-Signature": signature},
        )
        self.responses.append(response)
        return response


def check_twiml(url: str, document: ET.Element) -> None:
    """Check what every IVR document must do, whichever step made it.

    Every ``<Say>`` has a voice valid for its language; every ``<Gather>`` has an action
    and a language and is followed by a ``<Redirect>`` for no input; and a redirect back
    to the step being answered carries a higher attempt, so no step loops on itself.
    """
    voices = {(voice.language, voice.voice) for voice in VOICES.values()}
    for say in document.iter("Say"):
        assert (say.get("language"), say.get("voice")) in voices, ET.tostring(say)
    verbs = list(document)
    for gather in document.iter("Gather"):
        assert gather.get("action", "").startswith(f"{PUBLIC_BASE_URL}/twilio/voice/")
        assert gather.get("language") in {voice.language for voice in VOICES.values()}
        following = verbs[verbs.index(gather) + 1 :]
        assert following and following[0].tag == "Redirect", "no <Redirect> after <Gather>"
    requested = urlsplit(url)
    for redirect in document.iter("Redirect"):
        target = urlsplit(str(redirect.text))
        if target.path == requested.path:
            before = int(parse_qs(requested.query).get("a", ["1"])[0])
            after = int(parse_qs(target.query)["a"][0])
            assert after > before, f"{url} redirects to itself without a higher attempt"


def set_clock(monkeypatch: pytest.MonkeyPatch, at: dt.datetime) -> None:
    monkeypatch.setattr(people, "now", lambda: at)


@pytest.fixture
def office_open(monkeypatch: pytest.MonkeyPatch) -> None:
    set_clock(monkeypatch, OPEN_AT)


@pytest.fixture
def office_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    set_clock(monkeypatch, CLOSED_AT)


@pytest.fixture
def client(
    fake_twilio: FakeMessagesApi,  # noqa: F811 - the imported fixture
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    monkeypatch.setenv("UPM_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("UPM_OFFICE_PHONE", "+15125550100")
    monkeypatch.setenv("UPM_UTILITY_NAME", "City of Riverbend Utilities")
    get_settings.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def phone(client: TestClient, office_open: None) -> Phone:
    return Phone(client)


@pytest.fixture
def customer(session: Session, client: TestClient) -> Customer:
    """An account with water service at ZIP 78701, an 84.12 bill due 2026-12-10, and the
    caller's number as a verified contact."""
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    issue_bill(session, city, account, str(BILL_TOTAL), due_date=DUE_DATE)
    add_phone(session, account, CALLER, verified=True)
    session.commit()
    return Customer(account.id, account.number)


def add_phone(session: Session, account: Account, number: str, *, verified: bool) -> None:
    session.add(
        Contact(account_id=account.id, kind=ContactKind.PHONE, value=number, verified=verified)
    )
    session.flush()


def call_record(session: Session, call_sid: str) -> Call:
    session.expire_all()
    return session.scalars(select(Call).where(Call.call_sid == call_sid)).one()


def attributes(element: ET.Element) -> dict[str, Any]:
    return dict(element.attrib)
