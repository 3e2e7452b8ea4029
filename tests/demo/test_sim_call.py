"""The demo's phone customers and ``upm sim call`` against the IVR served on 127.0.0.1.

The demo city is seeded with Stripe pointed at the tests' localstripe, so its saved cards
and the cards keyed at ``<Pay>`` are real localstripe objects that the app reads back.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import stripe
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.calls.models import Call, CallOutcome
from app.demo.phone_customers import ENGLISH_PHONE, SPANISH_PHONE, UNKNOWN_PHONE
from app.messaging.identity import verified_accounts
from app.payments import channels
from app.payments.cards.models import SavedCard
from app.payments.models import Payment, PaymentChannel, PaymentStatus

DEMO_ARGS = ("demo", "--no-serve", "--accounts", "20", "--period", "2026-11")


Upm = Callable[..., Result]


@pytest.fixture
def demo_city(upm: Upm, localstripe: str, twilio_settings: None) -> str:
    """Seed the demo city on the test database; return the demo command's output."""
    result = upm(*DEMO_ARGS)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def call(upm: Upm, served_app: str, demo_city: str) -> Upm:
    def play(phone: str, keys: str) -> Result:
        return upm("sim", "call", phone, "--keys", keys, "--url", served_app, "--wait", "0.5")

    return play


def account_of(session: Session, phone: str) -> Account:
    session.rollback()  # See the commits of the command and the served app.
    accounts = verified_accounts(session, phone)
    assert len(accounts) == 1
    return accounts[0]


def spoken(amount: Decimal) -> str:
    dollars, cents = divmod(int(amount * 100), 100)
    return f"{dollars} dollars and {cents} cents" if cents else f"{dollars} dollars"


def test_demo_phone_customers(session: Session, demo_city: str, localstripe: str) -> None:
    english = account_of(session, ENGLISH_PHONE)
    spanish = account_of(session, SPANISH_PHONE)

    assert english.customer.language == "en"
    assert spanish.customer.language == "es"
    assert english.id != spanish.id
    assert verified_accounts(session, UNKNOWN_PHONE) == []
    for account in (english, spanish):
        assert channels.look_up(session, account.id).amount_due > 0
        card = session.scalars(select(SavedCard).where(SavedCard.account_id == account.id)).one()
        assert card.label == "Visa ending 4242"
        client = stripe.StripeClient("sk_test_upm", base_addresses={"api": localstripe})
        assert client.v1.payment_methods.retrieve(card.payment_method_ref).card.last4 == "4242"
    assert ENGLISH_PHONE in demo_city
    assert f"{UNKNOWN_PHONE} │ on no account" in demo_city


def test_demo_again_adds_no_contacts(session: Session, demo_city: str, upm: Upm) -> None:
    before = account_of(session, ENGLISH_PHONE).id

    again = upm(*DEMO_ARGS)

    assert again.exit_code == 0, again.output
    assert account_of(session, ENGLISH_PHONE).id == before
    contacts = session.scalars(
        select(Contact).where(Contact.kind == ContactKind.PHONE, Contact.value == ENGLISH_PHONE)
    ).all()
    assert len(contacts) == 1
    assert len(session.scalars(select(SavedCard).where(SavedCard.account_id == before)).all()) == 1


def test_sim_call_hears_balance(session: Session, call: Upm) -> None:
    account = account_of(session, ENGLISH_PHONE)
    owed = channels.look_up(session, account.id).amount_due

    result = call(ENGLISH_PHONE, "1,1,1")

    assert result.exit_code == 0, result.output
    assert f"Your balance is {spoken(owed)}." in result.output
    assert "IVR (en-US, Polly.Joanna): " in result.output
    assert "call ended (caller hung up) after 4 requests; status callback: HTTP 204" in (
        result.output
    )
    session.rollback()
    recorded = session.scalars(select(Call)).one()
    assert recorded.status == "completed"
    assert recorded.outcome == CallOutcome.SELF_SERVED
    assert recorded.account_id == account.id


def test_sim_call_in_spanish(session: Session, call: Upm) -> None:
    result = call(SPANISH_PHONE, "2,1,1")

    assert result.exit_code == 0, result.output
    assert "IVR (es-MX, Polly.Mia): Gracias." in result.output
    assert "Su saldo es de" in result.output


def test_sim_call_pays_new_card(session: Session, call: Upm) -> None:
    account = account_of(session, ENGLISH_PHONE)
    owed = channels.look_up(session, account.id).amount_due

    result = call(ENGLISH_PHONE, "1,1,2,2,4242424242424242")

    assert result.exit_code == 0, result.output
    assert "4242424242424242" not in result.output
    assert "caller> xxxxxxxxxxxx4242" in result.output
    assert f"-- texts the app queued to {ENGLISH_PHONE}:" in result.output
    assert "   [payment_received, not_configured] " in result.output
    session.rollback()
    payments = session.scalars(select(Payment).where(Payment.account_id == account.id)).all()
    assert len(payments) == 1
    assert payments[0].amount == owed
    assert payments[0].channel == PaymentChannel.IVR
    assert payments[0].status == PaymentStatus.SUCCEEDED
    assert channels.look_up(session, account.id).amount_due == Decimal("0.00")


def test_sim_call_star_cancels_pay(session: Session, call: Upm) -> None:
    account = account_of(session, ENGLISH_PHONE)

    result = call(ENGLISH_PHONE, "1,1,2,2,*")

    assert result.exit_code == 0, result.output
    assert "Payment canceled. Nothing was charged." in result.output
    session.rollback()
    assert session.scalars(select(Payment).where(Payment.account_id == account.id)).all() == []


def test_sim_call_unknown_number_by_zip(session: Session, call: Upm, demo_city: str) -> None:
    account = account_of(session, ENGLISH_PHONE)
    row: Any = next(
        line for line in demo_city.splitlines() if line.startswith(f"│ {ENGLISH_PHONE}")
    )
    zip_code = row.split("│")[5].strip()

    result = call(UNKNOWN_PHONE, f"1,say:{account.number},{zip_code},1")

    assert result.exit_code == 0, result.output
    assert f"Account {' '.join(account.number)}." in result.output
    assert "Your balance is" in result.output


def test_sim_call_declined_card_posts_nothing(session: Session, call: Upm) -> None:
    account = account_of(session, ENGLISH_PHONE)

    # localstripe declines charges on this test card, as Stripe does.
    result = call(ENGLISH_PHONE, "1,1,2,2,4000000000000341")

    assert result.exit_code == 0, result.output
    assert "-- Stripe: charge of" in result.output
    assert "failed for card xxxxxxxxxxxx0341: Your card was declined." in result.output
    assert "Your card was not accepted. Nothing was charged." in result.output
    session.rollback()
    assert session.scalars(select(Payment).where(Payment.account_id == account.id)).all() == []


def test_sim_call_silence_never_loops(session: Session, call: Upm) -> None:
    # A caller who never presses a key: each prompt is asked again with its attempt
    # counter and the call ends on its own, well before the simulator's request limit.
    result = call(ENGLISH_PHONE, ",,,,,,,,,")

    assert result.exit_code == 0, result.output
    assert result.output.count("caller> (silence)") == 3
    assert result.output.count("Sorry, I did not get that.") == 2
    # In office hours the call goes to staff, otherwise it hears the hours and ends.
    ending = [line for line in result.output.splitlines() if line.startswith("call ended")]
    assert ending[0].startswith(
        ("call ended (transfer) after 4 requests", "call ended (hangup) after 4 requests")
    )
    session.rollback()
    recorded = session.scalars(select(Call)).one()
    assert recorded.status == "completed"
    assert recorded.outcome is not None
