"""PAY by text against localstripe: confirm with YES, expiry, changed amounts, duplicates.

Cards are saved through the payments code and charged on localstripe. The Twilio REST API
is the fake in conftest.py, because Twilio has no local counterpart. Texts go out here only
for results that the payment notices do not cover.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import session_scope, utcnow
from app.ledger.service import account_balance
from app.messaging.models import OutboundMessage
from app.payments.cards.gateway import GatewayUnavailable, StripeGateway
from app.payments.cards.models import SavedCard
from app.payments.cards.service import save_card
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentNotice,
    PaymentStatus,
)
from sms_flows import conversations, tasks
from sms_flows.models import ConversationStatus, SmsConversation
from tests.conftest import ON_POSTGRES
from tests.payments.helpers import assert_ledger_invariants
from tests.payments.test_autopay_cards import DECLINING_CARD, card_token
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    Household,
    post_payment,
    reply_of,
)

S = ConversationStatus


def confirm_text(last4: str, amount: str = "84.12") -> str:
    return (
        f"Reply YES to pay ${amount} with card ending 4242 for account ending {last4} within "
        "10 minutes. Reply NO to cancel."
    )


PAYING = "Paying $84.12 with card ending 4242; we will text you the result."


def statuses(session: Session) -> list[ConversationStatus]:
    session.expire_all()
    return list(session.scalars(select(SmsConversation.status).order_by(SmsConversation.id)))


def payments(session: Session) -> list[Payment]:
    session.expire_all()
    return list(session.scalars(select(Payment).order_by(Payment.id)))


def intents_for(localstripe_url: str, key: str) -> int:
    """Count the PaymentIntents localstripe holds for one payment idempotency key."""
    client = stripe.StripeClient("sk_test_upm", base_addresses={"api": localstripe_url})
    found = client.v1.payment_intents.list(params={"limit": 100})
    keys = [(intent.to_dict().get("metadata") or {}).get("upm_payment_key")
            for intent in found.auto_paging_iter()]
    return keys.count(key)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Move the conversations' clock forward by some minutes."""

    def advance(minutes: int) -> None:
        later = utcnow() + dt.timedelta(minutes=minutes)
        monkeypatch.setattr(conversations, "utcnow", lambda: later)

    return advance


def test_pay_asks_for_yes(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]

    reply = reply_of(sms(CUSTOMER_PHONE, "PAY", sid="SM0000000000000000000000000000pay1"))

    assert reply == confirm_text(household.last4)
    conversation = session.scalars(select(SmsConversation)).one()
    assert conversation.status is S.PENDING
    assert conversation.amount == Decimal("84.12")
    assert conversation.saved_card_id == cards["en"]
    assert conversation.account_id == household.account_id
    assert conversation.message_sid == "SM0000000000000000000000000000pay1"
    assert conversation.expires_at - conversation.created_at == dt.timedelta(minutes=10)
    assert payments(session) == []


def test_yes_pays_once(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], localstripe_url: str,
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "PAY"))

    reply = reply_of(sms(CUSTOMER_PHONE, "yes", sid="SM0000000000000000000000000000yes1"))

    assert reply == PAYING
    [payment] = payments(session)
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.amount == Decimal("84.12")
    assert payment.channel is PaymentChannel.SMS
    assert payment.idempotency_key == "sms:SM0000000000000000000000000000yes1"
    assert payment.method_label == "Visa ending 4242"
    assert payment.taken_by == "sms:…0123"
    assert account_balance(session, household.account_id) == Decimal("0.00")
    conversation = session.scalars(select(SmsConversation)).one()
    assert conversation.status is S.COMPLETED
    assert conversation.payment_id == payment.id
    assert conversation.answer_sid == "SM0000000000000000000000000000yes1"
    # The receipt reaches the customer through the payment notice outbox.
    notices = session.scalars(select(PaymentNotice).where(
        PaymentNotice.kind == NoticeKind.PAYMENT_RECEIVED)).all()
    assert [notice.payment_id for notice in notices] == [payment.id]
    assert intents_for(localstripe_url, payment.idempotency_key) == 1
    assert_ledger_invariants(session)
    # The outbox texts the receipt to the account's verified phone, which texted PAY.
    texts = session.scalars(select(OutboundMessage)).all()
    assert [(text.kind, text.to_number) for text in texts] == [
        ("payment_received", CUSTOMER_PHONE)
    ]
    assert "$84.12" in texts[0].body


def test_second_yes_finds_nothing(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    reply_of(sms(CUSTOMER_PHONE, "YES"))

    again = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert again == "There is nothing to confirm. Text PAY to pay or AUTOPAY for autopay."
    assert len(payments(session)) == 1


def test_no_cancels(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))

    assert reply_of(sms(CUSTOMER_PHONE, "No")) == "Canceled. Nothing was charged."
    assert statuses(session) == [S.CANCELED]
    assert reply_of(sms(CUSTOMER_PHONE, "NO")) == "There is nothing to cancel."
    assert reply_of(sms(CUSTOMER_PHONE, "YES")) == (
        "There is nothing to confirm. Text PAY to pay or AUTOPAY for autopay."
    )
    assert payments(session) == []


def test_pagar_si_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["es"]

    asked = reply_of(sms(SPANISH_PHONE, "Pagar"))
    paid = reply_of(sms(SPANISH_PHONE, "Sí"))

    assert asked == (
        "Responda SI dentro de 10 minutos para pagar $84.12 con la tarjeta que termina en 4242, "
        f"cuenta que termina en {household.last4}. Responda NO para cancelar."
    )
    assert paid == (
        "Pagando $84.12 con la tarjeta que termina en 4242; le enviaremos el resultado por "
        "texto."
    )
    assert [payment.status for payment in payments(session)] == [PaymentStatus.SUCCEEDED]
    assert session.scalars(select(SmsConversation.language)).one() == "es"


def test_no_in_spanish_customer_language(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(SPANISH_PHONE, "PAGAR"))

    # NO is the same word in both languages, so the customer's language decides.
    assert reply_of(sms(SPANISH_PHONE, "no")) == "Cancelado. No hemos cobrado nada."


def test_yes_after_expiry_asks_again(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], clock: Callable[[int], None],
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    clock(11)

    late = reply_of(sms(CUSTOMER_PHONE, "YES", sid="SM000000000000000000000000000late1"))

    assert late == "Your earlier request has expired. " + confirm_text(household.last4)
    assert statuses(session) == [S.EXPIRED, S.PENDING]
    assert payments(session) == []
    # The new question is the late YES's own, and YES to it pays.
    fresh = session.scalars(
        select(SmsConversation).where(SmsConversation.status == S.PENDING)
    ).one()
    assert fresh.message_sid == "SM000000000000000000000000000late1"
    assert reply_of(sms(CUSTOMER_PHONE, "YES")) == PAYING
    assert [payment.amount for payment in payments(session)] == [Decimal("84.12")]


def test_yes_just_before_expiry_pays(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], clock: Callable[[int], None],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    clock(9)

    assert reply_of(sms(CUSTOMER_PHONE, "YES")) == PAYING
    assert len(payments(session)) == 1


def test_yes_after_amount_changed_asks_again(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    # Meanwhile 20.00 is paid at the counter, so 64.12 is left of the 84.12 asked.
    post_payment(session, household.account_id, "20.00", "counter-20")

    changed = reply_of(sms(CUSTOMER_PHONE, "YES"))
    paid = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert changed == "The amount or the card has changed. " + confirm_text(
        household.last4, "64.12"
    )
    assert paid == "Paying $64.12 with card ending 4242; we will text you the result."
    assert [payment.amount for payment in payments(session)] == [Decimal("64.12")]
    assert statuses(session) == [S.CANCELED, S.COMPLETED]
    assert account_balance(session, household.account_id) == Decimal("0.00")


def test_yes_after_paid_elsewhere(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    post_payment(session, household.account_id, "84.12", "counter-all")

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == (
        f"Nothing is due on account ending {household.last4}, so there is nothing to pay."
    )
    assert payments(session) == []


def test_removed_card_gets_link(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    session.get_one(SavedCard, cards["en"]).removed_at = utcnow()
    session.commit()

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply is not None
    assert reply.startswith(
        f"Pay $84.12 for account ending {household.last4} at https://upm.example.test/pay/"
    )
    assert payments(session) == []


def test_declined_card_writes_notice(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    declining = save_card(session, StripeGateway(), account_id=household.account_id,
                          payment_method_ref=card_token(DECLINING_CARD))
    session.commit()
    reply_of(sms(CUSTOMER_PHONE, "PAY"))

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == "Paying $84.12 with card ending 0341; we will text you the result."
    [payment] = payments(session)
    assert payment.status is PaymentStatus.FAILED
    assert payment.method_label == f"Visa ending {declining.last4}"
    declined = session.scalars(select(PaymentNotice).where(
        PaymentNotice.kind == NoticeKind.PAYMENT_DECLINED)).all()
    assert [notice.payment_id for notice in declined] == [payment.id]
    assert account_balance(session, household.account_id) == Decimal("84.12")
    assert statuses(session) == [S.COMPLETED]
    texts = session.scalars(select(OutboundMessage)).all()
    assert [(text.kind, text.to_number) for text in texts] == [
        ("payment_declined", CUSTOMER_PHONE)
    ]


def test_task_run_twice_charges_once(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    reply_of(sms(CUSTOMER_PHONE, "YES"))
    conversation_id = session.scalars(select(SmsConversation.id)).one()

    # As a redelivered Celery task would.
    again = tasks.pay_confirmed.apply(args=[conversation_id]).get()

    assert again == "completed"
    assert len(payments(session)) == 1


def confirmed_conversation(session: Session) -> int:
    """Mark the pending PAY question confirmed, as YES does, without running the task."""
    conversation = session.scalars(select(SmsConversation)).one()
    conversation.status = S.CONFIRMED
    conversation.answer_sid = "SM00000000000000000000000000conf01"
    session.commit()
    return conversation.id


def test_card_gone_before_charge(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    conversation_id = confirmed_conversation(session)
    session.get_one(SavedCard, cards["en"]).removed_at = utcnow()
    session.commit()

    with session_scope() as task_session:
        outcome = tasks.charge_confirmed(task_session, conversation_id)

    assert outcome == "failed"
    assert payments(session) == []
    conversation = session.get_one(SmsConversation, conversation_id)
    assert conversation.status is S.FAILED
    assert conversation.failure == "card_not_found"
    result = session.scalars(select(OutboundMessage)).one()
    assert result.to_number == CUSTOMER_PHONE
    assert result.idempotency_key == f"sms_pay_result:{conversation_id}"
    assert result.body == (
        "Your payment of $84.12 with card ending 4242 was not made, and nothing was charged. "
        "Text PAY to try again or call +15125550100."
    )


def test_stripe_unreachable_gives_up(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    conversation_id = confirmed_conversation(session)

    with session_scope() as task_session:
        outcome = tasks.give_up(
            task_session, conversation_id, GatewayUnavailable("Stripe timed out")
        )

    assert outcome == "failed"
    conversation = session.get_one(SmsConversation, conversation_id)
    assert conversation.status is S.FAILED
    assert conversation.failure == "gateway_unavailable"
    result = session.scalars(select(OutboundMessage)).one()
    assert result.body == (
        "We could not confirm your payment of $84.12 with card ending 4242. Check your card "
        "statement before you pay again, or call +15125550100."
    )


def test_stripe_down_retried_then_reported(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.settings import get_settings

    reply_of(sms(CUSTOMER_PHONE, "PAY"))
    # Nothing listens on port 9 of 127.0.0.1, so every Stripe call fails to connect.
    monkeypatch.setenv("UPM_STRIPE_API_BASE", "http://127.0.0.1:9")
    get_settings.cache_clear()

    reply = reply_of(sms(CUSTOMER_PHONE, "YES"))

    assert reply == PAYING
    assert payments(session) == []
    assert statuses(session) == [S.FAILED]
    result = session.scalars(select(OutboundMessage)).one()
    assert result.kind == "sms_pay_unknown"


def concurrent_posts(send: Callable[[], Any]) -> list[str | None]:
    """Post the same request from two threads at once and return both replies."""
    barrier = threading.Barrier(2)

    def post() -> str | None:
        barrier.wait()
        return reply_of(send())

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(post) for _ in range(2)]
        return [future.result() for future in futures]


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent deliveries need PostgreSQL row locks")
def test_duplicate_pay_and_yes_concurrent(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int], localstripe_url: str, clock: Callable[[int], None],
) -> None:
    household = households["en"]
    pay_sid = "SM00000000000000000000000000000002"
    yes_sid = "SM00000000000000000000000000000003"

    pay_replies = concurrent_posts(lambda: sms(CUSTOMER_PHONE, "PAY", sid=pay_sid))
    yes_replies = concurrent_posts(lambda: sms(CUSTOMER_PHONE, "YES", sid=yes_sid))
    # Twilio delivers both again ten minutes later.
    clock(10)
    late_pay = reply_of(sms(CUSTOMER_PHONE, "PAY", sid=pay_sid))
    late_yes = reply_of(sms(CUSTOMER_PHONE, "YES", sid=yes_sid))

    assert sorted(pay_replies, key=str) == [None, confirm_text(household.last4)]
    assert sorted(yes_replies, key=str) == [None, PAYING]
    assert late_pay is None
    assert late_yes is None
    assert statuses(session) == [S.COMPLETED]
    [payment] = payments(session)
    assert payment.idempotency_key == f"sms:{yes_sid}"
    assert intents_for(localstripe_url, payment.idempotency_key) == 1
    assert account_balance(session, household.account_id) == Decimal("0.00")
    assert session.scalar(select(func.count()).select_from(PaymentNotice)) == 1
    # One receipt text besides the one TwiML reply to each text.
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_duplicate_pay_and_yes_sequential(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]
    pay_sid = "SM00000000000000000000000000000004"
    yes_sid = "SM00000000000000000000000000000005"

    replies = [reply_of(sms(CUSTOMER_PHONE, body, sid=sid))
               for body, sid in [("PAY", pay_sid), ("PAY", pay_sid), ("YES", yes_sid),
                                 ("YES", yes_sid), ("PAY", pay_sid)]]

    assert replies == [confirm_text(household.last4), None, PAYING, None, None]
    assert len(payments(session)) == 1
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_two_yes_texts_at_once_pay_once(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    reply_of(sms(CUSTOMER_PHONE, "PAY"))

    # Two different texts (two SIDs) both saying YES: one confirms, the other finds nothing.
    replies = concurrent_posts(lambda: sms(CUSTOMER_PHONE, "YES"))

    assert sorted(replies, key=str) == [
        PAYING, "There is nothing to confirm. Text PAY to pay or AUTOPAY for autopay."
    ]
    assert len(payments(session)) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent deliveries need PostgreSQL row locks")
def test_two_pay_texts_at_once_leave_one_question(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    cards: dict[str, int],
) -> None:
    household = households["en"]

    # Two different texts (two SIDs) both saying PAY: both are asked, the later one counts.
    replies = concurrent_posts(lambda: sms(CUSTOMER_PHONE, "PAY"))

    assert replies == [confirm_text(household.last4)] * 2
    assert sorted(statuses(session)) == [S.CANCELED, S.PENDING]
    assert reply_of(sms(CUSTOMER_PHONE, "YES")) == PAYING
    assert len(payments(session)) == 1
