"""Front counter pages through TestClient: a shift, form errors, receipts, e-mail.

The app here mounts the counter router next to the staff pages.
Bills come from the same hand-checked 49.00 November bill as the service tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Account, Contact, ContactKind
from app.audit.models import AuditEvent
from app.payments.counter import routes as counter_routes
from app.payments.counter.models import DrawerSession, DrawerStatus
from app.payments.models import Payment, PaymentNotice
from app.web import pages
from tests.app.factories import City
from tests.payments.test_counter import CARD_NUMBER, assert_ledger_balanced, billed_accounts
from tests.web.support import table_after_heading

# Base 10000900 with its Luhn check digit 0. These tests open a few accounts numbered from
# base 10000001, so none of them has this number.
UNKNOWN_ACCOUNT = "100009000"
KEY_FIELD = re.compile(r'name="idempotency_key" value="([0-9a-f]+)"')


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    application = FastAPI()
    application.include_router(pages.router)
    application.include_router(counter_routes.router)
    with TestClient(application) as test_client:
        yield test_client


def plain_account(session: Session, name: str = "Pat Doe") -> Account:
    account, _ = City(session).account(name=name)
    session.commit()
    return account


def open_front_drawer(client: TestClient, float_amount: str = "100.00") -> str:
    """Open drawer "Front 1" through the form and return the drawer page's path."""
    response = client.post(
        "/counter", data={"drawer": "Front 1", "opening_float": float_amount, "clerk": "Maria"}
    )
    assert response.status_code == 200
    assert response.history[0].status_code == 303
    return response.url.path


def payment_form(client: TestClient, drawer_path: str, account: Account, amount: str,
                 method: str, **fields: str) -> dict[str, str]:
    """Fill the take-payment form with the idempotency key the page issued."""
    page = client.get(drawer_path)
    key = KEY_FIELD.search(page.text)
    assert key is not None, "the page has no idempotency key field"
    return {"account_number": account.number, "amount": amount, "method": method,
            "clerk": "Maria", "idempotency_key": key.group(1), **fields}


def post_payment(client: TestClient, drawer_path: str, account: Account, amount: str,
                 method: str, **fields: str):  # type: ignore[no-untyped-def]
    data = payment_form(client, drawer_path, account, amount, method, **fields)
    return client.post(f"{drawer_path}/payments", data=data)


def rejections(factory: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with factory() as session:
        return list(session.scalars(
            select(AuditEvent).where(AuditEvent.action == action,
                                     AuditEvent.outcome == "rejected")
        ))


def payment_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return len(session.scalars(select(Payment.id)).all())


def test_shift_through_pages(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    cash_payer, check_payer, card_payer = billed_accounts(session, session_factory, 3)
    home = client.get("/counter")
    assert home.status_code == 200
    assert "No drawer is open." in home.text

    drawer_path = open_front_drawer(client)
    cash = post_payment(client, drawer_path, cash_payer, "40.00", "cash", tendered="$50.00")
    check = post_payment(client, drawer_path, check_payer, "88.12", "check",
                         check_number="1180")
    card = post_payment(client, drawer_path, card_payer, "20", "card_present",
                        card_brand="Visa", card_last4="4242", approval_code="a1b2c3")

    for response in (cash, check, card):
        assert response.status_code == 200
        assert response.history[0].status_code == 303
    assert "Change due: $10.00" in cash.text
    assert "Cash received $50.00" in cash.text
    assert "by check 1180" in check.text
    assert "by Visa ending 4242" in card.text
    page = card.text
    payments = table_after_heading(page, "Payments taken")
    assert [row[2:] for row in payments[1:]] == [
        [f"…{cash_payer.number[-4:]}", "cash", "Maria", "$40.00"],
        [f"…{check_payer.number[-4:]}", "check 1180", "Maria", "$88.12"],
        [f"…{card_payer.number[-4:]}", "Visa ending 4242", "Maria", "$20.00"],
    ]
    assert table_after_heading(page, "Totals by method")[1:] == [
        ["Cash", "1", "$40.00"],
        ["Check", "1", "$88.12"],
        ["Card on the terminal", "1", "$20.00"],
        ["All", "3", "$148.12"],
    ]
    # 100.00 float + 40.00 cash = 140.00, and the one check is 88.12.
    assert "should hold $140.00 in cash" in page
    assert "and $88.12 in checks" in page

    closed = client.post(f"{drawer_path}/close", data={
        "counted_cash": "140.00", "counted_checks": "88.12", "clerk": "Maria"
    })

    assert closed.status_code == 200
    assert table_after_heading(closed.text, "Count at close")[1:] == [
        ["Cash", "$140.00", "$140.00", "$0.00"],
        ["Checks", "$88.12", "$88.12", "$0.00"],
        ["Total", "$228.12", "$228.12", "$0.00"],
    ]
    assert "Take a payment" not in closed.text
    recently_closed = table_after_heading(client.get("/counter").text, "Recently closed")
    assert recently_closed[1][0] == "Front 1"
    assert recently_closed[1][4] == "$0.00"
    with session_factory() as check_session:
        drawer = check_session.scalars(select(DrawerSession)).one()
        assert drawer.status == DrawerStatus.CLOSED
        assert drawer.variance == Decimal("0.00")
        assert drawer.closed_by == "Maria"
        # 49.00 - 40.00 = 9.00; 49.00 - 88.12 = -39.12; 49.00 - 20.00 = 29.00.
        assert_ledger_balanced(check_session, {
            cash_payer.id: Decimal("9.00"),
            check_payer.id: Decimal("-39.12"),
            card_payer.id: Decimal("29.00"),
        })


def test_short_count_shows_variance(client: TestClient, session: Session) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)
    post_payment(client, drawer_path, account, "25.00", "cash")

    closed = client.post(f"{drawer_path}/close", data={
        "counted_cash": "120.00", "counted_checks": "0", "clerk": "Luis"
    })

    # Expected 100.00 + 25.00 = 125.00, counted 120.00: 5.00 short.
    assert table_after_heading(closed.text, "Count at close")[1] == [
        "Cash", "$125.00", "$120.00", "-$5.00"
    ]
    assert "closed by Luis" in closed.text


def test_double_submit_posts_once(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)
    data = payment_form(client, drawer_path, account, "30.00", "cash", tendered="40.00")

    first = client.post(f"{drawer_path}/payments", data=data)
    second = client.post(f"{drawer_path}/payments", data=data)

    assert first.status_code == 200
    assert second.status_code == 200
    assert first.url == second.url
    assert "Change due: $10.00" in second.text
    assert payment_count(session_factory) == 1


def test_card_number_rejected_not_shown(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)

    response = post_payment(client, drawer_path, account, "20.00", "card_present",
                            card_brand="Visa", card_last4=CARD_NUMBER, approval_code="A1B2C3")

    assert response.status_code == 422
    assert "enter only the last 4 digits of the card, never the card number" in response.text
    assert CARD_NUMBER not in response.text
    assert payment_count(session_factory) == 0
    (rejected,) = rejections(session_factory, "counter.payment")
    assert rejected.detail == "card_number_rejected"
    assert rejected.actor == "Maria"
    assert CARD_NUMBER not in str(rejected.arguments)


def test_card_number_in_amount_not_shown(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)

    response = post_payment(client, drawer_path, account, CARD_NUMBER, "cash")

    assert response.status_code == 422
    assert "payment amount is larger than the maximum" in response.text
    assert CARD_NUMBER not in response.text
    assert payment_count(session_factory) == 0


def test_card_number_in_account_field_not_shown(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    drawer_path = open_front_drawer(client)
    data = payment_form(client, drawer_path, plain_account(session), "10.00", "cash")
    data["account_number"] = "4242 4242 4242 4242"

    response = client.post(f"{drawer_path}/payments", data=data)

    assert response.status_code == 422
    assert "the account number is invalid because it is as long as a card number" in (
        response.text
    )
    assert "4242 4242 4242 4242" not in response.text
    (rejected,) = rejections(session_factory, "counter.payment")
    assert rejected.detail == "account_number_format"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "amount must be an amount in dollars and cents, such as 40.00"),
        ("", "amount is missing"),
        ("0.00", "payment amount 0.00 must be positive and in whole cents"),
        ("10.005", "amount must be an amount in dollars and cents"),
        # A decimal comma is not read as a thousands separator: 5,00 is not 500.00.
        ("5,00", "amount must be an amount in dollars and cents"),
        ("1,2345", "amount must be an amount in dollars and cents"),
    ],
)
def test_bad_amount_shows_error(
    client: TestClient, session: Session, session_factory: sessionmaker[Session],
    amount: str, message: str,
) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)

    response = post_payment(client, drawer_path, account, amount, "cash")

    assert response.status_code == 422
    assert message in response.text
    assert f'value="{account.number}"' in response.text
    assert payment_count(session_factory) == 0


def test_grouped_amount_is_accepted(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)
    response = post_payment(client, drawer_path, account, "$1,250.00", "check",
                            check_number="1180")
    assert response.status_code == 200
    with session_factory() as check:
        amounts = check.scalars(select(Payment.amount)).all()
    assert amounts == [Decimal("1250.00")]


def test_unknown_account_shows_not_found(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    drawer_path = open_front_drawer(client)
    data = payment_form(client, drawer_path, plain_account(session), "10.00", "cash")
    data["account_number"] = UNKNOWN_ACCOUNT

    response = client.post(f"{drawer_path}/payments", data=data)

    assert response.status_code == 404
    assert f"account {UNKNOWN_ACCOUNT} not found" in response.text
    (rejected,) = rejections(session_factory, "counter.payment")
    assert rejected.detail == "account_not_found"


def test_second_open_shows_conflict(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    open_front_drawer(client)

    response = client.post(
        "/counter", data={"drawer": "Front 1", "opening_float": "50.00", "clerk": "Luis"}
    )

    assert response.status_code == 409
    assert "drawer &#39;Front 1&#39; is already open in session 1, opened by Maria" in (
        response.text
    )
    assert 'value="Luis"' in response.text
    (rejected,) = rejections(session_factory, "drawer.open")
    assert rejected.actor == "Luis"
    assert rejected.detail == "drawer_already_open"


def test_closed_drawer_rejects_payment(client: TestClient, session: Session) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client, "0.00")
    data = payment_form(client, drawer_path, account, "10.00", "cash")
    client.post(f"{drawer_path}/close", data={
        "counted_cash": "0.00", "counted_checks": "0.00", "clerk": "Maria"
    })

    late = client.post(f"{drawer_path}/payments", data=data)
    again = client.post(f"{drawer_path}/close", data={
        "counted_cash": "0.00", "counted_checks": "0.00", "clerk": "Maria"
    })

    assert late.status_code == 409
    assert "was closed by Maria at" in late.text
    assert again.status_code == 409
    assert "was already closed by Maria" in again.text


def test_unknown_drawer_session_not_found(client: TestClient) -> None:
    response = client.get("/counter/999")

    assert response.status_code == 404
    assert "drawer session 999 not found" in response.text


def test_receipt_page_languages(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    (account,) = billed_accounts(session, session_factory, 1)
    drawer_path = open_front_drawer(client)
    paid = post_payment(client, drawer_path, account, "60.00", "cash", tendered="60.00")
    payment_id = int(paid.url.params["paid"])

    english = client.get(f"/counter/receipts/{payment_id}")
    spanish = client.get(f"/counter/receipts/{payment_id}", params={"lang": "es"})
    account.customer.language = "es"
    session.commit()
    customer_language = client.get(f"/counter/receipts/{payment_id}")
    missing = client.get("/counter/receipts/999")

    # 60.00 paid on 49.00 owed: 11.00 is left as a credit and nothing is due.
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert "<td>$60.00</td>" in english.text
    assert "Credit on account" in english.text
    assert "<td>$11.00</td>" in english.text
    assert "Balance due after this payment" in english.text
    assert spanish.status_code == 200
    assert '<html lang="es">' in spanish.text
    assert "Recibo de pago" in spanish.text
    assert "Crédito en la cuenta" in spanish.text
    assert "<td>$11.00</td>" in spanish.text
    assert '<html lang="es">' in customer_language.text
    for response in (english, spanish, customer_language):
        assert f"<td>…{account.number[-4:]}</td>" in response.text
        assert account.number not in response.text
    assert missing.status_code == 404
    assert "payment 999 not found" in missing.text


def test_email_receipt_button(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = plain_account(session)
    session.add(Contact(account_id=account.id, kind=ContactKind.EMAIL, value="pat@example.org"))
    session.commit()
    drawer_path = open_front_drawer(client)
    paid = post_payment(client, drawer_path, account, "10.00", "cash")
    payment_id = int(paid.url.params["paid"])

    response = client.post(f"/counter/receipts/{payment_id}/email", data={"clerk": "Maria"})

    assert response.status_code == 200
    assert response.url.path == drawer_path
    assert f"The receipt for payment {payment_id} is queued for e-mail." in response.text
    with session_factory() as check_session:
        notice = check_session.scalars(
            select(PaymentNotice).where(PaymentNotice.notice_key == f"receipt-email:{payment_id}")
        ).one()
        assert notice.payload["to"] == "pat@example.org"
        audit = check_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "counter.receipt_email")
        ).one()
        assert audit.outcome == "queued"
        assert audit.actor == "Maria"


def test_email_receipt_without_address(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = plain_account(session)
    drawer_path = open_front_drawer(client)
    paid = post_payment(client, drawer_path, account, "10.00", "cash")
    payment_id = int(paid.url.params["paid"])

    response = client.post(f"/counter/receipts/{payment_id}/email", data={"clerk": "Maria"})

    assert response.status_code == 409
    assert "has no e-mail address; add one to the account or print the receipt" in response.text
    (rejected,) = rejections(session_factory, "counter.receipt_email")
    assert rejected.detail == "no_email_address"


def test_receipt_only_for_counter_payments(client: TestClient, session: Session) -> None:
    from app.payments.models import PaymentChannel, PaymentMethod, PaymentStatus
    from app.payments.service import create_payment
    from app.settings import get_settings

    account = plain_account(session)
    lockbox = create_payment(
        session, account_id=account.id, amount=Decimal("10.00"), channel=PaymentChannel.LOCKBOX,
        method=PaymentMethod.CHECK, provider="lockbox", idempotency_key="lb-1",
        taken_by="bank", received_on=get_settings().today(), status=PaymentStatus.SUCCEEDED,
    )
    session.commit()
    response = client.get(f"/counter/receipts/{lockbox.id}")
    assert response.status_code == 404
    assert "was not taken at the counter" in response.text
