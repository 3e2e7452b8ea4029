"""Billing periods: a calendar month as a half-open range of local dates."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app.errors import InvalidInput

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class BillingPeriod:
    """Local dates ``start`` (first day) up to but not including ``end``."""

    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def month_start_after(day: dt.date) -> dt.date:
    """Return the first day of the month after ``day``'s month."""
    if day.month == 12:
        return dt.date(day.year + 1, 1, 1)
    return dt.date(day.year, day.month + 1, 1)


def parse_period(text: str) -> BillingPeriod:
    """Parse ``YYYY-MM`` into the month's period."""
    match = _PERIOD.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(
            f"period {text!r} is not a month; write it as YYYY-MM, e.g. 2026-11",
            code="period_format",
        )
    start = dt.date(int(match.group(1)), int(match.group(2)), 1)
    return BillingPeriod(start, month_start_after(start))


def previous_full_month(today: dt.date) -> BillingPeriod:
    """Return the last calendar month that has fully ended before ``today``."""
    first = today.replace(day=1)
    last_month_day = first - dt.timedelta(days=1)
    return parse_period(f"{last_month_day.year:04d}-{last_month_day.month:02d}")
