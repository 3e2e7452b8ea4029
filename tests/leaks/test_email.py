"""Customer e-mail through a real SMTP server on 127.0.0.1, and the text-or-e-mail rule."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.messaging.consent import opt_out
from app.messaging.email import email_account
from app.messaging.email_models import EmailMessage
from app.messaging.models import Program
from app.meters.leaks import scan_registers
from app.settings import get_settings
from tests.leaks.conftest import (
    CUSTOMER_PHONE,
    HOUR,
    FakeMessagesApi,
    SmtpInbox,
    add_hours,
    make_household,
)

NOW = dt.datetime(2026, 6, 15, 20, tzinfo=dt.UTC)
ADDRESS = "pat@example.com"


def queue_email(session: Session, account_id: int, template: str, key: str) -> None:
    """Queue ``template`` with fixed values to the account's addresses; commit."""
    email_account(
        session,
        account_id=account_id,
        template=template,
        key=key,
        last4="0001",
        since=dt.date(2026, 6, 1),
        quantity=800,
        unit="gal",
    )
    session.commit()


def stored_emails(session: Session) -> list[EmailMessage]:
    session.expire_all()
    return list(session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


def test_leak_emailed_without_phone(
    session: Session,
    twilio: FakeMessagesApi,
    smtp_inbox: SmtpInbox,
    staff_alerts: list[tuple[str, str]],
) -> None:
    home = make_household(session, phone=None, email=ADDRESS)
    add_hours(session, home.register, NOW - 30 * HOUR, ["2"] * 30)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [received] = smtp_inbox.messages
    last4 = home.account.number[-4:]
    assert smtp_inbox.recipients == [[ADDRESS]]
    assert (
        received["Subject"]
        == f"City of Riverbend Utilities: possible leak on account ending {last4}"
    )
    assert received["From"] == "City of Riverbend Utilities <alerts@riverbend.example>"
    body = received.get_content()
    assert "without a break since June 14, 2026: 60 gal so far." in body
    assert "512-555-0100" in body
    [stored] = stored_emails(session)
    assert stored.status == "sent"
    assert stored.kind == "leak"
    assert twilio.messages == []


def test_leak_emailed_in_spanish(
    session: Session,
    twilio: FakeMessagesApi,
    smtp_inbox: SmtpInbox,
    staff_alerts: list[tuple[str, str]],
) -> None:
    home = make_household(session, language="es", phone=None, email=ADDRESS)
    add_hours(session, home.register, NOW - 30 * HOUR, ["2"] * 30)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [received] = smtp_inbox.messages
    last4 = home.account.number[-4:]
    # The subject is longer than 78 characters, so it arrives folded; unfold it as a mail
    # client does.
    assert " ".join(received["Subject"].split()) == (
        f"City of Riverbend Utilities: posible fuga en la cuenta que termina en {last4}"
    )
    assert received["Content-Language"] == "es"
    assert "sin pausa desde el 14 de junio de 2026: 60 gal hasta ahora." in received.get_content()


def test_texted_not_emailed_with_phone(
    session: Session,
    twilio: FakeMessagesApi,
    smtp_inbox: SmtpInbox,
    staff_alerts: list[tuple[str, str]],
) -> None:
    home = make_household(session, email=ADDRESS)
    add_hours(session, home.register, NOW - 30 * HOUR, ["2"] * 30)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    assert len(twilio.messages) == 1
    assert smtp_inbox.messages == []


def test_emailed_when_phone_opted_out(
    session: Session,
    twilio: FakeMessagesApi,
    smtp_inbox: SmtpInbox,
    staff_alerts: list[tuple[str, str]],
) -> None:
    home = make_household(session, email=ADDRESS)
    opt_out(session, CUSTOMER_PHONE, [Program.ALERTS], source="STOP")
    session.commit()
    add_hours(session, home.register, NOW - 30 * HOUR, ["2"] * 30)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    assert twilio.messages == []
    assert len(smtp_inbox.messages) == 1


def test_email_sent_once_per_key(session: Session, smtp_inbox: SmtpInbox) -> None:
    home = make_household(session, phone=None, email=ADDRESS)
    values = {"last4": "0001", "since": dt.date(2026, 6, 1), "quantity": 9000, "unit": "gal"}

    first = email_account(
        session, account_id=home.account.id, template="high_usage", key="test:1", **values
    )
    session.commit()
    again = email_account(
        session, account_id=home.account.id, template="high_usage", key="test:1", **values
    )
    session.commit()

    assert [email.id for email in first] == [email.id for email in again]
    assert len(stored_emails(session)) == 1
    assert len(smtp_inbox.messages) == 1


def test_email_without_smtp_url_not_sent(session: Session) -> None:
    home = make_household(session, phone=None, email=ADDRESS)

    queue_email(session, home.account.id, "burst", "test:2")

    [stored] = stored_emails(session)
    assert stored.status == "not_configured"
    assert stored.subject.endswith("very high water flow on account ending 0001")


def test_email_failure_kept_for_review(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    home = make_household(session, phone=None, email=ADDRESS)
    # Nothing listens on port 9 of 127.0.0.1, so the connection is refused.
    monkeypatch.setenv("UPM_SMTP_URL", "smtp://127.0.0.1:9")
    get_settings.cache_clear()

    queue_email(session, home.account.id, "leak", "test:3")

    [stored] = stored_emails(session)
    assert stored.status == "failed"
    assert stored.attempts == 1
    assert stored.error is not None
    assert "ConnectionRefusedError" in stored.error
