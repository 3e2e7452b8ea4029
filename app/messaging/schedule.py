"""When a customer text may go out: quiet hours and the due-date reminder, in local time.

Both rules are local wall-clock times in the utility's zone (``UPM_TIMEZONE``), computed
with ``zoneinfo`` and returned as aware UTC instants, so a reminder set for 08:00 stays at
08:00 local on both sides of a daylight-saving change. Quiet hours may wrap midnight
(21:00 to 08:00); a start equal to the end means there are none.
"""

from __future__ import annotations

import datetime as dt

from app.settings import get_settings


def quiet_hours_end(now: dt.datetime) -> dt.datetime | None:
    """Return the instant quiet hours end when ``now`` falls inside them, else None."""
    settings = get_settings()
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    local = now.astimezone(settings.zone)
    time_of_day = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        quiet = start <= time_of_day < end
        end_day = local.date()
    else:
        quiet = time_of_day >= start or time_of_day < end
        end_day = local.date() if time_of_day < end else local.date() + dt.timedelta(days=1)
    if not quiet:
        return None
    # A wall time skipped by a spring-forward change resolves to the same instant an
    # hour later in the new offset, and a repeated one to its first occurrence.
    local_end = dt.datetime.combine(end_day, end, tzinfo=settings.zone)
    return max(local_end.astimezone(dt.UTC), now.astimezone(dt.UTC))


def earliest_send(now: dt.datetime, *, urgent: bool) -> dt.datetime:
    """Return when a text decided at ``now`` may go out.

    Urgent texts (emergency outage alerts) ignore quiet hours by policy: a customer
    needs to hear about a main break or a boil-water notice at night. Every other text
    waits for the end of quiet hours.
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware instant")
    instant = now.astimezone(dt.UTC)
    if urgent:
        return instant
    return quiet_hours_end(instant) or instant


def reminder_instant(due_date: dt.date) -> dt.datetime:
    """Return the UTC instant of the payment due reminder for a bill due on ``due_date``.

    It is ``reminder_days_before_due`` calendar days before the due date at
    ``reminder_time`` local, so a due date of 2024-03-12 in America/Chicago with the
    defaults (2 days, 08:00) gives 2024-03-10 13:00 UTC, the day daylight saving starts.
    """
    settings = get_settings()
    day = due_date - dt.timedelta(days=settings.reminder_days_before_due)
    local = dt.datetime.combine(day, settings.reminder_time, tzinfo=settings.zone)
    return local.astimezone(dt.UTC)
