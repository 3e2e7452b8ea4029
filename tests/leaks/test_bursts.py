"""Bursts judged against the register's typical maximum hour of the week before the scan.

A scan reads the last 48 hours. The typical maximum hour comes from the 7 days before
those, ranked as ``metering.leaks.typical_max_hourly`` ranks: the value at 0-based index
min(n - 1, 95 * n // 100) of the sorted hours. PostgreSQL ranks in SQL and SQLite in
Python, and these tests run on both.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.meters.leak_models import LeakEpisode
from app.meters.leaks import SCAN_WINDOW, scan_registers
from tests.leaks.conftest import HOUR, FakeMessagesApi, add_hours, make_household

NOW = dt.datetime(2026, 6, 15, 20, tzinfo=dt.UTC)


@pytest.mark.parametrize(("burst", "expected"), [("384", ["burst"]), ("383", [])])
def test_burst_level_from_week_before(
    session: Session,
    twilio: FakeMessagesApi,
    staff_alerts: list[tuple[str, str]],
    burst: str,
    expected: list[str],
) -> None:
    home = make_household(session)
    window_start = NOW - SCAN_WINDOW
    # 100 hours of 1 to 100 gal: n = 100, index min(99, 95) = 95, so typical is 96 gal,
    # and a burst needs 4 x 96 = 384 gal, above the 300 gal floor, for 2 hours.
    add_hours(session, home.register, window_start - 100 * HOUR, [str(n) for n in range(1, 101)])
    # The scanned hours are quiet until the last two. Judged on these hours alone, the
    # typical hour would be 0 gal and a burst would need the 300 gal floor only.
    add_hours(session, home.register, window_start, ["0"] * 46 + [burst, burst])

    scan_registers(session, [home.register.id], now=NOW)

    kinds = session.scalars(select(LeakEpisode.kind)).all()
    assert kinds == expected


def test_burst_without_a_day_before_uses_scanned_hours(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    window_start = NOW - SCAN_WINDOW
    # Only 23 hours before the scan: too few for a typical hour there, so the scanned
    # quiet hours set it at 0 gal, and 301 gal for 2 hours passes the 300 gal floor.
    add_hours(session, home.register, window_start - 23 * HOUR, ["200"] * 23)
    add_hours(session, home.register, window_start, ["0"] * 46 + ["301", "301"])

    scan_registers(session, [home.register.id], now=NOW)

    assert session.scalars(select(LeakEpisode.kind)).all() == ["burst"]
