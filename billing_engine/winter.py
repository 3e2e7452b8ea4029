"""Winter average: the consumption cap of sewer charges billed on water usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from billing_engine.tariff import MONTHS, check_winter_months


def winter_average(
    monthly_consumption: Mapping[tuple[int, int], Decimal],
    months: Sequence[int],
    period_start: date,
) -> Decimal | None:
    """Return the average monthly consumption over the last complete winter.

    ``monthly_consumption`` maps ``(year, month)`` to the consumption billed for that
    month. ``months`` are the winter months in order and may cross the new year, such as
    ``(12, 1, 2)`` or ``(11, 12, 1, 2, 3)``. The winter used is the latest one whose last
    month ended on or before ``period_start``. Returns ``None`` when any of its months is
    missing from the mapping.
    """
    check_winter_months(months)
    last_month = months[-1]
    # The winter's end year is the year of its last month.
    end_year = period_start.year
    end_exclusive = date(end_year + last_month // MONTHS, last_month % MONTHS + 1, 1)
    if end_exclusive > period_start:
        end_year -= 1
    wraps_at = next(
        (i for i in range(1, len(months)) if months[i] < months[i - 1]), len(months)
    )
    keys = [
        (end_year - 1 if index < wraps_at and wraps_at < len(months) else end_year, month)
        for index, month in enumerate(months)
    ]
    values = [monthly_consumption.get(key) for key in keys]
    present = [v for v in values if v is not None]
    if len(present) != len(values):
        return None
    return sum(present, Decimal(0)) / len(present)
