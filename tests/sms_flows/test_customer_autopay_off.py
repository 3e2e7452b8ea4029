"""AUTOPAY OFF by text: a YES turns autopay off once; NO, expiry and nothing to turn off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.db import utcnow
from app.payments import channels
from app.payments.autopay.models import AutopayEnrollment, EnrollmentStatus
from app.payments.models import PaymentChannel
from sms_flows import conversations
from sms_flows.models import ConversationKind, ConversationStatus, SmsConversation
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    Household,
    reply_of,
)
from tests.sms_flows.test_customer_autopay import enroll_bank

S = ConversationStatus
ON = EnrollmentStatus.ACTIVE
OFF = EnrollmentStatus.CANCELED


def ask(method: str, last4: str) -> str:
    return (
        f"Reply YES within 10 minutes to turn off autopay ({method} ending "
        f"{'4242' if method == 'card' else '6789'}) for account ending {last4}, or NO."
    )


def turned_off(last4: str) -> str:
    return f"Autopay is now off for account ending {last4}. Text AUTOPAY to turn it back on."


def enroll_card(session: Session, household: Household, card_id: int) -> None:
    channels.enroll_autopay(
        session, account_id=household.account_id, channel=PaymentChannel.WEB,
        idempotency_key=f"enroll-card-{household.account_id}", actor="customer",
        saved_card_id=card_id,
    )
    session.commit()


def statuses(session: Session) -> list[EnrollmentStatus]:
    session.expire_all()
    return list(session.scalars(select(AutopayEnrollment.status).order_by(AutopayEnrollment.id)))


def cancel_audits(session: Session) -> list[str]:
    return list(
        session.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "autopay.cancel"))
    )


def test_autopay_off_with_a_card(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    enroll_card(session, household, cards["en"])

    asked = reply_of(sms(CUSTOMER_PHONE, "AUTOPAY OFF"))
    done = reply_of(sms(CUSTOMER_PHONE, "yes", sid="SM0000000000000000000000000000off1"))
    status = reply_of(sms(CUSTOMER_PHONE, "autopay off"))

    assert asked == ask("card", household.last4)
    assert done == turned_off(household.last4)
    assert status == (
        f"Autopay is already off for account ending {household.last4}. "
        "Text AUTOPAY to turn it on."
    )
    assert statuses(session) == [OFF]
    assert cancel_audits(session) == ["ok"]
    conversation = session.scalars(select(SmsConversation)).one()
    assert conversation.kind is ConversationKind.AUTOPAY_OFF
    assert conversation.status is S.COMPLETED
    assert conversation.saved_card_id is None
    assert conversation.answer_sid == "SM0000000000000000000000000000off1"


def test_autopay_off_with_a_bank_draft(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    household = households["en"]
    enroll_bank(session, household)

    asked = reply_of(sms(CUSTOMER_PHONE, "Auto pay off"))
    done = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert asked == ask("bank account", household.last4)
    assert done == turned_off(household.last4)
    assert statuses(session) == [OFF]


def test_autopago_no_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["es"]
    enroll_card(session, household, cards["es"])

    asked = reply_of(sms(SPANISH_PHONE, "AUTOPAGO NO"))
    done = reply_of(sms(SPANISH_PHONE, "Sí"))
    again = reply_of(sms(SPANISH_PHONE, "autopago apagar"))

    assert asked == (
        "Responda SI dentro de 10 minutos para desactivar el autopago (tarjeta que termina en "
        f"4242) de la cuenta que termina en {household.last4}, o NO."
    )
    assert done == (
        f"Autopago desactivado en la cuenta que termina en {household.last4}. "
        "Escriba AUTOPAGO para activarlo de nuevo."
    )
    assert again == (
        f"La cuenta que termina en {household.last4} ya no tiene autopago. "
        "Escriba AUTOPAGO para activarlo."
    )
    assert statuses(session) == [OFF]


def test_autopay_off_yes_after_expiry_asks_again(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    household = households["en"]
    enroll_card(session, household, cards["en"])
    reply_of(sms(CUSTOMER_PHONE, "AUTOPAY OFF"))
    later = utcnow() + dt.timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(conversations, "utcnow", lambda: later)

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == "Your earlier request has expired. " + ask("card", household.last4)
    assert statuses(session) == [ON]
    assert cancel_audits(session) == []
    assert list(session.scalars(select(SmsConversation.status).order_by(SmsConversation.id))) == [
        S.EXPIRED, S.PENDING
    ]


def test_autopay_off_no_keeps_it_on(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    enroll_card(session, households["en"], cards["en"])
    reply_of(sms(CUSTOMER_PHONE, "AUTOPAY OFF"))

    assert reply_of(sms(CUSTOMER_PHONE, "NO")) == "Canceled. Your autopay is unchanged."
    assert reply_of(sms(CUSTOMER_PHONE, "YES")).startswith("There is nothing to confirm.")
    assert statuses(session) == [ON]


def test_autopay_off_with_nothing_on(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    household = households["en"]

    reply = reply_of(sms(CUSTOMER_PHONE, "AUTOPAY OFF"))

    assert reply == (
        f"Autopay is already off for account ending {household.last4}. "
        "Text AUTOPAY to turn it on."
    )
    assert session.scalars(select(SmsConversation)).all() == []


def test_autopay_ended_elsewhere_before_yes(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    enroll_card(session, household, cards["en"])
    reply_of(sms(CUSTOMER_PHONE, "AUTOPAY OFF"))
    channels.cancel_autopay(
        session, account_id=household.account_id, channel=PaymentChannel.WEB,
        idempotency_key="web-cancel", actor="customer",
    )
    session.commit()

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == (
        f"Autopay is already off for account ending {household.last4}. "
        "Text AUTOPAY to turn it on."
    )
    assert cancel_audits(session) == ["ok", "none_active"]


def test_duplicate_autopay_off_and_yes_act_once(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    enroll_card(session, household, cards["en"])
    off_sid = "SM0000000000000000000000000000off2"
    yes_sid = "SM0000000000000000000000000000off3"

    replies = [reply_of(sms(CUSTOMER_PHONE, body, sid=sid))
               for body, sid in [("AUTOPAY OFF", off_sid), ("AUTOPAY OFF", off_sid),
                                 ("YES", yes_sid), ("YES", yes_sid), ("AUTOPAY OFF", off_sid)]]

    assert replies == [ask("card", household.last4), None, turned_off(household.last4), None,
                       None]
    assert statuses(session) == [OFF]
    assert cancel_audits(session) == ["ok"]
    assert len(session.scalars(select(SmsConversation)).all()) == 1
