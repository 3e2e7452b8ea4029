"""STOP and START by text: per program, first of all flows, and never taken as an answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.db import session_scope
from app.messaging.models import OutboundMessage, Program, SmsConsent
from app.messaging.outbound import queue_text
from app.payments.models import Payment
from app.settings import get_settings
from app.work_orders.models import WorkOrder, WorkOrderType
from sms_flows.models import ConversationStatus, SmsConversation
from tests.sms_flows.conftest import FROM_NUMBER, FakeMessagesApi
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    STRANGER_PHONE,
    Household,
    reply_of,
)

ALERTS_NUMBER = "+15550100001"


@pytest.fixture
def alerts_number(monkeypatch: pytest.MonkeyPatch, fake_twilio: FakeMessagesApi) -> str:
    """Send alerts from their own number, so STOP to it opts out of alerts only."""
    monkeypatch.setenv("UPM_TWILIO_ALERTS_NUMBER", ALERTS_NUMBER)
    get_settings.cache_clear()
    return ALERTS_NUMBER


def consent(session: Session, phone: str) -> dict[Program, bool]:
    session.expire_all()
    rows = session.scalars(select(SmsConsent).where(SmsConsent.phone == phone))
    return {row.program: row.opted_out for row in rows}


def conversation_statuses(session: Session) -> list[ConversationStatus]:
    session.expire_all()
    return list(session.scalars(select(SmsConversation.status).order_by(SmsConversation.id)))


def test_stop_start_stop_please_sequence(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], alerts_number: str, fake_twilio: FakeMessagesApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A text-to-pay question is pending for the customer.
    asked = reply_of(sms(CUSTOMER_PHONE, "PAY"))
    assert asked is not None
    assert asked.startswith("Reply YES to pay $84.12")

    # STOP (lower case, trailing space) to the alerts number: opted out of alerts only,
    # the question is canceled, and the reply is empty because Twilio confirms it.
    assert reply_of(sms(CUSTOMER_PHONE, "stop ", to=alerts_number)) is None
    assert consent(session, CUSTOMER_PHONE) == {Program.ALERTS: True}
    assert conversation_statuses(session) == [ConversationStatus.CANCELED]

    # An outage alert queued now is suppressed before Twilio is called.
    with session_scope() as other:
        message = queue_text(
            other, to_number=CUSTOMER_PHONE, program=Program.ALERTS, kind="outage",
            body="Water outage on your street until 4 PM.", language="en",
            idempotency_key="outage:test", urgent=True,
        )
        message_id = message.id
    session.expire_all()
    assert session.get_one(OutboundMessage, message_id).status == "suppressed"
    assert fake_twilio.messages == []

    # START re-subscribes; Twilio confirms it, so again no reply.
    assert reply_of(sms(CUSTOMER_PHONE, "START", to=alerts_number)) is None
    assert consent(session, CUSTOMER_PHONE) == {Program.ALERTS: False}

    # STOP PLEASE is no carrier keyword: opted out by policy, confirmed, logged, audited.
    with caplog.at_level(logging.WARNING, logger="sms_flows.consent_keywords"):
        reply = reply_of(sms(CUSTOMER_PHONE, "STOP PLEASE", to=alerts_number))
    assert reply == (
        "You will get no more alert texts from City of Riverbend Utilities at this number. "
        "Reply START to get them again. Your account and autopay are unchanged."
    )
    assert consent(session, CUSTOMER_PHONE) == {Program.ALERTS: True}
    assert "read as a request to opt out" in caplog.text
    assert CUSTOMER_PHONE not in caplog.text
    request = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "sms.opt_out_request")
    ).one()
    assert request.actor == "sms:…0123"
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    "body", ["STOP", "stop ", "Stop", "STOPALL", "unsubscribe", "CANCEL", "end", "Quit",
             "OPTOUT", "revoke"],
)
def test_carrier_stop_words_reply_empty(
    session: Session, sms: Callable[..., Any], households: dict[str, Household], body: str
) -> None:
    assert reply_of(sms(CUSTOMER_PHONE, body)) is None
    # One number serves both programs here, so STOP to it opts out of both.
    assert consent(session, CUSTOMER_PHONE) == {Program.BILLING: True, Program.ALERTS: True}
    source = session.scalars(select(SmsConsent.source)).first()
    assert source == body.strip().upper()


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("STOP PLEASE", "You will get no more texts from City of Riverbend Utilities at this "
                        "number. Reply START to get them again. Your account and autopay are "
                        "unchanged."),
        ("stop.", "You will get no more texts from City of Riverbend Utilities at this number. "
                  "Reply START to get them again. Your account and autopay are unchanged."),
        ("cancel autopay", "You will get no more texts from City of Riverbend Utilities at this "
                           "number. Reply START to get them again. Your account and autopay "
                           "are unchanged."),
        ("PARAR", "Ya no le enviaremos textos de City of Riverbend Utilities a este teléfono. "
                  "Responda COMENZAR para volver a recibirlos. Su cuenta y su autopago no "
                  "cambian."),
    ],
)
def test_other_stop_forms_confirmed(
    session: Session, sms: Callable[..., Any], households: dict[str, Household], body: str,
    reply: str,
) -> None:
    assert reply_of(sms(CUSTOMER_PHONE, body)) == reply
    assert consent(session, CUSTOMER_PHONE) == {Program.BILLING: True, Program.ALERTS: True}


def test_stop_to_billing_number_keeps_alerts(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    alerts_number: str,
) -> None:
    assert reply_of(sms(CUSTOMER_PHONE, "STOP", to=FROM_NUMBER)) is None
    assert consent(session, CUSTOMER_PHONE) == {Program.BILLING: True}


@pytest.mark.parametrize("body", ["START", "unstop", " Start "])
def test_carrier_start_words_reply_empty(
    session: Session, sms: Callable[..., Any], households: dict[str, Household], body: str
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "STOP"))

    assert reply_of(sms(CUSTOMER_PHONE, body)) is None
    assert consent(session, CUSTOMER_PHONE) == {Program.BILLING: False, Program.ALERTS: False}


def test_comenzar_confirmed_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    reply_of(sms(SPANISH_PHONE, "PARAR"))

    reply = reply_of(sms(SPANISH_PHONE, "COMENZAR"))

    assert reply == (
        "Volveremos a enviarle textos de City of Riverbend Utilities a este teléfono. "
        "Responda PARAR para dejar de recibirlos o AYUDA para pedir ayuda."
    )
    assert consent(session, SPANISH_PHONE) == {Program.BILLING: False, Program.ALERTS: False}


def test_start_never_answers_question(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))

    assert reply_of(sms(CUSTOMER_PHONE, "START")) is None
    assert conversation_statuses(session) == [ConversationStatus.PENDING]
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_yes_after_stop_mirrors_twilio_opt_in(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "STOP"))

    # Twilio takes YES as an opt-in word, so our record follows it; nothing is pending.
    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == "There is nothing to confirm. Text PAY to pay or AUTOPAY for autopay."
    assert consent(session, CUSTOMER_PHONE) == {Program.BILLING: False, Program.ALERTS: False}
    sources = set(session.scalars(select(SmsConsent.source)))
    assert sources == {"YES"}


def test_stranger_can_opt_out(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    assert reply_of(sms(STRANGER_PHONE, "STOP")) is None
    assert consent(session, STRANGER_PHONE) == {Program.BILLING: True, Program.ALERTS: True}


@pytest.mark.parametrize(
    ("phone", "stop", "body"),
    [
        (CUSTOMER_PHONE, "STOP", "BAL"),
        (CUSTOMER_PHONE, "STOP", "hello"),
        (SPANISH_PHONE, "PARAR", "SALDO"),
        (SPANISH_PHONE, "PARAR", "SI"),
    ],
)
def test_opted_out_sender_gets_no_reply(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    caplog: pytest.LogCaptureFixture, phone: str, stop: str, body: str,
) -> None:
    reply_of(sms(phone, stop))

    with caplog.at_level(logging.INFO, logger="sms_flows.consent_keywords"):
        reply = reply_of(sms(phone, body))

    assert reply is None
    suppressed = [r.getMessage() for r in caplog.records if "gets no reply" in r.getMessage()]
    assert len(suppressed) == 1
    assert f"…{phone[-4:]}" in suppressed[0]
    assert phone not in suppressed[0]


def test_opted_out_leak_report_still_makes_order(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "STOP"))

    reply = reply_of(sms(CUSTOMER_PHONE, "LEAK"))

    assert reply is None
    orders = session.scalars(select(WorkOrder)).all()
    assert len(orders) == 1
    assert orders[0].type == WorkOrderType.LEAK_INVESTIGATION


def test_opted_out_sender_still_gets_help(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    reply_of(sms(SPANISH_PHONE, "PARAR"))

    reply = reply_of(sms(SPANISH_PHONE, "AYUDA"))

    assert reply is not None and reply.startswith("City of Riverbend Utilities:")


def test_stop_to_billing_number_still_answers_on_alerts_number(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    alerts_number: str,
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "STOP", to=FROM_NUMBER))

    assert reply_of(sms(CUSTOMER_PHONE, "BAL", to=FROM_NUMBER)) is None
    reply = reply_of(sms(CUSTOMER_PHONE, "BAL", to=ALERTS_NUMBER))
    assert reply is not None and reply.startswith("Account ending")
