"""``upm leaks scan`` and ``upm leaks list`` on a household with a running leak."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.db import utcnow
from tests.cli.conftest import upm  # noqa: F401 - fixture used by name
from tests.leaks.conftest import HOUR, FakeMessagesApi, add_hours, make_household


def test_scan_then_list(
    session: Session,
    twilio: FakeMessagesApi,
    staff_alerts: list[tuple[str, str]],
    upm: Callable[..., Result],  # noqa: F811 - the imported fixture
) -> None:
    home = make_household(session)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    add_hours(session, home.register, now - 24 * HOUR, ["0.5"] * 24)

    scanned = upm("leaks", "scan", "--register", str(home.register.id))
    listed = upm("leaks", "list")

    assert scanned.exit_code == 0, scanned.output
    assert "Leak scan: 1 register, 1 opened, 0 updated, 0 closed, 1 alerted." in scanned.output
    assert listed.exit_code == 0, listed.output
    assert "leak" in listed.output
    assert "minor" in listed.output
    assert "12 gal" in listed.output  # 24 hours x 0.5 gal
    assert "W-100" in listed.output
    assert home.account.number in listed.output
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "leaks.scan"))
    assert event.actor.startswith("cli:")
    assert event.detail == "1 opened, 0 closed, 1 alerted"


def test_list_without_episodes(
    session: Session,
    upm: Callable[..., Result],  # noqa: F811 - the imported fixture
) -> None:
    listed = upm("leaks", "list", "--all")

    assert listed.exit_code == 0
    assert "No episodes." in listed.output
