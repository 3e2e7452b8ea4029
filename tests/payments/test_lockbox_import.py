"""Lockbox, BAI2 and payment CSV imports: matching, suspense, re-imports and bad lines."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.ledger.chart import SUSPENSE, ensure_chart
from app.ledger.models import Posting
from app.ledger.service import account_balance
from app.payments.bankfiles.lockbox_import import import_payment_file
from app.payments.bankfiles.models import BankFile, BankFileError, SuspenseItem, SuspenseStatus
from app.payments.models import Payment, PaymentChannel
from app.payments.remittance.scanline import format_scan_line
from app.payments.suspense import resolve_to_account
from tests.app.factories import City
from tests.payments.helpers import assert_ledger_invariants, issue_bill

DATA = Path(__file__).parent.parent / "data" / "payments"


def three_accounts(session: Session) -> list[tuple[str, int, str]]:
    """Accounts owing 88.12, 100.01 and 45.65; return (number, id, scan line)."""
    city = City(session)
    made = []
    for name, total in (("Ana Ruiz", "88.12"), ("Bo Chen", "100.01"), ("Cy Park", "45.65")):
        account, _ = city.account(name)
        bill = issue_bill(session, city, account, total)
        made.append((account.number, account.id,
                     format_scan_line(account.number, bill.id, Decimal(total))))
    return made


def csv_file(accounts: list[tuple[str, int, str]]) -> bytes:
    (first, _, _), (second, _, _), (_, _, third_scan) = accounts
    lines = [
        "account_number,scan_line,amount,paid_on,check_number,payer_name",
        f"{first},,88.12,2026-12-03,1180,Ana Ruiz",
        f"{second},,50.00,2026-12-03,2211,Bo Chen",
        f",{third_scan},45.65,2026-12-03,3020,Cy Park",
        "999999999,,12.00,2026-12-03,4001,Nobody Known",
        f"{first},,12.345,2026-12-03,5000,Ana Ruiz",
        f"{second},,60.00,2026-12-03,2212,Bo Chen",
    ]
    return ("\n".join(lines) + "\n").encode()


def test_csv_posts_matches_and_queues_rest(session: Session) -> None:
    accounts = three_accounts(session)
    report = import_payment_file(session, filename="day.csv", content=csv_file(accounts),
                                 actor="clerk")
    assert report.format == "csv"
    assert report.posted == 4
    assert report.posted_total == Decimal("243.77")
    assert report.suspense == 1
    assert report.suspense_total == Decimal("12.00")
    assert len(report.errors) == 1
    assert report.errors[0].startswith("line 6:")
    balances = [account_balance(session, account_id) for _, account_id, _ in accounts]
    # 88.12 paid in full; 100.01 - 50.00 - 60.00 leaves a 9.99 credit; 45.65 paid by scan line.
    assert balances == [Decimal("0.00"), Decimal("-9.99"), Decimal("0.00")]
    second_payments = session.scalars(
        select(Payment).where(Payment.account_id == accounts[1][1]).order_by(Payment.id)
    ).all()
    assert [p.credit_on_account for p in second_payments] == [Decimal("0.00"), Decimal("9.99")]
    assert all(p.channel == PaymentChannel.LOCKBOX for p in second_payments)
    [error] = session.scalars(select(BankFileError)).all()
    assert error.line_number == 6
    assert not session.scalars(select(Payment).where(Payment.method_label == "check 5000")).all()
    [item] = session.scalars(select(SuspenseItem)).all()
    assert (item.line_number, item.amount, item.payer_name) == (5, Decimal("12.00"),
                                                               "Nobody Known")
    assert_ledger_invariants(session)


def test_reimport_posts_nothing(session: Session) -> None:
    accounts = three_accounts(session)
    content = csv_file(accounts)
    import_payment_file(session, filename="day.csv", content=content, actor="clerk")
    again = import_payment_file(session, filename="day-copy.csv", content=content, actor="clerk")
    assert again.duplicate
    assert again.posted == 0
    assert session.scalar(select(func.count()).select_from(Payment)) == 4
    assert session.scalar(select(func.count()).select_from(SuspenseItem)) == 1


def test_concurrent_imports_post_once(
    session_factory: sessionmaker[Session], db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent claims are a PostgreSQL matter; SQLite serializes writers")
    with session_factory() as session:
        content = csv_file(three_accounts(session))
        session.commit()
    barrier = threading.Barrier(2)
    reports = []

    def run() -> None:
        barrier.wait()
        with session_factory() as session, session.begin():
            reports.append(import_payment_file(session, filename="day.csv", content=content,
                                               actor="clerk"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(report.duplicate for report in reports) == [False, True]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 4
        assert session.scalar(select(func.count()).select_from(BankFile)) == 1
        assert_ledger_invariants(session)


def test_suspense_resolved_to_account(session: Session) -> None:
    accounts = three_accounts(session)
    import_payment_file(session, filename="day.csv", content=csv_file(accounts), actor="clerk")
    [item] = session.scalars(select(SuspenseItem)).all()
    payment = resolve_to_account(session, item.id, account_id=accounts[0][1], actor="clerk:amy",
                                 note="customer called; wrote old account number")
    assert payment.amount == Decimal("12.00")
    assert payment.method_label == "check 4001"
    assert item.status == SuspenseStatus.RESOLVED
    assert account_balance(session, accounts[0][1]) == Decimal("-12.00")
    chart = ensure_chart(session)
    suspense_total = session.scalar(
        select(func.sum(Posting.amount)).where(Posting.ledger_account_id == chart[SUSPENSE])
    )
    assert suspense_total == Decimal("0.00")
    assert_ledger_invariants(session)


def test_bank_lockbox_file_unmatched_goes_to_suspense(session: Session) -> None:
    content = (DATA / "lockbox" / "fundersclub-bai-lockbox_test_lockbox.bai").read_bytes()
    report = import_payment_file(session, filename="lockbox.bai", content=content, actor="bank")
    assert report.format == "lockbox"
    assert report.posted == 0
    assert report.suspense == 1
    assert report.suspense_total == Decimal("7000.00")
    [item] = session.scalars(select(SuspenseItem)).all()
    assert item.payer_name == "BOB E SMITH"
    assert_ledger_invariants(session)


def test_bai2_lockbox_deposit_total_not_posted(session: Session) -> None:
    name = "moov-bai2_sample2_spec-example_lockbox-115_continuations.bai2"
    content = (DATA / "bai2" / name).read_bytes()
    report = import_payment_file(session, filename=name, content=content, actor="bank")
    assert report.format == "bai2"
    assert report.deposit_totals >= 1
    assert_ledger_invariants(session)


def test_unknown_format_is_rejected(session: Session) -> None:
    report = import_payment_file(session, filename="notes.txt", content=b"hello\n", actor="c")
    assert report.bank_file_id is None
    assert "not a lockbox, BAI2 or payment CSV file" in report.errors[0]
    assert session.scalar(select(func.count()).select_from(BankFile)) == 0


def test_payment_without_stub_goes_to_suspense(session: Session) -> None:
    content = b"account_number,scan_line,amount,paid_on,check_number\n,,18.00,2026-12-03,77\n"
    report = import_payment_file(session, filename="nostub.csv", content=content, actor="c")
    assert report.errors == []
    assert report.suspense == 1
    [item] = session.scalars(select(SuspenseItem)).all()
    assert item.reason == "no account number or scan line on the payment"
    assert item.amount == Decimal("18.00")


def test_long_free_text_is_kept_short(session: Session) -> None:
    long_check = "9" * 90
    long_payer = "P" * 200
    content = (
        "account_number,amount,paid_on,check_number,payer_name\n"
        f"999999999,5.00,2026-12-03,{long_check},{long_payer}\n"
    ).encode()
    report = import_payment_file(session, filename="long.csv", content=content, actor="c")
    assert report.suspense == 1
    [item] = session.scalars(select(SuspenseItem)).all()
    assert item.payer_name == "P" * 120


def test_stored_file_is_sealed(session: Session) -> None:
    from app.payments.drafts import vault

    accounts = three_accounts(session)
    content = csv_file(accounts)
    import_payment_file(session, filename="day.csv", content=content, actor="clerk")
    [stored] = session.scalars(select(BankFile)).all()
    assert stored.content != content
    assert accounts[0][0].encode() not in stored.content
    assert vault.open_bytes(stored.content) == content


def test_nacha_file_points_to_returns(session: Session) -> None:
    content = (DATA / "nacha" / "moov-ach_return-WEB_R01-R03.ach").read_bytes()
    report = import_payment_file(session, filename="ret.ach", content=content, actor="c")
    assert report.bank_file_id is None
    assert "upm payments returns" in report.errors[0]
