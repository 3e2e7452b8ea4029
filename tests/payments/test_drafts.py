"""Bank drafts: NACHA origination, returns that reverse and stop drafting, change notices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import achkit
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.demo.bank_files import Returned, return_file
from app.errors import InvalidInput
from app.ledger.models import EntryKind, JournalEntry
from app.ledger.service import account_balance
from app.payments import channels
from app.payments.ach.reader import read_ach
from app.payments.ach.validate import validate_ach
from app.payments.autopay.models import AutopayEnrollment, EnrollmentStatus
from app.payments.bankfiles.models import SuspenseItem, SuspenseKind
from app.payments.drafts import vault
from app.payments.drafts.accounts import add_bank_account
from app.payments.drafts.models import BankAccount, BankAccountStatus, BankAccountType
from app.payments.drafts.originate import draft_file_bytes, generate_draft_file
from app.payments.drafts.returns import import_returns
from app.payments.models import NoticeKind, Payment, PaymentChannel, PaymentNotice, PaymentStatus
from app.payments.owed import amount_owed
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.helpers import assert_ledger_invariants, entries_of, issue_bill

DUE = dt.date(2026, 12, 10)
DRAFT_DAY = dt.date(2026, 12, 9)
#: Real routing numbers with valid ABA check digits, one per customer.
BANKS = ("011000015", "021000021", "071000013")


@pytest.fixture(autouse=True)
def bank_key(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_BANK_DATA_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()


def enroll_three(session: Session) -> list[int]:
    """Three bank-draft accounts owing 88.12, 100.01 and 45.65 due on DUE."""
    city = City(session)
    ids = []
    for index, total in enumerate(("88.12", "100.01", "45.65")):
        account, _ = city.account(f"Drafter {index}")
        issue_bill(session, city, account, total, due_date=DUE)
        bank = add_bank_account(
            session, account_id=account.id, holder_name=f"Drafter {index}",
            routing=BANKS[index], number=f"12345678{index}", account_type=BankAccountType.CHECKING,
            authorization_ref=f"signed form {index}",
            authorized_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), actor="clerk",
        )
        channels.enroll_autopay(session, account_id=account.id, channel=PaymentChannel.COUNTER,
                                idempotency_key=f"enroll-{index}", actor="clerk",
                                bank_account_id=bank.id)
        ids.append(account.id)
    return ids


def test_bank_numbers_are_encrypted(session: Session) -> None:
    enroll_three(session)
    bank = session.scalars(select(BankAccount)).first()
    assert bank is not None
    assert "12345678" not in bank.numbers_encrypted
    assert "011000015" not in bank.numbers_encrypted
    assert vault.open_bank_numbers(bank.numbers_encrypted) == ("011000015", "123456780")
    assert bank.label == "checking account ending 6780"


def test_invalid_routing_number_is_rejected(session: Session) -> None:
    account, _ = City(session).account()
    with pytest.raises(InvalidInput, match="ABA check digit"):
        add_bank_account(session, account_id=account.id, holder_name="X", routing="011000016",
                         number="1234", account_type=BankAccountType.CHECKING,
                         authorization_ref="form", authorized_at=dt.datetime.now(dt.UTC),
                         actor="clerk")


def test_draft_file_matches_independent_parser(session: Session) -> None:
    enroll_three(session)
    draft_file = generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    assert draft_file is not None
    assert draft_file.effective_date == DUE
    assert draft_file.entry_count == 3
    assert draft_file.debit_total == Decimal("233.78")
    assert draft_file_bytes(draft_file) != draft_file.content  # stored sealed
    text = draft_file_bytes(draft_file).decode()
    # Entry hash: the sum of the first eight digits of each routing number.
    expected_hash = 1100001 + 2100002 + 7100001
    report = achkit.validate(text)
    assert report["ok"], report["errors"]
    parsed = achkit.parse(text)
    assert [e["amount_cents"] for batch in parsed["batches"] for e in batch["entries"]] == [
        8812, 10001, 4565,
    ]
    ours = read_ach(draft_file_bytes(draft_file))
    assert validate_ach(ours) == []
    [batch] = ours.batches
    assert batch.control.entry_hash == expected_hash
    assert batch.control.debit_total_cents == 8812 + 10001 + 4565
    assert [entry.amount_cents for entry in batch.entries] == [8812, 10001, 4565]
    assert [entry.transaction_code for entry in batch.entries] == [27, 27, 27]
    assert len(text.splitlines()) % 10 == 0


def test_same_day_twice_drafts_once(session: Session) -> None:
    ids = enroll_three(session)
    first = generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    second = generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    assert first is not None
    assert second is not None
    assert first.id == second.id
    assert session.scalar(select(func.count()).select_from(Payment)) == 3
    assert [account_balance(session, i) for i in ids] == [Decimal("0.00")] * 3
    assert_ledger_invariants(session)


def test_returns_reverse_fee_and_stop_drafting(session: Session) -> None:
    ids = enroll_three(session)
    generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    drafts = session.scalars(select(Payment).order_by(Payment.id)).all()
    traces = [payment.external_ref for payment in drafts]
    assert all(trace and trace.startswith("07100030") for trace in traces)

    day2 = return_file([Returned(str(traces[1]), 10001, "R01")])
    report = import_returns(session, filename="ret1.ach", content=day2.encode(), actor="bank")
    assert report.returned == 1
    returned = session.get(Payment, drafts[1].id)
    assert returned is not None
    assert returned.status == PaymentStatus.RETURNED
    assert [c.to_status for c in returned.history][-2:] == [
        PaymentStatus.SUCCEEDED, PaymentStatus.RETURNED,
    ]
    reversal = session.get(JournalEntry, returned.reversal_entry_id)
    assert reversal is not None
    # Never dated before the draft's settlement, so the ledger's running balance reads right.
    assert reversal.effective_date == max(get_settings().today(), DUE)
    # 100.01 owed again with its original due date, plus the 25.00 returned-payment fee.
    owed = amount_owed(session, ids[1], today=DUE + dt.timedelta(days=2))
    assert owed.balance == Decimal("125.01")
    [bill_charge] = [c for c in owed.application.open_charges if c.charge.bill_id is not None]
    assert bill_charge.charge.due_date == DUE
    assert bill_charge.open == Decimal("100.01")
    assert owed.past_due == Decimal("125.01")
    again = import_returns(session, filename="ret1-again.ach", content=day2.encode(),
                           actor="bank")
    assert again.duplicate

    day9 = return_file([Returned(str(traces[2]), 4565, "R10")])
    import_returns(session, filename="ret2.ach", content=day9.encode(), actor="bank")
    bank = session.scalars(select(BankAccount).where(BankAccount.account_id == ids[2])).one()
    assert bank.status == BankAccountStatus.SUSPENDED
    enrollment = session.scalars(
        select(AutopayEnrollment).where(AutopayEnrollment.account_id == ids[2])
    ).one()
    assert enrollment.status == EnrollmentStatus.SUSPENDED
    kinds = session.scalars(select(PaymentNotice.kind)).all()
    assert kinds.count(NoticeKind.PAYMENT_RETURNED) == 2
    assert kinds.count(NoticeKind.AUTOPAY_SUSPENDED) == 1
    assert len(entries_of(session, EntryKind.FEE)) == 2
    assert_ledger_invariants(session)

    # The R01 draft is presented once more ("RETRY PYMT"); the R10 account is not drafted.
    retry_file = generate_draft_file(session, draft_date=DRAFT_DAY + dt.timedelta(days=2),
                                     actor="job")
    assert retry_file is not None
    assert retry_file.entry_count == 1
    assert retry_file.debit_total == Decimal("100.01")
    assert "RETRY PYMT" in draft_file_bytes(retry_file).decode()
    retry = session.scalars(select(Payment).where(Payment.represents_payment_id.is_not(None))).one()
    assert retry.account_id == ids[1]
    retry_return = return_file([Returned(str(retry.external_ref), 10001, "R01")])
    import_returns(session, filename="ret3.ach", content=retry_return.encode(), actor="bank")
    later = generate_draft_file(session, draft_date=DRAFT_DAY + dt.timedelta(days=5),
                                actor="job")
    assert later is None
    assert_ledger_invariants(session)


def test_unknown_trace_goes_to_review(session: Session) -> None:
    content = return_file([Returned("071000309999999", 5000, "R01")])
    report = import_returns(session, filename="ret.ach", content=content.encode(), actor="bank")
    assert report.suspense == 1
    [item] = session.scalars(select(SuspenseItem)).all()
    assert item.kind == SuspenseKind.UNMATCHED_RETURN
    assert item.reference == "071000309999999"
    assert item.journal_entry_id is None


def test_change_notice_updates_account_number(session: Session) -> None:
    ids = enroll_three(session)
    generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    first = session.scalars(select(Payment).order_by(Payment.id)).first()
    assert first is not None
    notice = return_file([Returned(str(first.external_ref), 0, "C01",
                                   corrected_data="1918171614")])
    report = import_returns(session, filename="noc.ach", content=notice.encode(), actor="bank")
    assert report.changes == 1
    bank = session.scalars(select(BankAccount).where(BankAccount.account_id == ids[0])).one()
    assert vault.open_bank_numbers(bank.numbers_encrypted) == ("011000015", "1918171614")
    assert bank.number_last4 == "1614"
    assert session.get(Payment, first.id).status == PaymentStatus.SUCCEEDED  # type: ignore[union-attr]
    assert_ledger_invariants(session)


def test_sample_returns_file_parses_to_its_codes(session: Session) -> None:
    from pathlib import Path

    sample = Path(__file__).parent.parent / "data" / "payments" / "nacha" / (
        "moov-ach_issue702_fiserv-returns_R01-R03-R04_crlf.ach")
    report = import_returns(session, filename=sample.name, content=sample.read_bytes(),
                            actor="bank")
    # None of its traces are ours, so every return waits for review; nothing is lost.
    assert report.suspense == 3
    codes = sorted(i.detail["return_code"] for i in session.scalars(select(SuspenseItem)))
    assert codes == ["R01", "R03", "R04"]


def test_paid_after_return_not_presented_again(session: Session) -> None:
    from app.payments.models import PaymentMethod
    from app.payments.service import create_payment

    ids = enroll_three(session)
    generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    drafts = session.scalars(select(Payment).order_by(Payment.id)).all()
    day2 = return_file([Returned(str(drafts[1].external_ref), 10001, "R01")])
    import_returns(session, filename="ret1.ach", content=day2.encode(), actor="bank")
    # The customer pays the returned 100.01 and the 25.00 fee at the counter.
    create_payment(session, account_id=ids[1], amount=Decimal("125.01"),
                   channel=PaymentChannel.COUNTER, method=PaymentMethod.CASH,
                   provider="counter", idempotency_key="paid-after-return", taken_by="clerk",
                   received_on=DUE, status=PaymentStatus.SUCCEEDED)
    retry = generate_draft_file(session, draft_date=DRAFT_DAY + dt.timedelta(days=2),
                                actor="job")
    assert retry is None
    assert account_balance(session, ids[1]) == Decimal("0.00")
    assert_ledger_invariants(session)


def test_same_notices_in_new_file_act_once(session: Session) -> None:
    enroll_three(session)
    generate_draft_file(session, draft_date=DRAFT_DAY, actor="job")
    first = session.scalars(select(Payment).order_by(Payment.id)).first()
    assert first is not None
    entries = [Returned(str(first.external_ref), 0, "C01", corrected_data="1918171614"),
               Returned("071000309999999", 500, "R01")]
    import_returns(session, filename="a.ach", content=return_file(entries).encode(),
                   actor="bank")
    # The bank sends the same entries again, in a file with another header time.
    again = return_file(entries).replace("261212", "261213", 1)
    report = import_returns(session, filename="b.ach", content=again.encode(), actor="bank")
    assert not report.duplicate
    assert report.changes == 0
    assert report.suspense == 0
    assert report.already_applied == 2
    changed = session.scalars(
        select(PaymentNotice).where(PaymentNotice.kind == NoticeKind.BANK_DETAILS_CHANGED)
    ).all()
    assert len(changed) == 1
    assert len(session.scalars(select(SuspenseItem)).all()) == 1


@pytest.mark.parametrize(
    ("draft_day", "settles"),
    [
        (dt.date(2026, 12, 9), dt.date(2026, 12, 10)),  # Wednesday to Thursday
        (dt.date(2026, 12, 11), dt.date(2026, 12, 14)),  # Friday to Monday
        (dt.date(2026, 12, 24), dt.date(2026, 12, 28)),  # Christmas and a weekend
        (dt.date(2026, 11, 25), dt.date(2026, 11, 27)),  # over Thanksgiving
        (dt.date(2026, 12, 12), dt.date(2026, 12, 14)),  # Saturday: the next banking day
    ],
)
def test_settlement_skips_weekends_and_holidays(draft_day: dt.date, settles: dt.date) -> None:
    from app.payments.drafts.originate import effective_date_for

    assert effective_date_for(draft_day, 1) == settles
