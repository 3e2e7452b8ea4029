"""Consent per program: which program a number covers, opt-out and opt-in, the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.messaging.consent import is_opted_out, opt_in, opt_out, programs_for_number
from app.messaging.models import Program, SmsConsent
from app.settings import get_settings

BILLING = "+15550100001"
ALERTS = "+15550100002"
CUSTOMER = "+15550100123"


@pytest.fixture
def two_numbers(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_TWILIO_FROM_NUMBER", BILLING)
    monkeypatch.setenv("UPM_TWILIO_ALERTS_NUMBER", ALERTS)
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("to_number", "programs"),
    [
        (BILLING, [Program.BILLING]),
        (ALERTS, [Program.ALERTS]),
        ("+15550100003", [Program.BILLING, Program.ALERTS]),
        (None, [Program.BILLING, Program.ALERTS]),
    ],
)
def test_programs_by_number_texted(
    two_numbers: None, to_number: str | None, programs: list[Program]
) -> None:
    assert programs_for_number(to_number) == programs


def test_one_shared_number_covers_both(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_TWILIO_FROM_NUMBER", BILLING)
    monkeypatch.delenv("UPM_TWILIO_ALERTS_NUMBER", raising=False)
    get_settings.cache_clear()

    assert programs_for_number(BILLING) == [Program.BILLING, Program.ALERTS]


def test_opt_out_of_alerts_only(two_numbers: None, session: Session) -> None:
    opt_out(session, CUSTOMER, programs_for_number(ALERTS), source="STOP")
    session.commit()

    assert is_opted_out(session, CUSTOMER, Program.ALERTS) is True
    assert is_opted_out(session, CUSTOMER, Program.BILLING) is False
    assert is_opted_out(session, "+15550100124", Program.ALERTS) is False


def test_opt_in_again_keeps_one_row(two_numbers: None, session: Session) -> None:
    opt_out(session, CUSTOMER, [Program.BILLING], source="STOP")
    opt_out(session, CUSTOMER, [Program.BILLING], source="twilio_21610")
    opt_in(session, CUSTOMER, [Program.BILLING], source="START")
    session.commit()

    rows = session.scalars(select(SmsConsent).where(SmsConsent.phone == CUSTOMER)).all()
    assert len(rows) == 1
    assert rows[0].opted_out is False
    assert rows[0].source == "START"
    assert is_opted_out(session, CUSTOMER, Program.BILLING) is False


def test_consent_change_audited_masked(two_numbers: None, session: Session) -> None:
    opt_out(session, CUSTOMER, [Program.ALERTS], source="STOP")
    session.commit()

    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "sms.opt_out")).all()
    assert len(events) == 1
    assert events[0].actor == "sms:…0123"
    assert CUSTOMER not in str(events[0].arguments)
    total = session.scalar(select(func.count()).select_from(SmsConsent))
    assert total == 1
