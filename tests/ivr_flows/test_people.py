"""Reaching staff: transfers in office hours, callbacks outside them, alerts for staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import alerts
from app.calls.models import CallOutcome, CallRequest, CallRequestKind
from ivr_flows.people import office_is_open
from tests.app.factories import City, water_tariff
from tests.ivr_flows.conftest import (
    CALLER,
    Customer,
    Phone,
    add_phone,
    call_record,
    set_clock,
)


@pytest.fixture
def raised(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Capture staff alerts in place of the Slack sink."""
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(alerts, "_sinks", [lambda kind, text: seen.append((kind, text))])
    yield seen


def at_menu(phone: Phone) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (dt.datetime(2026, 12, 9, 14, 0, tzinfo=dt.UTC), True),  # Wed 08:00 CST, opening
        (dt.datetime(2026, 12, 9, 13, 59, tzinfo=dt.UTC), False),  # Wed 07:59 CST
        (dt.datetime(2026, 12, 9, 22, 59, tzinfo=dt.UTC), True),  # Wed 16:59 CST
        (dt.datetime(2026, 12, 9, 23, 0, tzinfo=dt.UTC), False),  # Wed 17:00 CST, closing
        (dt.datetime(2026, 12, 12, 16, 0, tzinfo=dt.UTC), False),  # Saturday 10:00
        (dt.datetime(2026, 12, 25, 16, 0, tzinfo=dt.UTC), False),  # Christmas, a Friday
        (dt.datetime(2026, 7, 8, 13, 0, tzinfo=dt.UTC), True),  # Wed 08:00 CDT (UTC-5)
    ],
)
def test_office_hours_in_local_time(at: dt.datetime, expected: bool) -> None:
    # The default settings: America/Chicago, 08:00 to 17:00, United States holidays.
    assert office_is_open(at) is expected


def test_person_transferred_when_open(phone: Phone, customer: Customer, session: Session) -> None:
    at_menu(phone)
    phone.press("0")

    dial = phone.twiml.find("Dial")
    assert dial is not None
    assert dial.text == "+15125550100"
    assert dial.get("action", "").endswith("/twilio/voice/person/dialed?v=4&a=1")
    assert call_record(session, phone.call_sid).outcome == CallOutcome.TRANSFERRED


def test_answered_transfer_hangs_up(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    phone.press("0")
    phone.dial_result("completed")

    assert [verb.tag for verb in phone.twiml] == ["Hangup"]


def test_unanswered_transfer_offers_callback(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    phone.press("0")
    phone.dial_result("no-answer")

    assert phone.said() == (
        "Sorry, nobody could take your call. To ask for a callback from our staff, press 1. "
        "To return to the main menu, press star."
    )


def test_closed_office_offers_callback(
    phone: Phone, customer: Customer, office_closed: None
) -> None:
    at_menu(phone)
    phone.press("0")

    assert phone.said() == (
        "Our office is open Monday through Friday, from 8:00 AM to 5:00 PM, except holidays. "
        "To ask for a callback from our staff, press 1. To return to the main menu, press star."
    )
    assert phone.twiml.find("Dial") is None


def test_callback_recorded_and_alerted(
    phone: Phone,
    customer: Customer,
    office_closed: None,
    session: Session,
    raised: list[tuple[str, str]],
) -> None:
    at_menu(phone)
    phone.press("0")
    phone.press("1")

    request = session.scalars(select(CallRequest)).one()
    assert request.kind == CallRequestKind.CALLBACK
    assert request.phone == CALLER
    assert request.account_id == customer.account_id
    assert request.language == "en"
    assert request.status == "open"
    assert raised == [
        (
            "callback_requested",
            f"account …{customer.number[-4:]}, caller …0123, language en, "
            f"call request {request.id}",
        )
    ]
    assert phone.said().startswith(
        "Thank you. A member of our staff will call you back at this number."
    )
    assert call_record(session, phone.call_sid).outcome == CallOutcome.TRANSFERRED


def test_arrangement_alerted(
    phone: Phone, customer: Customer, session: Session, raised: list[tuple[str, str]]
) -> None:
    phone.call()
    phone.press("2")
    phone.press("1")
    phone.press("4")

    request = session.scalars(select(CallRequest)).one()
    assert request.kind == CallRequestKind.ARRANGEMENT
    assert request.language == "es"
    assert [kind for kind, _ in raised] == ["arrangement_requested"]
    assert customer.number not in raised[0][1]


def test_callback_star_returns_to_menu(
    phone: Phone, customer: Customer, office_closed: None, session: Session
) -> None:
    at_menu(phone)
    phone.press("0")
    phone.press("*")

    assert phone.said().startswith("For your balance and due date, press 1.")
    assert session.scalars(select(CallRequest)).all() == []


def test_office_opening_mid_call(
    phone: Phone, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_menu(phone)
    set_clock(monkeypatch, dt.datetime(2026, 12, 9, 13, 0, tzinfo=dt.UTC))
    phone.press("0")
    assert phone.twiml.find("Dial") is None

    phone.press("*")
    set_clock(monkeypatch, dt.datetime(2026, 12, 9, 14, 0, tzinfo=dt.UTC))
    phone.press("0")
    assert phone.twiml.find("Dial") is not None


@pytest.fixture
def owes_nothing(session: Session, client: TestClient) -> Customer:
    """An account with water service and no bill yet, the caller's number verified."""
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    add_phone(session, account, CALLER, verified=True)
    session.commit()
    return Customer(account.id, account.number)


def test_arrangement_skipped_nothing_owed(
    phone: Phone, owes_nothing: Customer, session: Session, raised: list[tuple[str, str]]
) -> None:
    at_menu(phone)
    phone.press("4")

    assert phone.said().startswith(
        "Your account owes nothing now, so there is no payment to arrange. "
        "For your balance and due date, press 1."
    )
    assert session.scalars(select(CallRequest)).all() == []
    assert raised == []
    assert call_record(session, phone.call_sid).outcome is None
