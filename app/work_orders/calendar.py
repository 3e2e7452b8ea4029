"""The utility's working calendar: business days and the due time of each priority.

Holidays come from the ``holidays`` package for the country and subdivision in the
settings, plus any closure dates the utility lists.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

from app.settings import Settings, get_settings
from app.work_orders.models import Priority

#: Business days until a priority is due; 0 is the same day.
BUSINESS_DAYS_DUE = {Priority.EMERGENCY: 0, Priority.URGENT: 1, Priority.ROUTINE: 5}


@lru_cache(maxsize=8)
def _holidays(country: str, subdivision: str | None, closures: str) -> holidays.HolidayBase:
    calendar = holidays.country_holidays(country, subdiv=subdivision)
    for text in filter(None, (part.strip() for part in closures.split(","))):
        calendar[dt.date.fromisoformat(text)] = "Utility closed"
    return calendar


def is_business_day(day: dt.date, settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    calendar = _holidays(
        settings.holiday_country, settings.holiday_subdivision, settings.closure_dates
    )
    return day.weekday() < 5 and day not in calendar


def add_business_days(day: dt.date, count: int, settings: Settings | None = None) -> dt.date:
    """Return the ``count``-th business day after ``day`` (``day`` itself for 0 if open)."""
    if count == 0:
        while not is_business_day(day, settings):
            day += dt.timedelta(days=1)
        return day
    while count > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day, settings):
            count -= 1
    return day


def due_at(
    priority: Priority, created_at: dt.datetime, settings: Settings | None = None
) -> dt.datetime:
    """Return when an order of ``priority`` created at ``created_at`` is due (UTC).

    An emergency is due by the end of the same local day, on any day of the week,
    because leaks and outages do not wait for business days. The others are due at the
    end of the working day (``workday_end_hour``) on their business day.
    """
    settings = settings or get_settings()
    local = created_at.astimezone(settings.zone)
    if priority == Priority.EMERGENCY:
        end = dt.datetime.combine(local.date(), dt.time(23, 59, 59), settings.zone)
        return end.astimezone(dt.UTC)
    day = add_business_days(local.date(), BUSINESS_DAYS_DUE[priority], settings)
    end = dt.datetime.combine(day, dt.time(settings.workday_end_hour), settings.zone)
    return end.astimezone(dt.UTC)
