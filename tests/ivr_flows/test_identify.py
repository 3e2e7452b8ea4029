"""Identification: verified caller ID, account number and ZIP code, and every refusal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.audit.models import AuditEvent
from tests.ivr_flows.conftest import (
    UNKNOWN_CALLER,
    ZIP_CODE,
    Customer,
    Phone,
    add_phone,
    call_record,
)

NUMBER_PROMPT = (
    "Please enter your account number on the keypad, or say it one digit at a time, "
    "then press the pound key."
)
ZIP_PROMPT = "Please enter the five-digit ZIP code of your service address."
NOT_FOUND = "Sorry, we could not find an account with that number and ZIP code."


def stranger(phone: Phone) -> Phone:
    phone.caller = UNKNOWN_CALLER
    return phone


def enter_wrong_zip(phone: Phone, customer: Customer, times: int = 1) -> None:
    """Call from an unknown number and give the right account number with a wrong ZIP."""
    stranger(phone).call()
    phone.press("1")
    for _ in range(times):
        phone.press(customer.number)
        phone.press("99999")


def test_unknown_caller_asked_for_number(phone: Phone, customer: Customer) -> None:
    stranger(phone).call()
    phone.press("1")

    assert phone.said() == NUMBER_PROMPT
    gather = phone.gather()
    assert gather.get("input") == "dtmf speech"
    assert gather.get("finishOnKey") == "#"


def test_unverified_contact_hears_nothing(
    phone: Phone, customer: Customer, session: Session
) -> None:
    account = session.get(Account, customer.account_id)
    assert account is not None
    add_phone(session, account, UNKNOWN_CALLER, verified=False)
    session.commit()

    stranger(phone).call()
    phone.press("1")

    assert phone.said() == NUMBER_PROMPT
    assert "0 0 1 7" not in phone.said()


def test_number_and_zip_identify(phone: Phone, customer: Customer, session: Session) -> None:
    stranger(phone).call()
    phone.press("1")
    phone.press(customer.number)
    assert phone.said() == ZIP_PROMPT
    phone.press(ZIP_CODE)

    assert phone.said().startswith("Thank you. For your balance and due date, press 1.")
    call = call_record(session, phone.call_sid)
    assert call.account_id == customer.account_id
    assert call.entered_number is None


def test_number_and_zip_by_speech(phone: Phone, customer: Customer, session: Session) -> None:
    stranger(phone).call()
    phone.press("2")
    phone.speak(" ".join(customer.number))
    phone.speak("siete ocho siete cero uno")

    assert phone.said().startswith("Gracias. Para escuchar su saldo")
    assert call_record(session, phone.call_sid).account_id == customer.account_id


def test_wrong_zip_hears_nothing_about_account(
    phone: Phone, customer: Customer, session: Session
) -> None:
    enter_wrong_zip(phone, customer)

    assert phone.said() == f"{NOT_FOUND} {NUMBER_PROMPT}"
    assert call_record(session, phone.call_sid).account_id is None


def test_wrong_number_same_words_as_wrong_zip(phone: Phone, customer: Customer) -> None:
    wrong = customer.number[:-1] + str((int(customer.number[-1]) + 1) % 10)
    stranger(phone).call()
    phone.press("1")
    phone.press(wrong)
    phone.press(ZIP_CODE)

    assert phone.said() == f"{NOT_FOUND} {NUMBER_PROMPT}"


def test_denial_audited_with_masked_numbers(
    phone: Phone, customer: Customer, session: Session
) -> None:
    enter_wrong_zip(phone, customer)

    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "ivr.identify")).one()
    assert event.outcome == "denied"
    assert event.actor == "ivr:…0999"
    assert event.arguments == {
        "call_sid": phone.call_sid,
        "account": "…" + customer.number[-4:],
        "failures": 1,
    }


def test_three_failures_transfer_when_open(phone: Phone, customer: Customer) -> None:
    enter_wrong_zip(phone, customer, times=3)

    dial = phone.twiml.find("Dial")
    assert phone.said() == (
        "Sorry, we could not verify your account. "
        "Please hold while we connect you with a member of our staff."
    )
    assert dial is not None and dial.text == "+15125550100"


def test_three_failures_office_hours_when_closed(
    phone: Phone, customer: Customer, office_closed: None
) -> None:
    enter_wrong_zip(phone, customer, times=3)

    assert phone.said() == (
        "Sorry, we could not verify your account. Our office is open Monday through Friday, "
        "from 8:00 AM to 5:00 PM, except holidays. Please call again during office hours. "
        "Goodbye."
    )
    assert [verb.tag for verb in phone.twiml][-1] == "Hangup"
    assert phone.twiml.find("Gather") is None


def test_caller_id_choice_9_asks_number(phone: Phone, customer: Customer) -> None:
    phone.call()
    phone.press("1")
    phone.press("9")

    assert phone.said() == NUMBER_PROMPT


def test_wrong_key_on_account_choice_asks_again(phone: Phone, customer: Customer) -> None:
    phone.call()
    phone.press("1")
    phone.press("5")

    assert phone.said() == (
        "Sorry, that key is not one of the choices. Please press one of these keys. "
        "For the account ending 0 0 1 7, press 1. "
        "To enter a different account number, press 9."
    )


def test_short_zip_says_five_digits(phone: Phone, customer: Customer) -> None:
    stranger(phone).call()
    phone.press("1")
    phone.press(customer.number)
    phone.press("787")

    assert phone.said() == f"Sorry, a ZIP code has five digits. {ZIP_PROMPT}"


def test_speech_without_number_rejected(phone: Phone, customer: Customer) -> None:
    stranger(phone).call()
    phone.press("2")
    phone.speak("no sé")

    assert phone.said() == (
        "Perdón, eso no es un número de cuenta. Ingrese su número de cuenta con el teclado, "
        "o dígalo un dígito a la vez, y luego oprima la tecla de numeral."
    )
