"""Customers who text us: households with a verified phone, an open bill and maybe a card.

Import the fixtures by name into a test module (``# noqa: F401``). Texts go through the
real signed webhook; the Twilio REST API is the fake in conftest.py, because it has no
local counterpart, and Stripe is localstripe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import alerts
from app.accounts.models import Contact, ContactKind
from app.ledger.chart import CASH, RECEIVABLES
from app.ledger.models import EntryKind
from app.ledger.service import PostingLine, post_entry
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.service import save_card
from app.settings import Settings
from tests.app.factories import City, water_tariff
from tests.payments.conftest import localstripe, localstripe_url, stripe_settings  # noqa: F401
from tests.payments.helpers import issue_bill
from tests.payments.test_autopay_cards import GOOD_CARD, card_token
from tests.sms_flows.conftest import FROM_NUMBER, inbound, signed_form

CUSTOMER_PHONE = "+15550100123"
SPANISH_PHONE = "+15550100124"
#: On no account at all.
STRANGER_PHONE = "+15550100999"
#: An unverified contact of the English household.
UNVERIFIED_PHONE = "+15550100555"

#: The tests' "today" in the utility's zone: the bills are due six days later.
TODAY = dt.date(2026, 12, 4)
DUE = dt.date(2026, 12, 10)
BILL_TOTAL = "84.12"


@dataclass(frozen=True)
class Household:
    account_id: int
    number: str
    premise_id: int
    bill_id: int
    phone: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


def post_payment(session: Session, account_id: int, amount: str, key: str) -> None:
    """Post a payment received elsewhere (the counter, the mail) straight to the ledger."""
    post_entry(
        session, key=key, kind=EntryKind.PAYMENT, effective_date=TODAY, memo="Payment",
        actor="test",
        lines=[PostingLine(CASH, Decimal(amount)),
               PostingLine(RECEIVABLES, -Decimal(amount), account_id)],
    )
    session.commit()


def add_household(
    session: Session,
    city: City,
    *,
    phone: str,
    name: str = "Pat Doe",
    language: str = "en",
    total: str = BILL_TOTAL,
    verified: bool = True,
) -> Household:
    """Open an account with water service, one bill due on DUE and ``phone`` as a contact."""
    account, premise = city.account(name)
    account.customer.language = language
    city.agreement(account, premise, city.tariff(water_tariff()))
    bill = issue_bill(session, city, account, total, due_date=DUE)
    session.add(
        Contact(account_id=account.id, kind=ContactKind.PHONE, value=phone, verified=verified)
    )
    session.flush()
    return Household(account.id, account.number, premise.id, bill.id, phone)


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Make the utility's today TODAY, so amounts past due do not depend on the real date."""
    monkeypatch.setattr(Settings, "today", lambda self: TODAY)
    return TODAY


@pytest.fixture
def customer_city(session: Session) -> City:
    """The customers' billing cycle; its code differs from the crew fixtures' C1."""
    return City(session, cycle_code="S1")


@pytest.fixture
def households(
    session: Session, customer_city: City, fake_twilio: Any, today: dt.date
) -> dict[str, Household]:
    """An English household (CUSTOMER_PHONE, also UNVERIFIED_PHONE unverified) and a
    Spanish one (SPANISH_PHONE), each owing 84.12 due 2026-12-10."""
    english = add_household(session, customer_city, phone=CUSTOMER_PHONE)
    session.add(
        Contact(account_id=english.account_id, kind=ContactKind.PHONE,
                value=UNVERIFIED_PHONE, verified=False)
    )
    spanish = add_household(
        session, customer_city, phone=SPANISH_PHONE, name="Rosa Díaz", language="es"
    )
    session.commit()
    return {"en": english, "es": spanish}


@pytest.fixture
def cards(
    localstripe: str,  # noqa: F811 - the fixture imported above
    session: Session,
    households: dict[str, Household],
) -> dict[str, int]:
    """Save a Visa ending 4242 on both households through the payments code."""
    saved = {}
    for language, household in households.items():
        card = save_card(session, StripeGateway(), account_id=household.account_id,
                         payment_method_ref=card_token(GOOD_CARD))
        saved[language] = card.id
    session.commit()
    return saved


@pytest.fixture
def sms(client: TestClient) -> Callable[..., Any]:
    """Post a signed inbound text (to the billing number unless ``to`` is given)."""

    def send(phone: str, body: str, sid: str | None = None, to: str = FROM_NUMBER) -> Any:
        params = {**inbound(phone, body, sid), "To": to}
        return client.post("/twilio/sms", data=params, headers=signed_form("/twilio/sms", params))

    return send


def reply_of(response: Any) -> str | None:
    """Return the text of the TwiML <Message>, or None for an empty <Response/>."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    message = ElementTree.fromstring(response.text).find("Message")
    return None if message is None else message.text


@pytest.fixture
def staff_alerts() -> Iterator[list[tuple[str, str]]]:
    """Collect the staff alerts raised while the test runs."""
    received: list[tuple[str, str]] = []

    def sink(kind: str, text: str) -> None:
        received.append((kind, text))

    alerts.register_sink(sink)
    yield received
    alerts._sinks.remove(sink)
