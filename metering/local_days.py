"""Group interval reads by local calendar day.

Intervals keep their true UTC instant, and a local day is whatever span of
instants the zone maps to that date. So a spring-forward day contains 23 hourly
intervals and a fall-back day 25, with no gap filled and no hour merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, tzinfo
from decimal import Decimal

from metering.types import IntervalRead

__all__ = ["daily_totals", "intervals_on", "local_day"]


def local_day(interval: IntervalRead, zone: tzinfo) -> date:
    """Return the local date in `zone` on which the interval starts.

    An interval that crosses local midnight (a monthly gas period, say) counts
    wholly on its start date.
    """
    return interval.start.astimezone(zone).date()


def daily_totals(intervals: Iterable[IntervalRead], zone: tzinfo) -> dict[date, Decimal]:
    """Sum interval values per local day in `zone`, in date order.

    Raises ValueError when the intervals have more than one unit, because a sum of
    kWh and therms means nothing.
    """
    totals: dict[date, Decimal] = {}
    units: set[str] = set()
    for interval in intervals:
        units.add(interval.unit)
        day = local_day(interval, zone)
        totals[day] = totals.get(day, Decimal(0)) + interval.value
    if len(units) > 1:
        raise ValueError(
            f"Intervals have several units ({', '.join(sorted(units))}). "
            "Total each unit separately."
        )
    return dict(sorted(totals.items()))


def intervals_on(intervals: Iterable[IntervalRead], zone: tzinfo, day: date) -> list[IntervalRead]:
    """Return the intervals that start on local date `day` in `zone`, ordered by start."""
    selected = [interval for interval in intervals if local_day(interval, zone) == day]
    return sorted(selected, key=lambda interval: interval.start)
