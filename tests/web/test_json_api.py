"""JSON API through TestClient: the same figures the database stores, and its errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Customer
from app.billing.models import BillLine
from tests.web.support import BilledCity, stored_bill

# A valid check digit (base 10000900, Luhn digit 0) on a number no demo account has.
UNKNOWN_ACCOUNT = "100009000"


def test_api_account_balance_is_bill_total(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)
    customer = session.scalars(
        select(Customer.name)
        .join(Account, Account.customer_id == Customer.id)
        .where(Account.number == number)
    ).one()

    response = client.get(f"/api/accounts/{number}")

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == number
    assert body["customer"] == customer
    assert body["status"] == "active"
    assert Decimal(body["balance"]) == bill.total


def test_api_bills_list_one_bill(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)

    response = client.get(f"/api/accounts/{number}/bills")

    assert response.status_code == 200
    bills = response.json()
    assert len(bills) == 1
    summary = bills[0]
    assert summary["id"] == bill.id
    assert summary["period_start"] == "2026-11-01"
    assert summary["period_end"] == "2026-12-01"
    # The bill date defaults to the period end, and the fixture bills with 21 due days.
    assert summary["bill_date"] == "2026-12-01"
    assert summary["due_date"] == (dt.date(2026, 12, 1) + dt.timedelta(days=21)).isoformat()
    assert Decimal(summary["total"]) == bill.total


def test_api_bill_lines_sum_to_total(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)
    stored = [
        tuple(row)
        for row in session.execute(
            select(BillLine.line_number, BillLine.code, BillLine.amount)
            .where(BillLine.bill_id == bill.id)
            .order_by(BillLine.line_number)
        )
    ]
    stored_sum = sum((amount for _, _, amount in stored), Decimal("0.00"))

    response = client.get(f"/api/accounts/{number}/bills/{bill.id}")

    assert response.status_code == 200
    body = response.json()
    returned = [
        (line["line_number"], line["code"], Decimal(line["amount"])) for line in body["lines"]
    ]
    assert returned == stored
    assert Decimal(body["total"]) == stored_sum
    assert sum((amount for _, _, amount in returned), Decimal("0.00")) == Decimal(body["total"])


def test_api_ledger_matches_bill(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)

    response = client.get(f"/api/accounts/{number}/ledger")

    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 1
    assert rows[0]["entry_id"] == bill.journal_entry_id
    assert rows[0]["effective_date"] == bill.bill_date.isoformat()
    assert rows[0]["kind"] == "bill"
    assert Decimal(rows[0]["amount"]) == bill.total
    assert Decimal(rows[0]["balance"]) == bill.total


def test_api_figures_agree_across_endpoints(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["move-in"]
    bill = stored_bill(session, number)

    account = client.get(f"/api/accounts/{number}").json()
    listed = client.get(f"/api/accounts/{number}/bills").json()
    detail = client.get(f"/api/accounts/{number}/bills/{bill.id}").json()
    ledger = client.get(f"/api/accounts/{number}/ledger").json()

    assert Decimal(listed[0]["total"]) == Decimal(detail["total"])
    assert Decimal(detail["total"]) == Decimal(ledger[-1]["balance"])
    assert Decimal(ledger[-1]["balance"]) == Decimal(account["balance"])
    assert Decimal(account["balance"]) == bill.total


def test_api_bill_of_other_account_404(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    other_bill = stored_bill(session, billed_city.special_cases["move-in"])

    response = client.get(f"/api/accounts/{number}/bills/{other_bill.id}")

    assert response.status_code == 404
    assert response.json()["code"] == "bill_not_found"
    assert str(other_bill.id) in response.json()["message"]


def test_api_unknown_account_404(client: TestClient, billed_city: BilledCity) -> None:
    response = client.get(f"/api/accounts/{UNKNOWN_ACCOUNT}")

    assert response.status_code == 404
    assert response.json() == {
        "code": "account_not_found",
        "message": f"account {UNKNOWN_ACCOUNT} not found",
    }


def test_api_mistyped_check_digit_422(client: TestClient, billed_city: BilledCity) -> None:
    number = billed_city.special_cases["changeout"]
    mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)

    response = client.get(f"/api/accounts/{mistyped}/bills")

    assert response.status_code == 422
    assert response.json()["code"] == "account_number_check_digit"
    assert "fails its check digit" in response.json()["message"]


def test_api_search_finds_account(client: TestClient, billed_city: BilledCity) -> None:
    number = billed_city.special_cases["changeout"]

    response = client.get("/api/accounts", params={"q": number})

    assert response.status_code == 200
    assert [account["number"] for account in response.json()] == [number]
