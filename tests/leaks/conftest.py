"""Fixtures for leak detection: a household with an hourly water meter, staff alerts, SMTP.

The SMTP server is aiosmtpd on 127.0.0.1, a real server that the stdlib client talks
to. Twilio has no local counterpart, so texts go to the fake Messages API of the
messaging tests.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from app import alerts
from app.accounts.models import Account, Contact, ContactKind
from app.meters.models import IntervalRead, Register
from app.premises.models import Premise
from app.settings import get_settings
from tests.app.factories import City, water_tariff
from tests.messaging.conftest import (  # noqa: F401 - fixtures used by name
    CUSTOMER_PHONE,
    FakeMessagesApi,
    fake_twilio,
    schedule_settings,
    twilio,
)

HOUR = dt.timedelta(hours=1)


@dataclass
class Household:
    account: Account
    premise: Premise
    register: Register


def make_household(
    session: Session,
    *,
    language: str = "en",
    phone: str | None = CUSTOMER_PHONE,
    email: str | None = None,
    serial: str = "W-100",
) -> Household:
    """Create an account with water service at a premise with an hourly meter; commit."""
    city = City(session, cycle_code=f"C-{serial}")
    account, premise = city.account()
    account.customer.language = language
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, serial, "water", "gal", interval=True)
    for kind, value in ((ContactKind.PHONE, phone), (ContactKind.EMAIL, email)):
        if value is not None:
            session.add(Contact(account_id=account.id, kind=kind, value=value, verified=True))
    session.commit()
    return Household(account, premise, register)


def add_hours(session: Session, register: Register, start: dt.datetime, values: list[str]) -> None:
    """Store one hourly interval read per value from ``start``; commit."""
    for index, value in enumerate(values):
        session.add(
            IntervalRead(
                register_id=register.id,
                start_at=start + index * HOUR,
                seconds=3600,
                value=Decimal(value),
                quality="good",
            )
        )
    session.commit()


@pytest.fixture
def staff_alerts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Collect every staff alert raised during the test."""
    raised: list[tuple[str, str]] = []
    monkeypatch.setattr(alerts, "_sinks", [lambda kind, text: raised.append((kind, text))])
    return raised


@dataclass
class SmtpInbox:
    """The e-mails a local SMTP server received."""

    port: int
    messages: list[MimeMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.recipients.append(list(envelope.rcpt_tos))
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, MimeMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_inbox(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpInbox]:
    """A real SMTP server on 127.0.0.1 that UPM_SMTP_URL names for the test."""
    inbox = SmtpInbox(_free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    monkeypatch.setenv("UPM_SMTP_URL", f"smtp://127.0.0.1:{inbox.port}")
    monkeypatch.setenv("UPM_SMTP_FROM", "alerts@riverbend.example")
    get_settings.cache_clear()
    yield inbox
    controller.stop()
