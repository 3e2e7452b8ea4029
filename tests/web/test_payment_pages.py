"""Staff payment pages: an account's payments, the suspense queue, bank files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.ledger.service import account_balance
from app.main import create_app
from app.payments import channels
from app.payments.bankfiles.lockbox_import import import_payment_file
from app.payments.drafts.accounts import add_bank_account
from app.payments.drafts.models import BankAccountType
from app.payments.models import PaymentChannel
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.helpers import issue_bill


@pytest.fixture
def city(session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
         ) -> dict[str, str]:
    """One account that paid part by lockbox and drafts from a bank; one unmatched check."""
    monkeypatch.setenv("UPM_BANK_DATA_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    with session_factory() as session:
        builder = City(session)
        account, _ = builder.account("Lu Vega")
        issue_bill(session, builder, account, "88.12")
        bank = add_bank_account(
            session, account_id=account.id, holder_name="Lu Vega", routing="021000021",
            number="987654321", account_type=BankAccountType.CHECKING,
            authorization_ref="form 1", authorized_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            actor="clerk",
        )
        channels.enroll_autopay(session, account_id=account.id, channel=PaymentChannel.COUNTER,
                                idempotency_key="enroll", actor="clerk", bank_account_id=bank.id)
        content = (
            "account_number,amount,paid_on,check_number,payer_name\n"
            f"{account.number},50.00,2026-12-02,1180,Lu Vega\n"
            "200000015,30.00,2026-12-02,1181,Lu Vega\n"
            f"{account.number},5.5.5,2026-12-02,1182,Lu Vega\n"
        ).encode()
        import_payment_file(session, filename="day.csv", content=content, actor="bank")
        session.commit()
        return {"number": account.number, "id": str(account.id)}


@pytest.fixture
def client(city: dict[str, str]) -> TestClient:
    return TestClient(create_app())


def test_account_payments_page(client: TestClient, city: dict[str, str]) -> None:
    page = client.get(f"/accounts/{city['number']}/payments")
    assert page.status_code == 200
    assert "38.12" in page.text  # 88.12 billed less the 50.00 check
    assert "check 1180" in page.text
    assert "checking account ending 4321" in page.text
    assert "987654321" not in page.text
    assert "bank draft since" in page.text


def test_suspense_resolved_from_page(
    client: TestClient, city: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    queue = client.get("/payments/suspense")
    assert "200000015" in queue.text
    item_id = queue.text.split('action="/payments/suspense/')[1].split('"')[0]
    wrong = client.post(f"/payments/suspense/{item_id}",
                        data={"account_number": "100000018", "note": ""})
    assert wrong.status_code == 200
    assert "check digit" in wrong.text
    done = client.post(f"/payments/suspense/{item_id}",
                       data={"account_number": city["number"], "note": "typo on check"})
    assert done.status_code == 200
    assert "posted as payment" in done.text
    assert "The suspense queue is empty." in done.text
    with session_factory() as session:
        assert account_balance(session, int(city["id"])) == Decimal("8.12")


def test_files_page_lists_rejected_line(client: TestClient) -> None:
    page = client.get("/payments/files")
    assert page.status_code == 200
    assert "day.csv" in page.text
    assert "csv_invalid_amount" in page.text


def test_unmatched_return_closed_with_note(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    from app.demo.bank_files import Returned, return_file
    from app.payments.bankfiles.models import SuspenseItem, SuspenseKind, SuspenseStatus
    from app.payments.drafts.returns import import_returns

    with session_factory() as session:
        import_returns(session, filename="r.ach", actor="bank",
                       content=return_file([Returned("071000309999999", 500, "R01")]).encode())
        session.commit()
        item_id = session.scalars(
            select(SuspenseItem.id).where(SuspenseItem.kind == SuspenseKind.UNMATCHED_RETURN)
        ).one()
    page = client.get("/payments/suspense")
    assert "trace 071000309999999" in page.text
    blank = client.post(f"/payments/suspense/{item_id}/close", data={"note": "   "})
    assert "a note is required" in blank.text
    closed = client.post(f"/payments/suspense/{item_id}/close",
                         data={"note": "bank says it was another biller's draft"})
    assert closed.status_code == 200
    assert f"item {item_id} closed" in closed.text
    with session_factory() as session:
        item = session.get(SuspenseItem, item_id)
        assert item is not None
        assert item.status == SuspenseStatus.RESOLVED
        assert item.resolution_note == "bank says it was another biller's draft"


def test_access_log_hides_link_tokens() -> None:
    import logging

    create_app()
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/pay/Secr3tToken/done", "1.1", 200),
                               None)
    for log_filter in logging.getLogger("uvicorn.access").filters:
        log_filter.filter(record)  # type: ignore[union-attr]
    assert "Secr3tToken" not in record.getMessage()
    assert "/pay/…/done" in record.getMessage()
