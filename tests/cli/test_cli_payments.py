"""``upm payments``: bank files, drafts, returns, the suspense queue and the bank key."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEvent
from app.demo.bank_files import Returned, return_file
from app.ledger.service import account_balance
from app.payments import channels
from app.payments.bankfiles.models import BankFile, SuspenseItem
from app.payments.drafts.accounts import add_bank_account
from app.payments.drafts.models import BankAccountType
from app.payments.models import Payment, PaymentChannel, PaymentStatus
from app.settings import get_settings
from tests.app.factories import City
from tests.cli.support import flat
from tests.payments.helpers import assert_ledger_invariants, issue_bill

Upm = Callable[..., Result]
DUE = dt.date(2026, 12, 10)


@pytest.fixture
def key_file(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "bank-data.key"
    monkeypatch.setenv("UPM_BANK_DATA_KEY_FILE", str(path))
    monkeypatch.delenv("UPM_BANK_DATA_KEY", raising=False)
    get_settings.cache_clear()
    return path


@pytest.fixture
def accounts(session_factory: sessionmaker[Session], upm: Upm, key_file: Path) -> list[str]:
    """Two accounts owing 88.12 and 45.65 due DUE; the second drafts from a bank."""
    assert upm("payments", "bank-key").exit_code == 0
    with session_factory() as session:
        city = City(session)
        first, _ = city.account("Ana Ruiz")
        issue_bill(session, city, first, "88.12", due_date=DUE)
        second, _ = city.account("Bo Chen")
        issue_bill(session, city, second, "45.65", due_date=DUE)
        bank = add_bank_account(
            session, account_id=second.id, holder_name="Bo Chen", routing="021000021",
            number="555123456", account_type=BankAccountType.CHECKING,
            authorization_ref="form", authorized_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            actor="clerk",
        )
        channels.enroll_autopay(session, account_id=second.id, channel=PaymentChannel.COUNTER,
                                idempotency_key="enroll", actor="clerk", bank_account_id=bank.id)
        session.commit()
        return [first.number, second.number]


def test_bank_key_created_once(upm: Upm, key_file: Path) -> None:
    first = upm("payments", "bank-key")
    assert first.exit_code == 0
    assert "wrote a new key" in flat(first.output)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key = key_file.read_text()
    second = upm("payments", "bank-key")
    assert "left unchanged" in flat(second.output)
    assert key_file.read_text() == key


def test_import_file_and_resolve_suspense(
    upm: Upm, accounts: list[str], tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    day = tmp_path / "lockbox.csv"
    day.write_text(
        "account_number,amount,paid_on,check_number\n"
        f"{accounts[0]},88.12,2026-12-03,1180\n"
        "200000015,20.00,2026-12-03,1181\n"
        f"{accounts[0]},1O.00,2026-12-03,1182\n"
    )
    result = upm("payments", "import", str(day))
    output = flat(result.output)
    assert result.exit_code == 2, output
    assert "posted 1 payment totalling 88.12" in output
    assert "1 payment totalling 20.00 to suspense" in output
    assert "line 4" in output
    again = upm("payments", "import", str(day))
    assert again.exit_code == 0
    assert "nothing was posted again" in flat(again.output)

    listing = flat(upm("payments", "suspense").output)
    assert "200000015" in listing
    with session_factory() as session:
        item_id = str(session.scalars(select(SuspenseItem.id)).one())
    resolved = upm("payments", "resolve", item_id, "--account", accounts[1], "--note", "typo")
    assert resolved.exit_code == 0, resolved.output
    with session_factory() as session:
        ids = {p.account_id for p in session.scalars(select(Payment))}
        assert len(ids) == 2
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("bank_file.import") == 1
        assert actions.count("suspense.resolve") == 1
        assert_ledger_invariants(session)
    assert "The suspense queue is empty." in flat(upm("payments", "suspense").output)


def test_drafts_and_returns(
    upm: Upm, accounts: list[str], tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    out = tmp_path / "drafts.ach"
    result = upm("payments", "drafts", "--date", "2026-12-09", "--allow-past",
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "1 draft totalling 45.65" in flat(result.output)
    again = upm("payments", "drafts", "--date", "2026-12-09", "--allow-past")
    assert "made earlier; nothing new was drafted" in flat(again.output)
    assert "settles 2026-12-10" in flat(result.output)
    text = out.read_text()
    assert "555123456" in text  # the file for the bank carries the real number
    with session_factory() as session:
        [draft] = session.scalars(select(Payment)).all()
        trace = str(draft.external_ref)
    returns = tmp_path / "returns.ach"
    returns.write_text(return_file([Returned(trace, 4565, "R02")]))
    applied = upm("payments", "returns", str(returns))
    assert applied.exit_code == 0, applied.output
    assert "1 return reversed" in flat(applied.output)
    with session_factory() as session:
        [draft] = session.scalars(select(Payment)).all()
        assert draft.status == PaymentStatus.RETURNED
        account_id = draft.account_id
        # 45.65 owed again plus the 25.00 returned-payment fee.
        assert account_balance(session, account_id) == Decimal("70.65")
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "drafts.originate" in actions
        assert "bank_file.returns" in actions
        # R02 (account closed) stops drafting at once.
        assert "bank_account.suspend" in actions


def test_drafts_guard_rails(upm: Upm, accounts: list[str], tmp_path: Path) -> None:
    # --allow-past keeps these dates valid whenever the tests run.
    past = upm("payments", "drafts", "--date", "2020-01-02")
    assert past.exit_code != 0
    assert "is in the past" in flat(past.output)
    nowhere = upm("payments", "drafts", "--date", "2026-12-09", "--allow-past",
                  "-o", str(tmp_path / "no" / "x"))
    assert nowhere.exit_code != 0
    assert "does not exist" in flat(nowhere.output)
    out = tmp_path / "drafts.ach"
    made = upm("payments", "drafts", "--date", "2026-12-09", "--allow-past", "-o", str(out))
    assert made.exit_code == 0, made.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    nothing = upm("payments", "drafts", "--date", "2026-12-30", "--allow-past",
                  "-o", str(tmp_path / "y.ach"))
    assert nothing.exit_code == 0
    assert "no drafts are due for 2026-12-30" in flat(nothing.output)
    assert not (tmp_path / "y.ach").exists()


def test_bad_date_and_missing_file(upm: Upm, db_url: str, tmp_path: Path) -> None:
    bad = upm("payments", "drafts", "--date", "12/09/2026")
    assert bad.exit_code != 0
    assert "YYYY-MM-DD" in flat(bad.output)
    impossible = upm("payments", "drafts", "--date", "2026-02-30")
    assert "not a valid date" in flat(impossible.output)
    folder = upm("payments", "import", str(tmp_path))
    assert folder.exit_code != 0
    assert "is a folder" in flat(folder.output)
    missing = upm("payments", "import", "/nonexistent/file.csv")
    assert missing.exit_code != 0
    assert "not found" in flat(missing.output)


def test_autopay_without_stripe_is_clear(upm: Upm, db_url: str, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.delenv("UPM_STRIPE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    result = upm("payments", "autopay", "--date", "2026-12-10")
    assert result.exit_code != 0
    assert "UPM_STRIPE_SECRET_KEY" in flat(result.output)


def test_returns_in_fresh_process(
    accounts: list[str], tmp_path: Path, session_factory: sessionmaker[Session], db_url: str
) -> None:
    # A new process imports only what the command needs, which an in-process runner
    # hides: every model must still be mapped before the first query.
    upm_command = Path(sys.executable).parent / "upm"
    env = {**os.environ, "UPM_DATABASE_URL": db_url}
    drafted = subprocess.run(
        [str(upm_command), "payments", "drafts", "--date", "2026-12-09", "--allow-past"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert drafted.returncode == 0, drafted.stderr
    with session_factory() as session:
        trace = str(session.scalars(select(Payment.external_ref)).one())
    returns = tmp_path / "returns.ach"
    returns.write_text(return_file([Returned(trace, 4565, "R01")]))
    applied = subprocess.run([str(upm_command), "payments", "returns", str(returns)],
                             capture_output=True, text=True, env=env, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert "1 return reversed" in flat(applied.stdout)


def test_link_for_amount_due(
    upm: Upm, accounts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    off = upm("payments", "link", accounts[0])
    assert off.exit_code != 0
    assert "UPM_STRIPE_SECRET_KEY" in flat(off.output)
    monkeypatch.setenv("UPM_STRIPE_SECRET_KEY", "sk_test_upm")
    get_settings.cache_clear()
    result = upm("payments", "link", accounts[0], "--key", "SM123")
    output = flat(result.output)
    assert result.exit_code == 0, output
    assert "payment link for 88.12" in output
    assert "http://127.0.0.1:8000/pay/" in output
    assert accounts[0] not in output  # only the last four digits
    again = upm("payments", "link", accounts[0], "--key", "SM123")
    url = output.split("\n")[-1] if "\n" in output else output.split()[-1]
    assert url in flat(again.output)
    bad = upm("payments", "link", accounts[0], "--amount", "ten")
    assert bad.exit_code != 0
    assert "is not dollars and cents" in flat(bad.output)


def test_returns_refuses_other_files(
    upm: Upm, accounts: list[str], tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    drafts = tmp_path / "drafts.ach"
    upm("payments", "drafts", "--date", "2026-12-09", "--allow-past", "-o", str(drafts))
    own = upm("payments", "returns", str(drafts))
    assert own.exit_code == 1
    assert "holds no returns" in flat(own.output)
    csv = tmp_path / "day.csv"
    csv.write_text("account_number,amount,paid_on\n" f"{accounts[0]},1.00,2026-12-03\n")
    assert upm("payments", "import", str(csv)).exit_code == 0
    as_returns = upm("payments", "returns", str(csv))
    assert as_returns.exit_code == 1
    assert "expected the file header" in flat(as_returns.output)
    with session_factory() as session:
        kinds = session.scalars(select(BankFile.kind)).all()
    assert [kind.value for kind in kinds] == ["csv"]
