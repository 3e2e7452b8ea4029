"""AUTOPAY by text: the status, enrolling the saved card after a YES, and AUTOPAY OFF."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.payments import channels
from app.payments.autopay.models import AutopayEnrollment, AutopayMethod, EnrollmentStatus
from app.payments.cards.models import SavedCard
from app.payments.drafts.models import BankAccount, BankAccountType
from app.payments.models import PaymentChannel
from sms_flows import conversations
from sms_flows.models import ConversationKind, ConversationStatus, SmsConversation
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    Household,
    reply_of,
)

S = ConversationStatus


def offer(last4: str) -> str:
    return (
        f"Autopay is off for account ending {last4}. Reply YES within 10 minutes to pay each "
        "bill on its due date with card ending 4242, or NO."
    )


def enrollments(session: Session) -> list[AutopayEnrollment]:
    session.expire_all()
    return list(session.scalars(select(AutopayEnrollment).order_by(AutopayEnrollment.id)))


def enroll_bank(session: Session, household: Household) -> None:
    """Enroll the household in autopay by a bank draft, as the web portal would."""
    # The sealed numbers are a stand-in: the texts show only the last 4 digits.
    bank = BankAccount(
        account_id=household.account_id, holder_name="Pat Doe",
        account_type=BankAccountType.CHECKING, numbers_encrypted="not-read-here",
        routing_last4="0013", number_last4="6789", authorized_at=utcnow(),
        authorization_ref="signed form 17",
    )
    session.add(bank)
    session.flush()
    channels.enroll_autopay(
        session, account_id=household.account_id, channel=PaymentChannel.WEB,
        idempotency_key="enroll-bank", actor="customer", bank_account_id=bank.id,
    )
    session.commit()


def test_autopay_offer_then_yes_enrolls(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]

    offered = reply_of(sms(CUSTOMER_PHONE, "AUTOPAY"))
    enrolled = reply_of(sms(CUSTOMER_PHONE, "yes", sid="SM0000000000000000000000000000ap01"))
    status = reply_of(sms(CUSTOMER_PHONE, "auto pay"))

    on = (f"Autopay is on for account ending {household.last4}: card ending 4242 pays each "
          "bill on its due date. Text AUTOPAY OFF to turn it off.")
    assert offered == offer(household.last4)
    assert enrolled == on
    assert status == on
    [enrollment] = enrollments(session)
    assert enrollment.status is EnrollmentStatus.ACTIVE
    assert enrollment.method is AutopayMethod.CARD
    assert enrollment.saved_card_id == cards["en"]
    assert enrollment.channel == "sms"
    assert enrollment.idempotency_key == "sms:SM0000000000000000000000000000ap01"
    assert enrollment.enrolled_by == "sms:…0123"
    conversation = session.scalars(select(SmsConversation)).one()
    assert conversation.kind is ConversationKind.AUTOPAY
    assert conversation.status is S.COMPLETED


def test_autopago_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["es"]

    offered = reply_of(sms(SPANISH_PHONE, "autopago"))
    enrolled = reply_of(sms(SPANISH_PHONE, "SI"))

    assert offered == (
        f"La cuenta que termina en {household.last4} no tiene autopago. Responda SI dentro de "
        "10 minutos para pagar cada factura en su fecha de vencimiento con la tarjeta que termina "
        "en 4242, o NO."
    )
    assert enrolled == (
        f"Autopago activo en la cuenta que termina en {household.last4}: la tarjeta que "
        "termina en 4242 paga cada factura en su fecha de vencimiento. Escriba AUTOPAGO NO "
        "para desactivarlo."
    )
    assert len(enrollments(session)) == 1


def test_autopay_no_keeps_it_off(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "AUTOPAY"))

    assert reply_of(sms(CUSTOMER_PHONE, "NO")) == "Canceled. Your autopay is unchanged."
    assert enrollments(session) == []


def test_autopay_yes_after_expiry(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "AUTOPAY"))
    later = utcnow() + dt.timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(conversations, "utcnow", lambda: later)

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == "Your earlier request has expired. " + offer(household.last4)
    assert enrollments(session) == []
    session.expire_all()
    assert list(session.scalars(select(SmsConversation.status).order_by(SmsConversation.id))) == [
        S.EXPIRED, S.PENDING
    ]


def test_autopay_card_removed_before_yes(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "AUTOPAY"))
    session.get_one(SavedCard, cards["en"]).removed_at = utcnow()
    session.commit()

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == (
        f"Autopay is off for account ending {household.last4} and no card is saved. "
        "Call +15125550100 to set it up."
    )
    assert enrollments(session) == []


def test_autopay_without_card(
    sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    household = households["en"]

    reply = reply_of(sms(CUSTOMER_PHONE, "AUTOPAY"))

    assert reply == (
        f"Autopay is off for account ending {household.last4} and no card is saved. "
        "Call +15125550100 to set it up."
    )


def test_autopay_by_bank_draft(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    household = households["en"]
    enroll_bank(session, household)

    reply = reply_of(sms(CUSTOMER_PHONE, "AUTOPAY"))

    assert reply == (
        f"Autopay is on for account ending {household.last4}: bank account ending 6789 pays "
        "each bill on its due date. Text AUTOPAY OFF to turn it off."
    )
