"""Leak episodes stored by scans: opened, updated, closed, alerted once each.

Every series is hourly, in gallons, ending at ``NOW`` (15:00 in Chicago on 2026-06-15,
20:00Z), so the alerts are not held for quiet hours.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.meters.after_store import reads_stored
from app.meters.flags import MeterFlag as MeterFlagRow
from app.meters.leak_models import LeakEpisode
from app.meters.leaks import scan_registers, sweep_task
from app.settings import get_settings
from app.work_orders.models import Priority, WorkOrder, WorkOrderType
from app.work_orders.service import Actor, create_order
from tests.leaks.conftest import HOUR, FakeMessagesApi, add_hours, make_household

NOW = dt.datetime(2026, 6, 15, 20, tzinfo=dt.UTC)


def episodes(session: Session) -> list[LeakEpisode]:
    session.expire_all()
    return list(session.scalars(select(LeakEpisode).order_by(LeakEpisode.id)))


def add_flag(
    session: Session, meter_id: int, register_id: int | None, flag: str, at: dt.datetime
) -> None:
    """Store a flag a meter reported in a wM-Bus telegram; commit."""
    session.add(
        MeterFlagRow(
            meter_id=meter_id, register_id=register_id, flag=flag, flagged_at=at, source="wmbus"
        )
    )
    session.commit()


def test_leak_alerts_customer_and_staff(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - 30 * HOUR, ["2"] * 30)

    result = scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [episode] = episodes(session)
    assert result.opened == 1
    assert result.alerted == 1
    assert episode.kind == "leak"
    assert episode.severity == "major"
    assert episode.account_id == home.account.id
    assert episode.premise_id == home.premise.id
    assert episode.started_at == NOW - 30 * HOUR
    assert episode.closed_at is None
    assert episode.quantity == Decimal(60)  # 30 hours x 2 gal
    assert episode.alerted_at == NOW
    [text] = twilio.messages
    last4 = home.account.number[-4:]
    assert text["Body"].startswith(
        f"City of Riverbend Utilities: possible leak on account ending {last4}. Your meter "
        "has recorded use without a break since June 14, 2026 (60 gal)."
    )
    [(kind, staff_text)] = staff_alerts
    assert kind == "leak_detected"
    assert "Continuous flow (major)" in staff_text
    assert "60 gal at 1 Test St" in staff_text


def test_open_leak_alerts_once(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - 30 * HOUR, ["2"] * 30)
    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    add_hours(session, home.register, NOW, ["3", "3"])
    result = scan_registers(session, [home.register.id], now=NOW + 2 * HOUR)
    session.commit()

    [episode] = episodes(session)
    assert result.opened == 0
    assert result.updated == 1
    assert episode.quantity == Decimal(66)  # 60 + 3 + 3
    assert episode.last_seen_at == NOW + 2 * HOUR
    assert len(twilio.messages) == 1
    assert len(staff_alerts) == 1


def test_new_episode_after_close_alerts_again(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    start = NOW - 50 * HOUR
    add_hours(session, home.register, start, ["2"] * 25)
    scan_registers(session, [home.register.id], now=start + 25 * HOUR)
    session.commit()

    # One hour without flow closes the first leak; 24 more hours of flow are a new one.
    add_hours(session, home.register, start + 25 * HOUR, ["0"] + ["1.5"] * 24)
    result = scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    first, second = episodes(session)
    assert result.closed == 1
    assert result.opened == 1
    assert first.closed_at == start + 25 * HOUR
    assert first.quantity == Decimal(50)  # 25 x 2
    assert second.started_at == start + 26 * HOUR
    assert second.quantity == Decimal(36)  # 24 x 1.5
    assert second.closed_at is None
    assert len(twilio.messages) == 2
    assert len(staff_alerts) == 2


def test_old_closed_leak_not_alerted(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - 100 * HOUR, ["2"] * 30 + ["0"])

    # A scan reaches back 48 hours by itself, and further when a file brings older hours.
    assert scan_registers(session, [home.register.id], now=NOW).opened == 0
    result = scan_registers(session, [home.register.id], now=NOW, since=NOW - 100 * HOUR)
    session.commit()

    [episode] = episodes(session)
    assert result.opened == 1
    assert result.alerted == 0
    assert episode.closed_at == NOW - 70 * HOUR
    assert episode.alerted_at is None
    assert twilio.messages == []
    assert staff_alerts == []


def test_closed_long_leak_not_stored_twice(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    # Flow for 60 hours, then none: longer than the 48 hours a scan reads by itself.
    add_hours(session, home.register, NOW - 80 * HOUR, ["2"] * 30)
    scan_registers(session, [home.register.id], now=NOW - 50 * HOUR)
    add_hours(session, home.register, NOW - 50 * HOUR, ["2"] * 30 + ["0"] * 20)

    # The episode closes. A later scan reads only the run's last hours, which start at
    # the edge of its 48 hours, and matches them to the closed episode by overlap.
    scan_registers(session, [home.register.id], now=NOW - 19 * HOUR)
    result = scan_registers(session, [home.register.id], now=NOW)

    [episode] = episodes(session)
    assert episode.started_at == NOW - 80 * HOUR
    assert episode.closed_at == NOW - 20 * HOUR
    assert result.opened == 0


def test_scan_without_leak_stores_nothing(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    night = ["0"] * 6 + ["12"] * 18
    add_hours(session, home.register, NOW - 48 * HOUR, night + night)

    result = scan_registers(session, [home.register.id], now=NOW)

    assert result.registers == 1
    assert episodes(session) == []


@pytest.fixture
def work_orders_on(monkeypatch: pytest.MonkeyPatch, twilio: FakeMessagesApi) -> None:
    monkeypatch.setenv("UPM_LEAK_WORK_ORDERS", "true")
    get_settings.cache_clear()


def test_leak_opens_work_order(
    session: Session, work_orders_on: None, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - 24 * HOUR, ["75"] * 24)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [episode] = episodes(session)
    order = session.get(WorkOrder, episode.work_order_id)
    assert episode.severity == "critical"
    assert order is not None
    assert order.type == WorkOrderType.LEAK_INVESTIGATION
    assert order.priority == Priority.EMERGENCY
    assert order.premise_id == home.premise.id
    assert order.meter_id == home.register.meter_id


def test_leak_names_open_work_order(
    session: Session, work_orders_on: None, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    reported = create_order(
        session,
        type=WorkOrderType.LEAK_INVESTIGATION,
        priority=Priority.ROUTINE,
        actor=Actor("test"),
        idempotency_key="sms:SMreported",
        account_id=home.account.id,
        premise_id=home.premise.id,
    )
    session.commit()
    add_hours(session, home.register, NOW - 24 * HOUR, ["5"] * 24)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [episode] = episodes(session)
    assert episode.work_order_id == reported.id
    assert session.scalar(select(WorkOrder.id).where(WorkOrder.id != reported.id)) is None


def test_minor_leak_opens_no_work_order(
    session: Session, work_orders_on: None, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - 24 * HOUR, ["0.25"] * 24)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [episode] = episodes(session)
    assert episode.severity == "minor"
    assert episode.work_order_id is None
    assert session.scalar(select(WorkOrder.id)) is None


def test_meter_flag_opens_episode(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - 3 * HOUR, ["4", "4", "4"])
    add_flag(session, home.register.meter_id, None, "leak", NOW - 3 * HOUR)
    add_flag(session, home.register.meter_id, None, "leak", NOW - HOUR)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [episode] = episodes(session)
    assert episode.kind == "meter_leak"
    assert episode.register_id == home.register.id
    assert episode.started_at == NOW - 3 * HOUR
    assert episode.closed_at is None
    assert episode.quantity == Decimal(12)  # the 3 hours since the first flag, x 4 gal
    assert len(twilio.messages) == 1
    [(kind, text)] = staff_alerts
    assert kind == "leak_detected"
    assert text.startswith("Leak flag from the meter (major)")


def test_backflow_alerts_staff_only(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_hours(session, home.register, NOW - HOUR, ["0"])
    add_flag(session, home.register.meter_id, home.register.id, "backflow", NOW - HOUR)

    scan_registers(session, [home.register.id], now=NOW)
    session.commit()

    [episode] = episodes(session)
    assert episode.kind == "backflow"
    assert twilio.messages == []
    assert len(staff_alerts) == 1


def test_stored_reads_trigger_scan(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    add_hours(session, home.register, now - 24 * HOUR, ["3"] * 24)

    reads_stored(session, interval_register_ids=[home.register.id])
    session.commit()

    [episode] = episodes(session)
    assert episode.kind == "leak"
    assert episode.quantity == Decimal(72)  # 24 x 3


def test_hourly_sweep_scans_recent_registers(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    add_hours(session, home.register, now - 24 * HOUR, ["0.5"] * 24)

    counts = sweep_task()

    [episode] = episodes(session)
    assert counts["registers"] == 1
    assert counts["opened"] == 1
    assert episode.severity == "minor"
