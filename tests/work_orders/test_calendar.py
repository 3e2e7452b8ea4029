"""Due times on the utility's calendar: weekends, holidays and closure days."""

from __future__ import annotations

import datetime as dt

import pytest

from app.settings import Settings
from app.work_orders.calendar import add_business_days, due_at
from app.work_orders.models import Priority

CHICAGO = Settings(timezone="America/Chicago", holiday_country="US")


def test_routine_skips_weekend_and_thanksgiving() -> None:
    # Monday 2026-11-23 at 10:00 local; Thursday 11-26 is Thanksgiving, then the weekend.
    created = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)
    due = due_at(Priority.ROUTINE, created, CHICAGO)
    # Business days: Tue 24, Wed 25, Fri 27, Mon 30, Tue Dec 1 -> 17:00 CST is 23:00 UTC.
    assert due == dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)


def test_urgent_is_next_business_day() -> None:
    friday_evening = dt.datetime(2026, 12, 4, 23, 30, tzinfo=dt.UTC)  # 17:30 CST Friday
    assert due_at(Priority.URGENT, friday_evening, CHICAGO) == dt.datetime(
        2026, 12, 7, 23, 0, tzinfo=dt.UTC
    )


def test_emergency_is_end_of_local_day() -> None:
    # 02:00 UTC on Dec 5 is still Dec 4 in Chicago.
    created = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
    assert due_at(Priority.EMERGENCY, created, CHICAGO) == dt.datetime(
        2026, 12, 5, 5, 59, 59, tzinfo=dt.UTC
    )


def test_closure_dates_count_as_holidays() -> None:
    closed = Settings(holiday_country="US", closure_dates="2026-12-07")
    assert add_business_days(dt.date(2026, 12, 4), 1, closed) == dt.date(2026, 12, 8)


def test_bad_closure_date_is_an_error() -> None:
    with pytest.raises(ValueError, match="'2026-13-01' is not a date in YYYY-MM-DD form"):
        Settings(holiday_country="US", closure_dates="2026-13-01")
