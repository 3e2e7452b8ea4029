"""Card payments end to end against a real localstripe server.

Saving a card, paying the amount due, declines, refunds, history, look-up and autopay
enrollment go through the channel functions and the Stripe SDK over HTTP. The last test
lets localstripe sign and deliver its own webhook to the app served by uvicorn.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEvent
from app.errors import DomainError
from app.inbound.models import InboundEvent
from app.ledger.models import EntryKind
from app.ledger.service import account_balance
from app.payments import channels
from app.payments.autopay.models import EnrollmentStatus
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.models import SavedCard, StripeCustomer
from app.payments.cards.service import refund_card_payment, save_card
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentNotice,
    PaymentStatus,
)
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.helpers import assert_ledger_invariants, entries_of, issue_bill
from tests.payments.test_autopay_cards import DECLINING_CARD, GOOD_CARD, card_token
from tests.web.test_browser import served_app  # noqa: F401 - a fixture used below

DUE = dt.date(2026, 12, 10)
TODAY = dt.date(2026, 12, 4)
BILL_TOTAL = Decimal("88.12")
#: The localstripe webhook id these tests register; registering it again replaces it.
WEBHOOK_ID = "upm-tests"


@dataclass(frozen=True)
class CardAccount:
    account_id: int
    bill_id: int
    card_id: int


def localstripe_client(base_url: str) -> stripe.StripeClient:
    """Return an SDK client that inspects localstripe directly, outside our gateway."""
    return stripe.StripeClient("sk_test_upm", base_addresses={"api": base_url})


def account_with_card(
    session: Session, number: str = GOOD_CARD, city: City | None = None
) -> CardAccount:
    """Open an account with one 88.12 bill due 2026-12-10 and save a card on it."""
    city = city or City(session)
    account, _ = city.account()
    bill = issue_bill(session, city, account, str(BILL_TOTAL), due_date=DUE)
    card = save_card(
        session, StripeGateway(), account_id=account.id, payment_method_ref=card_token(number)
    )
    session.commit()
    return CardAccount(account.id, bill.id, card.id)


def pay_due(session: Session, account_id: int, key: str) -> Payment:
    payment = channels.pay(
        session, account_id=account_id, channel=PaymentChannel.WEB,
        idempotency_key=key, actor="customer",
    )
    session.commit()
    return payment


def notices(session: Session, kind: NoticeKind) -> list[PaymentNotice]:
    return list(session.scalars(select(PaymentNotice).where(PaymentNotice.kind == kind)))


def refund_count(localstripe: str, payment: Payment) -> int:
    """Count the refunds localstripe holds for the payment's PaymentIntent."""
    assert payment.external_ref is not None
    refunds = localstripe_client(localstripe).v1.refunds.list(
        params={"payment_intent": payment.external_ref, "limit": 100}
    )
    return len(refunds.data)


def test_save_card_keeps_label_only(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    card = session.get_one(SavedCard, account.card_id)
    customer = session.scalars(select(StripeCustomer)).one()
    assert card.label == "Visa ending 4242"
    assert card.payment_method_ref.startswith("pm_")
    assert (card.exp_month, card.exp_year) == (12, 2030)
    assert card.is_default
    assert customer.account_id == account.account_id
    method = localstripe_client(localstripe).v1.payment_methods.retrieve(card.payment_method_ref)
    assert method.customer == customer.customer_ref


def test_save_card_twice_keeps_one(localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    card = session.get_one(SavedCard, account.card_id)

    again = save_card(session, StripeGateway(), account_id=account.account_id,
                      payment_method_ref=card.payment_method_ref)

    assert again.id == card.id
    assert session.scalar(select(func.count()).select_from(SavedCard)) == 1
    assert session.scalar(select(func.count()).select_from(StripeCustomer)) == 1


def test_save_card_declined_on_attach(localstripe: str, session: Session) -> None:
    city = City(session)
    account, _ = city.account()
    # 4000000000000002 is Stripe's test number that is declined when attached.
    method_ref = card_token("4000000000000002")

    with pytest.raises(DomainError, match="declined") as raised:
        save_card(session, StripeGateway(), account_id=account.id, payment_method_ref=method_ref)

    assert raised.value.code == "card_declined"
    assert session.scalar(select(func.count()).select_from(SavedCard)) == 0


def test_pay_amount_due_posts_once(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    payment = pay_due(session, account.account_id, "web-form-1")

    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.amount == BILL_TOTAL
    assert payment.channel == PaymentChannel.WEB
    assert payment.method_label == "Visa ending 4242"
    assert payment.external_ref is not None
    intent = localstripe_client(localstripe).v1.payment_intents.retrieve(payment.external_ref)
    assert intent.status == "succeeded"
    assert intent.amount == 8812
    assert intent.metadata["upm_payment_key"] == "web-form-1"
    assert account_balance(session, account.account_id) == Decimal("0.00")
    assert len(entries_of(session, EntryKind.PAYMENT)) == 1
    assert len(notices(session, NoticeKind.PAYMENT_RECEIVED)) == 1
    assert_ledger_invariants(session)


def test_pay_same_key_twice_posts_once(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    first = pay_due(session, account.account_id, "CA77:pay")
    second = pay_due(session, account.account_id, "CA77:pay")

    assert second.id == first.id
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert len(entries_of(session, EntryKind.PAYMENT)) == 1
    assert len(notices(session, NoticeKind.PAYMENT_RECEIVED)) == 1
    assert account_balance(session, account.account_id) == Decimal("0.00")
    assert_ledger_invariants(session)


def test_link_same_key_after_paying(localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    link, url = channels.start_payment_link(
        session, account_id=account.account_id, channel=PaymentChannel.SMS,
        idempotency_key="SM10:link", actor="sms",
    )
    pay_due(session, account.account_id, "CA3:pay")

    again, again_url = channels.start_payment_link(
        session, account_id=account.account_id, channel=PaymentChannel.SMS,
        idempotency_key="SM10:link", actor="sms",
    )

    assert again.id == link.id
    assert again.amount == BILL_TOTAL
    assert again_url == url


def test_declined_card_posts_nothing(localstripe: str, session: Session) -> None:
    account = account_with_card(session, DECLINING_CARD)

    payment = pay_due(session, account.account_id, "SM42")

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    assert payment.failure_message == "Your card was declined."
    assert payment.journal_entry_id is None
    [declined] = notices(session, NoticeKind.PAYMENT_DECLINED)
    assert declined.payment_id == payment.id
    assert declined.payload["decline_code"] == "card_declined"
    assert notices(session, NoticeKind.PAYMENT_RECEIVED) == []
    assert entries_of(session, EntryKind.PAYMENT) == []
    assert account_balance(session, account.account_id) == BILL_TOTAL
    assert_ledger_invariants(session)


def test_full_refund_posts_back(localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    payment = pay_due(session, account.account_id, "pay-1")

    refund = refund_card_payment(session, StripeGateway(), payment=payment, amount=BILL_TOTAL,
                                 idempotency_key="refund-1", actor="clerk", reason="paid twice")
    session.commit()

    assert refund.amount == BILL_TOTAL
    assert refund.refund_ref.startswith("re_")
    assert refund_count(localstripe, payment) == 1
    assert account_balance(session, account.account_id) == BILL_TOTAL
    assert len(notices(session, NoticeKind.PAYMENT_REFUNDED)) == 1
    with pytest.raises(DomainError, match="more than the 88.12 paid") as raised:
        refund_card_payment(session, StripeGateway(), payment=payment, amount=Decimal("0.01"),
                            idempotency_key="refund-2", actor="clerk")
    assert raised.value.code == "refund_exceeds_payment"
    assert refund_count(localstripe, payment) == 1
    assert_ledger_invariants(session)


def test_partial_refunds_capped_before_stripe(localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    payment = pay_due(session, account.account_id, "pay-1")
    gateway = StripeGateway()

    for key, amount in (("r1", "20.00"), ("r2", "30.00")):
        refund_card_payment(session, gateway, payment=payment, amount=Decimal(amount),
                            idempotency_key=key, actor="clerk")
    session.commit()
    assert refund_count(localstripe, payment) == 2

    # localstripe would refund more than was paid, so the cap must stop the call first.
    with pytest.raises(DomainError, match="at most 38.12 can still be refunded"):
        refund_card_payment(session, gateway, payment=payment, amount=Decimal("38.13"),
                            idempotency_key="r3", actor="clerk")
    session.rollback()
    assert refund_count(localstripe, payment) == 2

    last = refund_card_payment(session, gateway, payment=payment, amount=Decimal("38.12"),
                               idempotency_key="r4", actor="clerk")
    session.commit()

    assert last.amount == Decimal("38.12")
    assert refund_count(localstripe, payment) == 3
    assert account_balance(session, account.account_id) == BILL_TOTAL
    assert len(notices(session, NoticeKind.PAYMENT_REFUNDED)) == 3
    assert_ledger_invariants(session)


def test_refund_retry_returns_first_refund(localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    payment = pay_due(session, account.account_id, "pay-1")
    first = refund_card_payment(session, StripeGateway(), payment=payment, amount=BILL_TOTAL,
                                idempotency_key="refund-1", actor="clerk")
    session.commit()
    again = refund_card_payment(session, StripeGateway(), payment=payment, amount=BILL_TOTAL,
                                idempotency_key="refund-1", actor="clerk")
    assert again.id == first.id
    assert refund_count(localstripe, payment) == 1
    with pytest.raises(DomainError, match="already refunded 88.12") as raised:
        refund_card_payment(session, StripeGateway(), payment=payment, amount=Decimal("1.00"),
                            idempotency_key="refund-1", actor="clerk")
    assert raised.value.code == "idempotency_key_reused"
    refunds_audited = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "payment.refund")
    ).all()
    assert [event.actor for event in refunds_audited] == ["clerk"]
    assert_ledger_invariants(session)


def test_history_shows_refunded_amounts(localstripe: str, session: Session) -> None:
    account = account_with_card(session)
    paid = pay_due(session, account.account_id, "pay-1")
    refund_card_payment(session, StripeGateway(), payment=paid, amount=Decimal("8.12"),
                        idempotency_key="r1", actor="clerk")
    ahead = channels.pay(session, account_id=account.account_id, channel=PaymentChannel.SMS,
                         idempotency_key="SM9", actor="sms", amount=Decimal("25.00"))
    session.commit()

    history = channels.payment_history(session, account.account_id)

    assert [record.payment_id for record in history] == [ahead.id, paid.id]
    assert [record.amount for record in history] == [Decimal("25.00"), BILL_TOTAL]
    assert [record.refunded for record in history] == [Decimal("0.00"), Decimal("8.12")]
    assert [record.channel for record in history] == ["sms", "web"]
    assert [record.status for record in history] == ["succeeded", "succeeded"]
    assert history[0].method_label == "Visa ending 4242"


def test_history_lists_failed_payment(localstripe: str, session: Session) -> None:
    account = account_with_card(session, DECLINING_CARD)
    declined = pay_due(session, account.account_id, "SM1")

    history = channels.payment_history(session, account.account_id)

    assert [(record.payment_id, record.status) for record in history] == [
        (declined.id, "failed")
    ]


def test_look_up_before_and_after_paying(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    before = channels.look_up(session, account.account_id, today=TODAY)
    assert before.balance == BILL_TOTAL
    assert before.amount_due == BILL_TOTAL
    assert before.due_date == DUE
    assert before.past_due == Decimal("0.00")
    assert before.last_payment is None

    payment = pay_due(session, account.account_id, "pay-1")
    after = channels.look_up(session, account.account_id, today=TODAY)

    assert after.balance == Decimal("0.00")
    assert after.amount_due == Decimal("0.00")
    assert after.due_date is None
    assert after.last_payment is not None
    assert after.last_payment.amount == BILL_TOTAL
    assert after.last_payment.received_on == payment.received_on
    assert after.last_payment.channel == "web"
    assert after.last_payment.method_label == "Visa ending 4242"


def test_look_up_past_due(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    owed = channels.look_up(session, account.account_id, today=DUE + dt.timedelta(days=1))

    assert owed.amount_due == BILL_TOTAL
    assert owed.past_due == BILL_TOTAL


def audit_actions(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ))


def test_autopay_enroll_cancel_once(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    enrolled = [
        channels.enroll_autopay(session, account_id=account.account_id,
                                channel=PaymentChannel.IVR, idempotency_key="CA1:enroll",
                                actor="ivr", saved_card_id=account.card_id)
        for _ in range(2)
    ]
    session.commit()
    assert enrolled[0].id == enrolled[1].id
    assert enrolled[0].status == EnrollmentStatus.ACTIVE
    assert channels.active_enrollments(session, account.account_id) == [enrolled[0]]

    ended = [
        channels.cancel_autopay(session, account_id=account.account_id,
                                channel=PaymentChannel.SMS, idempotency_key="SM5:cancel",
                                actor="sms")
        for _ in range(2)
    ]
    session.commit()

    assert ended == [1, 0]
    assert channels.active_enrollments(session, account.account_id) == []
    assert enrolled[0].status == EnrollmentStatus.CANCELED
    assert enrolled[0].ended_reason == "canceled by request"
    [enroll_audit] = audit_actions(session, "autopay.enroll")
    assert enroll_audit.actor == "ivr"
    assert enroll_audit.target == f"account:{account.account_id}"
    assert enroll_audit.arguments == {"method": "card", "channel": "ivr"}
    [cancel_audit] = audit_actions(session, "autopay.cancel")
    assert cancel_audit.actor == "sms"
    assert cancel_audit.outcome == "ok"
    assert cancel_audit.arguments == {"channel": "sms"}


def test_autopay_cancel_without_enrollment(localstripe: str, session: Session) -> None:
    account = account_with_card(session)

    ended = channels.cancel_autopay(session, account_id=account.account_id,
                                    channel=PaymentChannel.WEB, idempotency_key="form-7",
                                    actor="customer")

    assert ended == 0
    [cancel_audit] = audit_actions(session, "autopay.cancel")
    assert cancel_audit.outcome == "none_active"


def register_webhook(localstripe: str, url: str, secret: str, events: list[str]) -> None:
    """Point localstripe's webhook ``WEBHOOK_ID`` at ``url`` for ``events``."""
    response = httpx.post(
        f"{localstripe}/_config/webhooks/{WEBHOOK_ID}",
        json={"url": url, "secret": secret, "events": events},
        timeout=5,
    )
    response.raise_for_status()


@pytest.fixture
def localstripe_webhook(localstripe: str, served_app: str) -> Iterator[None]:  # noqa: F811
    """Have localstripe deliver ``payment_intent.succeeded`` to the served app.

    localstripe sends each event one second after creating it, to the webhooks
    registered at that moment. So the fixture first waits until the events of earlier
    tests are sent, because their metadata names account ids that this database reuses.
    """
    time.sleep(1.5)
    secret = get_settings().webhook_secrets[0]
    register_webhook(localstripe, f"{served_app}/stripe/webhook", secret,
                     ["payment_intent.succeeded"])
    try:
        yield
    finally:
        # The server outlives this test: an empty event list turns the webhook off.
        register_webhook(localstripe, "http://127.0.0.1:9/", secret, [])


def wait_for_event(factory: sessionmaker[Session], kind: str, seconds: float) -> InboundEvent:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with factory() as session:
            found = session.scalar(select(InboundEvent).where(InboundEvent.kind == kind))
            if found is not None:
                return found
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event reached the app within {seconds} s")


def test_localstripe_webhook_posts_once(
    localstripe_webhook: None, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        account = account_with_card(session)
        payment = pay_due(session, account.account_id, "web-form-9")
        payment_id = payment.id

    event = wait_for_event(session_factory, "payment_intent.succeeded", seconds=15)

    assert event.provider == "stripe"
    assert event.event_id.startswith("evt_")
    with session_factory() as session:
        [stored] = session.scalars(select(Payment)).all()
        assert stored.id == payment_id
        assert stored.status == PaymentStatus.SUCCEEDED
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        assert len(notices(session, NoticeKind.PAYMENT_RECEIVED)) == 1
        assert account_balance(session, account.account_id) == Decimal("0.00")
        assert_ledger_invariants(session)
