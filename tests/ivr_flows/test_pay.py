"""Paying by phone: the saved card through Celery, and a new card through Twilio <Pay>.

Stripe is localstripe. Twilio's <Pay> has no local counterpart, so each test creates in
localstripe the PaymentIntent and Charge that the Stripe Pay Connector would have made,
then posts <Pay>'s action as Twilio would, with the connector's confirmation code.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Any

import pytest
import stripe
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEvent
from app.calls.models import CallOutcome
from app.ledger.chart import CASH, ensure_chart
from app.ledger.models import Posting
from app.ledger.service import account_balance
from app.payments.bankfiles.models import SuspenseItem, SuspenseStatus
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.service import save_card
from app.payments.cards.twilio_pay import post_pay_charge
from app.payments.cards.webhook import handle_event
from app.payments.models import Payment, PaymentChannel, PaymentStatus
from app.settings import Settings, get_settings
from ivr_flows import tasks
from tests.conftest import ON_POSTGRES
from tests.ivr_flows.conftest import Customer, Phone, call_record
from tests.payments.test_autopay_cards import DECLINING_CARD, GOOD_CARD, card_token

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PERSON = "Please hold while we connect you with a member of our staff."
MENU_START = "For your balance and due date, press 1."


@pytest.fixture
def stripe_ready(localstripe: str, customer: Customer) -> str:
    return localstripe


@pytest.fixture
def saved_card(stripe_ready: str, customer: Customer, session: Session) -> str:
    save_card(
        session,
        StripeGateway(),
        account_id=customer.account_id,
        payment_method_ref=card_token(GOOD_CARD),
    )
    session.commit()
    return GOOD_CARD


def at_pay_menu(phone: Phone, language_key: str = "1") -> None:
    phone.call()
    phone.press(language_key)
    phone.press("1")
    phone.press("2")


def connector_charge(base_url: str, cents: int, number: str = GOOD_CARD) -> dict[str, Any]:
    """Charge a card in localstripe as the Stripe Pay Connector would; return the intent."""
    client = stripe.StripeClient("sk_test_upm", base_addresses={"api": base_url})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    intent = client.v1.payment_intents.create(
        params={
            "amount": cents,
            "currency": "usd",
            "payment_method": method.id,
            "confirm": True,
        }
    )
    return dict(intent.to_dict())


def success_fields(intent: dict[str, Any]) -> dict[str, str]:
    return {
        "Result": "success",
        "PaymentConfirmationCode": intent["latest_charge"]["id"],
        "PaymentCardNumber": "xxxxxxxxxxxx4242",
        "PaymentCardType": "visa",
        "PaymentToken": "",
        "PaymentMethod": "credit-card",
    }


def intent_succeeded_event(session: Session, event_id: str, intent: dict[str, Any]) -> str:
    """Apply Stripe's ``payment_intent.succeeded`` for the connector's charge and commit."""
    event = {"id": event_id, "type": "payment_intent.succeeded", "data": {"object": intent}}
    outcome = handle_event(session, event)
    session.commit()
    return outcome


def payments(session: Session) -> list[Payment]:
    session.expire_all()
    return list(session.scalars(select(Payment).order_by(Payment.id)))


def cash_total(session: Session) -> Decimal:
    cash = ensure_chart(session)[CASH]
    total = session.scalar(
        select(func.sum(Posting.amount)).where(Posting.ledger_account_id == cash)
    )
    return Decimal(total or 0)


def test_pay_menu_names_amount_and_card(phone: Phone, saved_card: str) -> None:
    at_pay_menu(phone)

    assert phone.said() == (
        "The amount due is 84 dollars and 12 cents. "
        "To pay 84 dollars and 12 cents now with your saved card, a Visa ending in 4 2 4 2, "
        "press 1. To pay 84 dollars and 12 cents with a new card, press 2. "
        "To pay a different amount with a new card, press 3. "
        "To return to the main menu, press star."
    )


def test_pay_menu_without_card(phone: Phone, stripe_ready: str) -> None:
    at_pay_menu(phone)

    assert "saved card" not in phone.said()
    assert phone.said().startswith("The amount due is 84 dollars and 12 cents. To pay 84")


def test_saved_card_payment_posts_once(
    phone: Phone, saved_card: str, customer: Customer, session: Session
) -> None:
    at_pay_menu(phone)
    phone.press("1")
    assert phone.said() == "Please wait while we process your payment."
    assert [verb.tag for verb in phone.twiml] == ["Say", "Pause", "Redirect"]
    phone.follow()

    [payment] = payments(session)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.amount == Decimal("84.12")
    assert payment.channel == PaymentChannel.IVR
    # Turn 5: the greeting, the language, the account, the menu, then this pay choice.
    assert payment.idempotency_key == f"ivr:{phone.call_sid}:pay:5"
    assert phone.said().startswith(
        "Thank you. Your payment of 84 dollars and 12 cents is received. "
        f"Your confirmation number is {' '.join(str(payment.id))}. {MENU_START}"
    )
    assert account_balance(session, customer.account_id) == Decimal("0.00")
    assert call_record(session, phone.call_sid).outcome == CallOutcome.SELF_SERVED


def test_saved_card_declined(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    save_card(
        session,
        StripeGateway(),
        account_id=customer.account_id,
        payment_method_ref=card_token(DECLINING_CARD),
    )
    session.commit()
    at_pay_menu(phone)
    phone.press("1")
    phone.follow()

    [payment] = payments(session)
    assert payment.status == PaymentStatus.FAILED
    assert phone.said().startswith(
        "We could not take this payment. Nothing was charged. The amount due is 84 dollars"
    )
    assert account_balance(session, customer.account_id) == Decimal("84.12")


def test_charge_check_is_bounded(
    phone: Phone, saved_card: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker never runs the charge: the caller is not kept waiting forever.
    monkeypatch.setattr(tasks.charge_saved_card, "delay", lambda *args: None)
    at_pay_menu(phone)
    phone.press("1")
    checks = 0
    while phone.twiml.find("Gather") is None:
        phone.follow()
        checks += 1

    assert checks == 4
    assert phone.said().startswith(
        "We could not confirm your payment yet. Please check your balance later before you "
        "pay again."
    )
    assert payments(session) == []


def test_stripe_unreachable_is_unconfirmed(
    phone: Phone,
    saved_card: str,
    customer: Customer,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPM_STRIPE_API_BASE", "http://127.0.0.1:9")
    get_settings.cache_clear()
    at_pay_menu(phone)
    phone.press("1")
    phone.follow()

    assert phone.said().startswith("We could not confirm your payment yet.")
    assert call_record(session, phone.call_sid).pay_error == "gateway_unavailable"
    assert [p for p in payments(session) if p.status == PaymentStatus.SUCCEEDED] == []
    assert account_balance(session, customer.account_id) == Decimal("84.12")


@pytest.mark.parametrize(
    ("key", "pay_language", "say_language", "intro"),
    [
        (
            "1",
            "en-US",
            "en-US",
            "You are paying 84 dollars and 12 cents with a new card. "
            "Press star at any time to cancel.",
        ),
        (
            "2",
            "es-US",
            "es-MX",
            "Va a pagar 84 dólares con 12 centavos con una tarjeta nueva. "
            "Oprima la tecla de asterisco en cualquier momento para cancelar.",
        ),
    ],
)
def test_new_card_pay_verb(
    phone: Phone,
    stripe_ready: str,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    pay_language: str,
    say_language: str,
    intro: str,
) -> None:
    monkeypatch.setenv("UPM_TWILIO_PAY_CONNECTOR", "riverbend-stripe")
    get_settings.cache_clear()
    at_pay_menu(phone, key)
    phone.press("2")

    verb = phone.twiml.find("Pay")
    assert verb is not None
    assert phone.twiml.find("Say") is not None
    assert phone.twiml.findall("Say")[0].text == intro
    assert verb.get("paymentConnector") == "riverbend-stripe"
    assert verb.get("chargeAmount") == "84.12"
    assert verb.get("currency") == "usd"
    assert verb.get("language") == pay_language
    assert verb.get("maxAttempts") == "2"
    assert verb.get("description") == f"City of Riverbend Utilities account {customer.number}"
    assert verb.get("action", "").endswith("/twilio/voice/pay/card/result?v=5&a=1&t=1")
    prompts = verb.findall("Prompt")
    assert [prompt.get("for") for prompt in prompts] == [
        "payment-card-number",
        "expiration-date",
        "security-code",
        "postal-code",
        "payment-processing",
    ]
    assert {say.get("language") for prompt in prompts for say in prompt} == {say_language}


def test_keyed_amount_paid_by_card(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    at_pay_menu(phone)
    phone.press("3")
    phone.press("25*5")
    verb = phone.twiml.find("Pay")
    assert verb is not None and verb.get("chargeAmount") == "25.50"

    phone.pay_result(**success_fields(connector_charge(stripe_ready, 2550)))

    [payment] = payments(session)
    assert payment.amount == Decimal("25.50")
    # 84.12 billed less 25.50 paid.
    assert account_balance(session, customer.account_id) == Decimal("58.62")


def test_pay_success_posts_once(
    phone: Phone,
    stripe_ready: str,
    customer: Customer,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    intent = connector_charge(stripe_ready, 8412)
    at_pay_menu(phone)
    phone.press("2")
    pay_url = phone.twiml.find("Pay").attrib["action"]  # type: ignore[union-attr]
    phone.pay_result(**success_fields(intent))
    repeated = phone.send(pay_url, **success_fields(intent))

    [payment] = payments(session)
    assert payment.amount == Decimal("84.12")
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.channel == PaymentChannel.IVR
    assert payment.external_ref == intent["id"]
    assert payment.method_label == "Visa ending 4242"
    assert repeated.text == EMPTY
    assert phone.said().startswith(
        "Thank you. Your payment of 84 dollars and 12 cents is received. "
        f"Your confirmation number is {' '.join(str(payment.id))}."
    )
    assert account_balance(session, customer.account_id) == Decimal("0.00")
    assert "Visa ending 4242" in caplog.text
    assert "xxxxxxxxxxxx4242" not in caplog.text
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.pay")).one()
    assert audit.arguments["card"] == "Visa ending 4242"


def test_pay_repost_returns_same_payment(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    intent = connector_charge(stripe_ready, 8412)
    code = intent["latest_charge"]["id"]
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(**success_fields(intent))

    again = post_pay_charge(
        session,
        StripeGateway(),
        account_id=customer.account_id,
        confirmation_code=code,
        call_sid=phone.call_sid,
        card_label="Visa ending 4242",
        actor="test",
    )
    session.commit()

    assert [payment.id for payment in payments(session)] == [again.id]


def test_webhook_after_pay_changes_nothing(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    intent = connector_charge(stripe_ready, 8412)
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(**success_fields(intent))

    outcome = intent_succeeded_event(session, "evt_ivr_after", intent)

    assert outcome == "unchanged"
    assert len(payments(session)) == 1
    assert session.scalars(select(SuspenseItem)).all() == []
    assert cash_total(session) == Decimal("84.12")


def test_webhook_before_pay_posts_once(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    # The event carries none of our metadata, so it parks the money in suspense first.
    intent = connector_charge(stripe_ready, 8412)
    outcome = intent_succeeded_event(session, "evt_ivr_before", intent)
    assert outcome == "suspense"

    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(**success_fields(intent))

    [payment] = payments(session)
    item = session.scalars(select(SuspenseItem)).one()
    assert payment.external_ref == intent["id"]
    assert payment.account_id == customer.account_id
    assert item.status == SuspenseStatus.RESOLVED
    assert account_balance(session, customer.account_id) == Decimal("0.00")
    assert cash_total(session) == Decimal("84.12")
    assert phone.said().startswith("Thank you. Your payment of 84 dollars and 12 cents")


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite lets one writer at a time")
def test_webhook_during_pay_waits_then_finds_payment(
    stripe_ready: str,
    customer: Customer,
    session: Session,
    session_factory: sessionmaker[Session],
) -> None:
    intent = connector_charge(stripe_ready, 8412)
    outcomes: list[str] = []

    def deliver_event() -> None:
        with session_factory() as webhook_session:
            outcomes.append(intent_succeeded_event(webhook_session, "evt_ivr_race", intent))

    with session_factory() as paying:
        post_pay_charge(
            paying,
            StripeGateway(),
            account_id=customer.account_id,
            confirmation_code=intent["latest_charge"]["id"],
            call_sid="CA" + "7" * 32,
            card_label="Visa ending 4242",
            actor="test",
        )
        event_thread = threading.Thread(target=deliver_event)
        event_thread.start()
        event_thread.join(timeout=1.0)
        # The event waits for the <Pay> posting's transaction instead of parking the money.
        assert event_thread.is_alive()
        paying.commit()
    event_thread.join(timeout=15)

    assert outcomes == ["unchanged"]
    assert len(payments(session)) == 1
    assert session.scalars(select(SuspenseItem)).all() == []
    assert cash_total(session) == Decimal("84.12")


@pytest.mark.parametrize(
    "result", ["payment-connector-error", "validation-error", "internal-error"]
)
def test_pay_failure_offers_one_retry_then_person(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session, result: str
) -> None:
    failed = {
        "Result": result,
        "PaymentError": "card is declined",
        "PayErrorCode": "64001",
        "PaymentCardNumber": "xxxxxxxxxxxx0341",
        "PaymentCardType": "visa",
    }
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(**failed)
    assert phone.said() == (
        "Your card was not accepted. Nothing was charged. To try another card, press 1. "
        "To speak with a member of our staff, press 0. To return to the main menu, press star."
    )
    phone.press("1")
    verb = phone.twiml.find("Pay")
    assert verb is not None and verb.get("action", "").endswith("&t=2")
    phone.pay_result(**failed)

    assert phone.said() == f"Your card was not accepted. Nothing was charged. {PERSON}"
    assert phone.twiml.find("Dial") is not None
    assert payments(session) == []
    assert account_balance(session, customer.account_id) == Decimal("84.12")


def test_pay_star_returns_to_menu(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(Result="caller-interrupted-with-star")

    assert phone.said().startswith(f"Payment canceled. Nothing was charged. {MENU_START}")
    assert payments(session) == []


def test_pay_too_many_attempts_goes_to_person(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(Result="too-many-failed-attempts")

    assert phone.said() == f"We could not read your card details. Nothing was charged. {PERSON}"
    assert payments(session) == []


def test_pay_hang_up_posts_nothing(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(Result="caller-hung-up")
    phone.hang_up()

    assert list(phone.twiml) == []
    assert payments(session) == []
    call = call_record(session, phone.call_sid)
    assert "pay_card_caller-hung-up" in call.path
    assert call.outcome == CallOutcome.ABANDONED


def test_unconfirmed_pay_posts_nothing(
    phone: Phone, stripe_ready: str, customer: Customer, session: Session
) -> None:
    at_pay_menu(phone)
    phone.press("2")
    phone.pay_result(**{**success_fields({"latest_charge": {"id": "ch_TEST0001"}})})

    assert phone.said().startswith(
        "We could not confirm your payment yet. Please check your balance later"
    )
    assert payments(session) == []


AMOUNT_PROMPT = (
    "Enter the amount in dollars and cents, with the star key for the decimal point, then "
    "press the pound key. For example, for 25 dollars and 50 cents, press 2 5 star 5 0 pound."
)
#: The refusal of a keyed amount above the default UPM_MAX_PHONE_PAYMENT of 2000.00.
OVER_LIMIT = (
    "Sorry, we can take at most 2000 dollars in one payment by phone. "
    "Please enter a smaller amount. "
)


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        # The newcomer's case: $99,999 keyed on an account that owed $84.12.
        ("99999", OVER_LIMIT),
        ("2000*01", OVER_LIMIT),
        ("0", "Sorry, the amount must be more than zero. "),
        ("0*00", "Sorry, the amount must be more than zero. "),
        (
            "20*555",
            "Sorry, that is not an amount. Please enter an amount in dollars, then press "
            "pound; for cents, press star and two digits before pound. ",
        ),
    ],
)
def test_keyed_amount_rejected_with_reason(
    phone: Phone, stripe_ready: str, session: Session, keys: str, reason: str
) -> None:
    at_pay_menu(phone)
    phone.press("3")
    phone.press(keys)

    assert phone.twiml.find("Pay") is None
    assert phone.said() == f"{reason}{AMOUNT_PROMPT}"
    assert payments(session) == []


def test_keyed_amount_at_limit_collected(phone: Phone, stripe_ready: str) -> None:
    at_pay_menu(phone)
    phone.press("3")
    phone.press("2000")

    verb = phone.twiml.find("Pay")
    assert verb is not None and verb.get("chargeAmount") == "2000.00"


def test_limit_setting_spoken_spanish(
    phone: Phone, stripe_ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_MAX_PHONE_PAYMENT", "50.25")
    get_settings.cache_clear()
    at_pay_menu(phone, language_key="2")
    phone.press("3")
    phone.press("50*26")

    assert phone.twiml.find("Pay") is None
    assert phone.said().startswith(
        "Perdón, podemos recibir como máximo 50 dólares con 25 centavos en un pago por "
        "teléfono. Ingrese una cantidad menor."
    )


def test_amount_due_above_limit_payable(
    phone: Phone, stripe_ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit guards keyed amounts only; the 84.12 due comes from the ledger.
    monkeypatch.setenv("UPM_MAX_PHONE_PAYMENT", "50.00")
    get_settings.cache_clear()
    at_pay_menu(phone)
    phone.press("2")

    verb = phone.twiml.find("Pay")
    assert verb is not None and verb.get("chargeAmount") == "84.12"


@pytest.mark.parametrize("value", ["0", "-5", "10.005"])
def test_phone_payment_limit_validated(value: str) -> None:
    with pytest.raises(ValidationError, match="UPM_MAX_PHONE_PAYMENT"):
        Settings(max_phone_payment=Decimal(value))
