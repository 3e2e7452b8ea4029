"""The whole call tree in English and Spanish, the balance read-out, duplicates and outcomes."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.calls.models import CallOutcome, CallRequest
from app.inbound.models import InboundEvent
from app.payments.models import PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.service import create_payment
from app.work_orders.models import Priority, WorkOrder, WorkOrderType
from tests.app.factories import City, water_tariff
from tests.ivr_flows.conftest import (
    CALLER,
    PUBLIC_BASE_URL,
    Customer,
    Phone,
    add_phone,
    call_record,
)
from tests.payments.helpers import issue_bill

GREETING = (
    "Thank you for calling City of Riverbend Utilities. For English, press 1. "
    "Para español, oprima 2."
)
MENU_EN = (
    "For your balance and due date, press 1. To make a payment, press 2. "
    "To report a leak, no water, an outage or a meter problem, press 3. "
    "To ask for a payment arrangement, press 4. "
    "To speak with a member of our staff, press 0."
)
MENU_ES = (
    "Para escuchar su saldo y la fecha de vencimiento, oprima 1. Para hacer un pago, oprima 2. "
    "Para reportar una fuga, falta de agua, un corte de servicio o un problema con el "
    "medidor, oprima 3. Para pedir un arreglo de pago, oprima 4. "
    "Para hablar con un miembro de nuestro personal, oprima 0."
)


def test_greeting_offers_both_languages(phone: Phone) -> None:
    phone.call()
    says = phone.twiml.findall(".//Say")

    assert phone.said() == GREETING
    assert [(say.get("language"), say.get("voice")) for say in says] == [
        ("en-US", "Polly.Joanna"),
        ("en-US", "Polly.Joanna"),
        ("es-MX", "Polly.Mia"),
    ]
    assert phone.gather().get("numDigits") == "1"


@pytest.mark.parametrize(
    ("key", "voice", "account_prompt", "menu"),
    [
        (
            "1",
            ("en-US", "Polly.Joanna"),
            "For the account ending 0 0 1 7, press 1. "
            "To enter a different account number, press 9.",
            MENU_EN,
        ),
        (
            "2",
            ("es-MX", "Polly.Mia"),
            "Para la cuenta que termina en 0 0 1 7, oprima 1. "
            "Para ingresar otro número de cuenta, oprima 9.",
            MENU_ES,
        ),
    ],
)
def test_language_holds_for_whole_call(
    phone: Phone,
    customer: Customer,
    key: str,
    voice: tuple[str, str],
    account_prompt: str,
    menu: str,
) -> None:
    phone.call()
    phone.press(key)
    assert phone.said() == account_prompt
    phone.press("1")
    assert phone.said().endswith(menu)
    for choice in ("1", "3", "1", "4"):
        phone.press(choice)

    spoken = {
        (say.get("language"), say.get("voice"))
        for document in phone.documents[1:]
        for say in document.iter("Say")
    }
    gathers = {
        gather.get("language")
        for document in phone.documents[1:]
        for gather in document.iter("Gather")
    }
    assert spoken == {voice}
    assert gathers == {voice[0]}


def test_whole_tree_recorded_on_call(phone: Phone, customer: Customer, session: Session) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("1")
    phone.press("3")
    phone.press("2")
    phone.press("4")
    phone.press("0")
    phone.hang_up()

    call = call_record(session, phone.call_sid)
    assert call.path == [
        "incoming",
        "language/choice",
        "account/choice",
        "identified_caller_id",
        "menu/choice",
        "balance",
        "menu/choice",
        "report/choice",
        "report_1001",
        "menu/choice",
        "arrangement",
        "menu/choice",
        "transfer",
    ]
    assert call.account_id == customer.account_id
    assert call.caller == "…0123"
    assert call.outcome == CallOutcome.TRANSFERRED
    assert call.status == "completed"
    assert call.duration_seconds == 42
    assert call.ended_at is not None


@pytest.fixture
def c9_customer(session: Session) -> Customer:
    """Account 100234567: $1,234.50 due 2024-03-12, last paid $84.12 on 2024-02-10."""
    city = City(session)
    account, premise = city.account()
    account.number = "100234567"
    city.agreement(account, premise, city.tariff(water_tariff()))
    issue_bill(
        session,
        city,
        account,
        "1318.62",
        period_start=dt.date(2024, 1, 1),
        due_date=dt.date(2024, 3, 12),
    )
    create_payment(
        session,
        account_id=account.id,
        amount=Decimal("84.12"),
        channel=PaymentChannel.WEB,
        method=PaymentMethod.CARD,
        provider="test",
        idempotency_key="c9-payment",
        taken_by="test",
        received_on=dt.date(2024, 2, 10),
        status=PaymentStatus.SUCCEEDED,
    )
    add_phone(session, account, CALLER, verified=True)
    session.commit()
    return Customer(account.id, account.number)


C9_EN = (
    "<Response>"
    '<Say language="en-US" voice="Polly.Joanna">Account 1 0 0 2 3 4 5 6 7.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">Your balance is 1234 dollars and 50 cents.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">The amount due is 1234 dollars and 50 cents, '
    "due March 12, 2024.</Say>"
    '<Say language="en-US" voice="Polly.Joanna">Your last payment was 84 dollars and 12 cents '
    "on February 10, 2024.</Say>"
    '<Gather action="https://upm.example.test/twilio/voice/menu/choice?v=4&amp;a=1" '
    'input="dtmf" language="en-US" method="POST" numDigits="1" timeout="6">'
    '<Say language="en-US" voice="Polly.Joanna">For your balance and due date, press 1.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">To make a payment, press 2.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">To report a leak, no water, an outage or a '
    "meter problem, press 3.</Say>"
    '<Say language="en-US" voice="Polly.Joanna">To ask for a payment arrangement, press 4.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">To speak with a member of our staff, press 0.'
    "</Say>"
    "</Gather>"
    '<Redirect method="POST">https://upm.example.test/twilio/voice/menu?v=4&amp;a=2</Redirect>'
    "</Response>"
)
C9_ES = (
    "<Response>"
    '<Say language="es-MX" voice="Polly.Mia">Cuenta 1 0 0 2 3 4 5 6 7.</Say>'
    '<Say language="es-MX" voice="Polly.Mia">Su saldo es de 1234 dólares con 50 centavos.</Say>'
    '<Say language="es-MX" voice="Polly.Mia">El monto a pagar es de 1234 dólares con 50 '
    "centavos, con vencimiento el 12 de marzo de 2024.</Say>"
    '<Say language="es-MX" voice="Polly.Mia">Su último pago fue de 84 dólares con 12 centavos '
    "el 10 de febrero de 2024.</Say>"
    '<Gather action="https://upm.example.test/twilio/voice/menu/choice?v=4&amp;a=1" '
    'input="dtmf" language="es-MX" method="POST" numDigits="1" timeout="6">'
    '<Say language="es-MX" voice="Polly.Mia">Para escuchar su saldo y la fecha de vencimiento, '
    "oprima 1.</Say>"
    '<Say language="es-MX" voice="Polly.Mia">Para hacer un pago, oprima 2.</Say>'
    '<Say language="es-MX" voice="Polly.Mia">Para reportar una fuga, falta de agua, un corte de '
    "servicio o un problema con el medidor, oprima 3.</Say>"
    '<Say language="es-MX" voice="Polly.Mia">Para pedir un arreglo de pago, oprima 4.</Say>'
    '<Say language="es-MX" voice="Polly.Mia">Para hablar con un miembro de nuestro personal, '
    "oprima 0.</Say>"
    "</Gather>"
    '<Redirect method="POST">https://upm.example.test/twilio/voice/menu?v=4&amp;a=2</Redirect>'
    "</Response>"
)


@pytest.mark.parametrize(("key", "expected"), [("1", C9_EN), ("2", C9_ES)])
def test_balance_read_out_snapshot(
    phone: Phone, c9_customer: Customer, key: str, expected: str
) -> None:
    # 1318.62 billed less 84.12 paid leaves 1234.50.
    phone.call()
    phone.press(key)
    phone.press("1")
    phone.press("1")

    body = phone.responses[-1].text.removeprefix('<?xml version="1.0" encoding="UTF-8"?>')
    assert body == expected


def test_report_creates_work_order(phone: Phone, customer: Customer, session: Session) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("3")
    phone.press("1")

    order = session.scalars(select(WorkOrder)).one()
    assert order.type == WorkOrderType.LEAK_INVESTIGATION
    assert order.priority == Priority.EMERGENCY
    assert order.account_id == customer.account_id
    assert order.premise_id is not None
    assert order.notes is not None and "leak" in order.notes
    assert order.notes is not None and "…0123" in order.notes
    assert phone.said().startswith(
        f"Thank you. Your report is recorded. Your confirmation number is "
        f"{' '.join(str(order.number))}."
    )
    assert call_record(session, phone.call_sid).outcome == CallOutcome.SELF_SERVED


@pytest.mark.parametrize(
    ("key", "order_type", "priority"),
    [
        ("2", WorkOrderType.SERVICE_INVESTIGATION, Priority.EMERGENCY),
        ("3", WorkOrderType.SERVICE_INVESTIGATION, Priority.EMERGENCY),
        ("4", WorkOrderType.SERVICE_INVESTIGATION, Priority.ROUTINE),
    ],
)
def test_report_kinds_and_priorities(
    phone: Phone,
    customer: Customer,
    session: Session,
    key: str,
    order_type: WorkOrderType,
    priority: Priority,
) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("3")
    phone.press(key)

    order = session.scalars(select(WorkOrder)).one()
    assert order.type == order_type
    assert order.priority == priority


def test_report_star_returns_to_menu(phone: Phone, customer: Customer, session: Session) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("3")
    phone.press("*")

    assert phone.said() == MENU_EN
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_duplicate_delivery_acts_once(phone: Phone, customer: Customer, session: Session) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("3")
    report_url = phone.gather().attrib["action"]
    first = phone.send(report_url, Digits="1")
    second = phone.send(report_url, Digits="1")

    assert first.status_code == 200
    assert "Your report is recorded" in first.text
    assert second.status_code == 200
    assert second.text == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_concurrent_duplicates_act_once(phone: Phone, customer: Customer, session: Session) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("4")
    phone.press("3")
    report_url = phone.gather().attrib["action"]
    bodies: list[str] = []

    def deliver() -> None:
        bodies.append(phone.send(report_url, Digits="2").text)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted("Your report is recorded" in body for body in bodies) == [False, True]
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_repeated_menu_visit_is_not_duplicate(
    phone: Phone, customer: Customer, session: Session
) -> None:
    # The report menu twice in one call: two visits, so two orders of two problems.
    phone.call()
    phone.press("1")
    phone.press("1")
    for key in ("1", "4"):
        phone.press("3")
        phone.press(key)

    assert session.scalar(select(func.count()).select_from(WorkOrder)) == 2


def test_arrangement_recorded_once_per_call(
    phone: Phone, customer: Customer, session: Session
) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("4")
    phone.press("4")

    requests = session.scalars(select(CallRequest)).all()
    assert [(r.kind.value, r.account_id, r.phone) for r in requests] == [
        ("arrangement", customer.account_id, CALLER)
    ]
    assert phone.said().startswith("Your request for a payment arrangement is recorded.")


def test_hang_up_before_anything_is_abandoned(phone: Phone, session: Session) -> None:
    phone.call()
    phone.hang_up(duration="7")

    call = call_record(session, phone.call_sid)
    assert call.outcome == CallOutcome.ABANDONED
    assert call.duration_seconds == 7


def test_hang_up_after_balance_stays_self_served(
    phone: Phone, customer: Customer, session: Session
) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")
    phone.press("1")
    phone.hang_up()
    repeated = phone.hang_up()

    assert repeated.status_code == 204
    assert call_record(session, phone.call_sid).outcome == CallOutcome.SELF_SERVED
    claims = (
        select(func.count())
        .select_from(InboundEvent)
        .where(InboundEvent.event_id == f"{phone.call_sid}:status:completed")
    )
    assert session.scalar(claims) == 1


def test_status_for_unknown_call_ignored(phone: Phone) -> None:
    response = phone.hang_up()

    assert response.status_code == 204


def test_unknown_step_not_found(client: TestClient, phone: Phone) -> None:
    response = phone.send(f"{PUBLIC_BASE_URL}/twilio/voice/nowhere?v=1&a=1")

    assert response.status_code == 404
    assert response.json()["code"] == "ivr_step_not_found"


def test_logs_hold_no_full_numbers(
    phone: Phone, customer: Customer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    phone.call()
    phone.press("1")
    phone.press("9")
    phone.press(customer.number)
    phone.press("99999")
    phone.press(customer.number)
    phone.press("78701")
    phone.press("1")

    assert customer.number not in caplog.text
    assert CALLER not in caplog.text


def test_account_guard_on_later_steps(phone: Phone, customer: Customer) -> None:
    # A step that needs an account, on a call that has not proved one, starts over.
    phone.call()
    phone.press("1")
    phone.post(f"{PUBLIC_BASE_URL}/twilio/voice/menu/choice?v=9&a=1", Digits="1")

    assert phone.said().startswith("For the account ending 0 0 1 7, press 1.")
    assert "dollars" not in phone.said()


def test_several_accounts_one_key_each(session: Session, phone: Phone) -> None:
    # Two accounts on one verified phone: one key each, and each key picks its account.
    city = City(session)
    numbers = []
    for name in ("Ana Uno", "Beto Dos"):
        account, premise = city.account(name)
        city.agreement(account, premise, city.tariff(water_tariff()))
        add_phone(session, account, CALLER, verified=True)
        numbers.append(account.number)
    session.commit()

    phone.call()
    phone.press("1")
    lines = phone.said()
    phone.press("2")
    phone.press("1")

    first, second = sorted(numbers)
    spaced = " ".join
    assert lines == (
        f"For the account ending {spaced(first[-4:])}, press 1. "
        f"For the account ending {spaced(second[-4:])}, press 2. "
        "To enter a different account number, press 9."
    )
    assert phone.said().startswith(f"Account {spaced(second)}.")
    chosen = session.scalars(select(Account).where(Account.number == second)).one()
    assert call_record(session, phone.call_sid).account_id == chosen.id
