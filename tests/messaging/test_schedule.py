"""Quiet hours and the due reminder time in America/Chicago, across both DST changes.

US daylight saving time started on 2024-03-10 at 02:00 local (UTC-6 to UTC-5) and ended
on 2024-11-03 at 02:00 local (UTC-5 to UTC-6). Each expected instant is worked out by
hand from those offsets.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.messaging.bill_alerts import reminder_due_dates
from app.messaging.schedule import earliest_send, quiet_hours_end, reminder_instant
from app.settings import get_settings
from tests.messaging.conftest import local

UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_reminder_on_spring_forward_day(schedule_settings: None) -> None:
    # Due 12 March: 2 days before is 10 March, 08:00 CDT (UTC-5).
    assert reminder_instant(dt.date(2024, 3, 12)) == utc(2024, 3, 10, 13)


def test_reminder_on_fall_back_day(schedule_settings: None) -> None:
    # Due 5 November: 2 days before is 3 November, 08:00 CST (UTC-6).
    assert reminder_instant(dt.date(2024, 11, 5)) == utc(2024, 11, 3, 14)


@pytest.mark.parametrize("due", [dt.date(2024, 3, 12), dt.date(2024, 11, 5)])
def test_reminder_time_is_outside_quiet_hours(schedule_settings: None, due: dt.date) -> None:
    instant = reminder_instant(due)

    assert quiet_hours_end(instant) is None
    assert earliest_send(instant, urgent=False) == instant


def test_quiet_night_before_spring_forward(schedule_settings: None) -> None:
    # 21:30 CST on 9 March is 03:30 UTC; the night is 23 hours long, so 08:00 CDT is
    # 13:00 UTC, 9.5 hours later.
    decided = local(2024, 3, 9, 21, 30)

    assert decided == utc(2024, 3, 10, 3, 30)
    assert earliest_send(decided, urgent=False) == utc(2024, 3, 10, 13)


def test_quiet_night_before_fall_back(schedule_settings: None) -> None:
    # 23:00 CDT on 2 November is 04:00 UTC; 08:00 CST the next morning is 14:00 UTC.
    decided = local(2024, 11, 2, 23)

    assert decided == utc(2024, 11, 3, 4)
    assert earliest_send(decided, urgent=False) == utc(2024, 11, 3, 14)


def test_quiet_hours_after_midnight(schedule_settings: None) -> None:
    # 01:30 CDT on 10 March does not exist; 01:30 CST is 07:30 UTC, before the change.
    assert earliest_send(utc(2024, 3, 10, 7, 30), urgent=False) == utc(2024, 3, 10, 13)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [
        (20, 59, False),
        (21, 0, True),
        (23, 59, True),
        (0, 0, True),
        (7, 59, True),
        (8, 0, False),
        (12, 0, False),
    ],
)
def test_quiet_hours_edges(schedule_settings: None, hour: int, minute: int, quiet: bool) -> None:
    decided = local(2026, 6, 15, hour, minute)

    assert (quiet_hours_end(decided) is not None) is quiet


def test_urgent_ignores_quiet_hours(schedule_settings: None) -> None:
    decided = local(2024, 3, 9, 23, 15)

    assert earliest_send(decided, urgent=True) == decided
    assert earliest_send(decided, urgent=True).tzinfo is UTC


def test_naive_time_rejected(schedule_settings: None) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        earliest_send(dt.datetime(2024, 3, 9, 23, 15), urgent=False)  # noqa: DTZ001


def test_daytime_quiet_hours(schedule_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_QUIET_HOURS_START", "12:00")
    monkeypatch.setenv("UPM_QUIET_HOURS_END", "13:00")
    get_settings.cache_clear()

    # 12:30 CST on 15 January is 18:30 UTC; 13:00 CST is 19:00 UTC.
    assert earliest_send(local(2026, 1, 15, 12, 30), urgent=False) == utc(2026, 1, 15, 19)
    assert quiet_hours_end(local(2026, 1, 15, 13, 0)) is None
    assert quiet_hours_end(local(2026, 1, 15, 11, 59)) is None


def test_equal_start_and_end_means_none(
    schedule_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_QUIET_HOURS_START", "08:00")
    monkeypatch.setenv("UPM_QUIET_HOURS_END", "08:00")
    get_settings.cache_clear()

    assert quiet_hours_end(local(2026, 1, 15, 3, 0)) is None


def test_reminder_dates_before_and_after_time(schedule_settings: None) -> None:
    ten, eleven, twelve = dt.date(2024, 3, 10), dt.date(2024, 3, 11), dt.date(2024, 3, 12)

    assert reminder_due_dates(local(2024, 3, 10, 7, 59)) == [ten, eleven]
    assert reminder_due_dates(local(2024, 3, 10, 8, 0)) == [ten, eleven, twelve]
