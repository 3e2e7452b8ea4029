"""Staff pages through TestClient: health, docs, search, account, bill, ledger, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Customer
from app.billing.models import BillLine
from app.meters.models import Meter, MeterInstallation, Read, Register
from app.premises.models import Premise, ServiceAgreement
from tests.cli.test_cli_commands import HEAD
from tests.web.support import (
    BilledCity,
    dollars,
    html_tables,
    stored_bill,
    table_after_heading,
)

# Base 10000900 with its Luhn check digit, worked by hand. Doubling every second digit
# from the right gives 0 + 9 (from 18) + 0 + 0, the other digits add 1, so the sum is 10
# and the check digit is 0. The demo city uses only a few dozen numbers above 100000017.
UNKNOWN_ACCOUNT = "100009000"


def _stored_line_amounts(session: Session, bill_id: int) -> list[Decimal]:
    return list(
        session.scalars(
            select(BillLine.amount)
            .where(BillLine.bill_id == bill_id)
            .order_by(BillLine.line_number)
        )
    )


def _premise_of(session: Session, number: str) -> Premise:
    return session.scalars(
        select(Premise)
        .join(ServiceAgreement, ServiceAgreement.premise_id == Premise.id)
        .join(Account, Account.id == ServiceAgreement.account_id)
        .where(Account.number == number)
        .distinct()
    ).one()


def _search_numbers(client: TestClient, query: str) -> list[str]:
    response = client.get("/accounts", params={"q": query})
    assert response.status_code == 200
    tables = html_tables(response.text)
    if not tables:
        return []
    return [row[0] for row in tables[0][1:]]


def test_health_reports_database_and_revision(client: TestClient, db_url: str) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    expected_dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    assert body["database"] == expected_dialect
    assert body["schema_revision"] == HEAD


def test_docs_and_openapi_served(client: TestClient) -> None:
    docs = client.get("/docs")
    schema = client.get("/openapi.json")

    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/health" in paths
    assert "/api/accounts/{number}" in paths
    assert "/api/accounts/{number}/bills/{bill_id}" in paths
    assert "/api/accounts/{number}/ledger" in paths


def test_search_by_account_number(client: TestClient, billed_city: BilledCity) -> None:
    number = billed_city.special_cases["changeout"]

    assert _search_numbers(client, number) == [number]


def test_search_by_name_fragment(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    name = session.scalars(
        select(Customer.name)
        .join(Account, Account.customer_id == Customer.id)
        .where(Account.number == number)
    ).one()
    # The tail of the last name in capitals: a fragment, in the wrong case on purpose.
    fragment = name.split()[-1][1:].upper()

    assert len(fragment) >= 2
    assert number in _search_numbers(client, fragment)


def test_search_by_street(client: TestClient, billed_city: BilledCity, session: Session) -> None:
    number = billed_city.special_cases["changeout"]
    street = _premise_of(session, number).address.split(" ", 1)[1]
    same_street = set(
        session.scalars(
            select(Account.number)
            .join(ServiceAgreement, ServiceAgreement.account_id == Account.id)
            .join(Premise, Premise.id == ServiceAgreement.premise_id)
            .where(Premise.address.like(f"% {street}"))
        )
    )

    found = _search_numbers(client, street)

    assert number in found
    assert same_street <= set(found)


def test_search_too_short_shows_error(client: TestClient) -> None:
    response = client.get("/accounts", params={"q": " x "})

    assert response.status_code == 200
    assert 'class="error"' in response.text
    assert "too short" in response.text
    assert "at least two characters" in response.text
    assert html_tables(response.text) == []


def test_account_page_services_bills_balance(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)
    premise = _premise_of(session, number)

    response = client.get(f"/accounts/{number}")

    assert response.status_code == 200
    services = table_after_heading(response.text, "Services")[1:]
    assert sorted(row[0] for row in services) == ["sewer", "trash", "water"]
    tariffs = {"water": "W-RES", "sewer": "S-RES", "trash": "T-RES"}
    for row in services:
        assert row[1].startswith(tariffs[row[0]] + ":")
        assert row[2].startswith(premise.address)
        assert row[3] == premise.route
    bills = table_after_heading(response.text, "Bills")[1:]
    assert len(bills) == 1
    assert bills[0][0] == "2026-11-01 to 2026-11-30"
    assert bills[0][3] == dollars(bill.total)
    assert f'href="/accounts/{number}/bills/{bill.id}"' in response.text
    # No payments are posted, so the balance is the one bill's total.
    assert f'<span data-testid="balance">{dollars(bill.total)}</span>' in response.text


def test_bill_page_lines_and_total(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["move-in"]
    bill = stored_bill(session, number)
    stored_lines = list(
        session.scalars(
            select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.line_number)
        )
    )
    stored_sum = sum(_stored_line_amounts(session, bill.id), Decimal("0.00"))

    response = client.get(f"/accounts/{number}/bills/{bill.id}")

    assert response.status_code == 200
    charges = table_after_heading(response.text, "Charges")
    line_rows, total_row = charges[1:-1], charges[-1]
    assert len(stored_lines) >= 3
    assert len(line_rows) == len(stored_lines)
    for row, line in zip(line_rows, stored_lines, strict=True):
        assert row[0] == line.service
        assert row[1].startswith(line.description)
        assert row[3] == dollars(line.amount)
    assert total_row == ["Total", dollars(stored_sum)]
    assert bill.total == stored_sum


def test_changeout_bill_shows_two_segments(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)
    premise = _premise_of(session, number)
    installations = session.execute(
        select(Meter.serial, MeterInstallation.installed_on, MeterInstallation.removed_on)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .where(MeterInstallation.premise_id == premise.id, Meter.service == "water")
        .order_by(MeterInstallation.installed_on)
    ).all()
    (old_serial, _, changeout_day), (new_serial, new_installed, _) = installations

    def gallons_read(serial: str, day: dt.date) -> Decimal:
        return session.scalars(
            select(Read.value)
            .join(Register, Register.id == Read.register_id)
            .join(Meter, Meter.id == Register.meter_id)
            .where(Meter.serial == serial, Read.read_date == day)
        ).one()

    period = billed_city.period
    old_use = gallons_read(old_serial, changeout_day) - gallons_read(old_serial, period.start)
    new_use = gallons_read(new_serial, period.end) - gallons_read(new_serial, new_installed)

    response = client.get(f"/accounts/{number}/bills/{bill.id}")

    assert response.status_code == 200
    assert changeout_day == new_installed
    segments = table_after_heading(response.text, "Meter reads")[1:]
    assert len(segments) == 2
    first, second = segments
    assert first[0] == old_serial
    assert first[1] == period.start.isoformat()
    assert first[3] == changeout_day.isoformat()
    assert first[5] == f"{old_use:,.0f} gal"
    assert second[0] == new_serial
    assert second[1] == changeout_day.isoformat()
    assert second[3] == period.end.isoformat()
    assert second[5] == f"{new_use:,.0f} gal"


def test_ledger_page_bill_entry_balance(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)

    response = client.get(f"/accounts/{number}/ledger")

    assert response.status_code == 200
    rows = html_tables(response.text)[0][1:]
    assert len(rows) == 1
    date, entry, kind, _memo, amount, balance = rows[0]
    assert date == bill.bill_date.isoformat()
    assert entry == str(bill.journal_entry_id)
    assert kind == "bill"
    assert amount == dollars(bill.total)
    assert balance == dollars(bill.total)


def test_unknown_account_page_404(client: TestClient, billed_city: BilledCity) -> None:
    response = client.get(f"/accounts/{UNKNOWN_ACCOUNT}")

    assert response.status_code == 404
    assert f"account {UNKNOWN_ACCOUNT} not found" in response.text
    assert "account_not_found" in response.text


def test_mistyped_check_digit_page_422(client: TestClient, billed_city: BilledCity) -> None:
    number = billed_city.special_cases["changeout"]
    mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)

    response = client.get(f"/accounts/{mistyped}")

    assert response.status_code == 422
    assert "fails its check digit" in response.text
    assert "account_number_check_digit" in response.text


def test_bill_of_other_account_page_404(
    client: TestClient, billed_city: BilledCity, session: Session
) -> None:
    number = billed_city.special_cases["changeout"]
    other_bill = stored_bill(session, billed_city.special_cases["move-in"])

    response = client.get(f"/accounts/{number}/bills/{other_bill.id}")

    assert response.status_code == 404
    assert f"bill {other_bill.id} not found on account {number}" in response.text
