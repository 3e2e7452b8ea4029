"""Payment tasks run eagerly without Redis and are safe to run twice."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from app.payments import channels
from app.payments.drafts.accounts import add_bank_account
from app.payments.drafts.models import BankAccountType
from app.payments.models import PaymentChannel
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.helpers import issue_bill


def test_draft_task_twice_drafts_once(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_BANK_DATA_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    city = City(session)
    account, _ = city.account()
    issue_bill(session, city, account, "61.40", due_date=dt.date(2026, 12, 10))
    bank = add_bank_account(
        session, account_id=account.id, holder_name="Pat Doe", routing="111000025",
        number="4401200", account_type=BankAccountType.SAVINGS, authorization_ref="call 7",
        authorized_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), actor="clerk",
    )
    channels.enroll_autopay(session, account_id=account.id, channel=PaymentChannel.IVR,
                            idempotency_key="CA77:enroll", actor="ivr", bank_account_id=bank.id)
    session.commit()
    from app.payments.tasks import draft_file_task

    first = draft_file_task.delay("2026-12-09").get()
    second = draft_file_task.delay("2026-12-09").get()
    assert first == {"draft_file_id": first["draft_file_id"], "entries": 1, "total": "61.40"}
    assert second == first


def test_autopay_task_with_nothing_due(session: Session, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    monkeypatch.setenv("UPM_STRIPE_SECRET_KEY", "sk_test_upm")
    get_settings.cache_clear()
    from app.payments.tasks import autopay_task

    result = autopay_task.delay("2026-12-10").get()
    assert result == {"charged": 0, "declined": 0, "skipped": 0, "unknown": 0, "failed": 0}
