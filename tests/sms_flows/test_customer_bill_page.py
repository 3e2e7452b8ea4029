"""BILL by text: a link to a read-only bill page, in the customer's language, that expires."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.billing.models import BillLine, BillMeterSegment
from app.main import _HideLinkTokens
from app.portal.models import BillLink
from app.premises.models import ServiceAgreement
from tests.app.factories import City
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    Household,
    reply_of,
)

LINK = re.compile(r"https://upm\.example\.test(/bill/[A-Za-z0-9_-]+)")


def add_lines(session: Session, household: Household) -> None:
    """Give the household's 84.12 bill a base charge, a usage line and its meter read."""
    agreement_id = session.scalars(
        select(ServiceAgreement.id).where(ServiceAgreement.account_id == household.account_id)
    ).one()
    session.add_all([
        BillLine(bill_id=household.bill_id, line_number=1, service_agreement_id=agreement_id,
                 service="water", code="base", kind="fixed", description="Base charge",
                 amount=Decimal("10.00")),
        BillLine(bill_id=household.bill_id, line_number=2, service_agreement_id=agreement_id,
                 service="water", code="usage", kind="energy", description="Water use",
                 quantity=Decimal("24.706"), unit="kgal", amount=Decimal("74.12")),
        BillMeterSegment(bill_id=household.bill_id, service_agreement_id=agreement_id,
                         meter_serial="W-100", start_date=dt.date(2026, 10, 1),
                         start_value=Decimal("1000"), end_date=dt.date(2026, 10, 30),
                         end_value=Decimal("25706"), consumption=Decimal("24706"),
                         unit="gal"),
    ])
    session.commit()


def link_path(reply: str | None) -> str:
    assert reply is not None
    found = LINK.search(reply)
    assert found is not None, reply
    return found.group(1)


def test_bill_reply_and_page(
    session: Session, client: TestClient, sms: Callable[..., Any],
    households: dict[str, Household],
) -> None:
    household = households["en"]
    add_lines(session, household)

    reply = reply_of(sms(CUSTOMER_PHONE, "BILL"))
    path = link_path(reply)
    page = client.get(path)

    assert reply == (
        f"Your bill for account ending {household.last4}: $84.12, due December 10, 2026. "
        f"See it for 72 hours at https://upm.example.test{path}"
    )
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<html lang="en">' in page.text
    assert f"Account ending {household.last4}" in page.text
    assert "1 Test St, Riverbend TX 78701" in page.text
    assert "October 1, 2026 to October 29, 2026" in page.text
    assert '<dd id="due-date">December 10, 2026</dd>' in page.text
    assert "Water use" in page.text
    assert "24,706 gal" in page.text
    assert "24.706 kgal" in page.text
    assert '<td class="num" id="total">$84.12</td>' in page.text


def test_page_shows_no_staff_data(
    session: Session, client: TestClient, sms: Callable[..., Any],
    households: dict[str, Household],
) -> None:
    household = households["en"]
    account = session.get_one(Account, household.account_id)

    page = client.get(link_path(reply_of(sms(CUSTOMER_PHONE, "BILL"))))

    assert page.status_code == 200
    assert account.number not in page.text
    assert account.customer.name not in page.text
    assert "ledger" not in page.text.lower()
    assert 'href="/accounts' not in page.text


def test_factura_page_in_spanish(
    session: Session, client: TestClient, sms: Callable[..., Any],
    households: dict[str, Household],
) -> None:
    household = households["es"]
    add_lines(session, household)

    reply = reply_of(sms(SPANISH_PHONE, "factura"))
    page = client.get(link_path(reply))

    assert reply is not None
    assert reply.startswith(
        f"Su factura de la cuenta que termina en {household.last4}: $84.12, vence el 10 de "
        "diciembre de 2026. Puede verla durante 72 horas en https://upm.example.test/bill/"
    )
    assert '<html lang="es">' in page.text
    assert "<h1>Su factura</h1>" in page.text
    assert f"Cuenta que termina en {household.last4}" in page.text
    assert '<dd id="due-date">10 de diciembre de 2026</dd>' in page.text
    assert "<td>Agua</td>" in page.text


def test_page_language_follows_request(
    client: TestClient, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    # The English customer asked in Spanish, so the page is Spanish; ?lang= overrides it.
    path = link_path(reply_of(sms(CUSTOMER_PHONE, "FACTURA")))

    assert '<html lang="es">' in client.get(path).text
    assert '<html lang="en">' in client.get(path + "?lang=en").text


def test_only_token_digest_stored(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    token = link_path(reply_of(sms(CUSTOMER_PHONE, "BILL"))).removeprefix("/bill/")

    link = session.scalars(select(BillLink)).one()
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) == 32
    assert link.bill_id == households["en"].bill_id
    assert link.created_by == "sms:…0123"
    assert link.expires_at - link.created_at == dt.timedelta(hours=72)


def test_expired_link_refused(
    session: Session, client: TestClient, sms: Callable[..., Any],
    households: dict[str, Household],
) -> None:
    path = link_path(reply_of(sms(CUSTOMER_PHONE, "BILL")))
    # The 72 hours are over.
    session.execute(
        update(BillLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    session.commit()

    page = client.get(path)

    assert page.status_code == 409
    assert "This bill link has expired" in page.text
    assert "Text BILL to get a new link." in page.text
    assert "$84.12" not in page.text


def test_unknown_token_not_found(client: TestClient, households: dict[str, Household]) -> None:
    page = client.get("/bill/not-a-real-token-at-all-000000")

    assert page.status_code == 404
    assert "Bill link not found" in page.text


def test_bill_without_any_bill(
    session: Session, customer_city: City, sms: Callable[..., Any],
    households: dict[str, Household],
) -> None:
    account, _ = customer_city.account("New Customer")
    session.add(Contact(account_id=account.id, kind=ContactKind.PHONE, value="+15550100140",
                        verified=True))
    session.commit()

    reply = reply_of(sms("+15550100140", "BILL"))

    assert reply == f"Account ending {account.number[-4:]} has no bill yet."


def test_access_log_hides_bill_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/bill/SECRETtoken123?lang=es", "1.1", 200), None,
    )

    _HideLinkTokens().filter(record)

    assert record.args == ("127.0.0.1:5000", "GET", "/bill/…?lang=es", "1.1", 200)
