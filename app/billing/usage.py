"""Usage for one service agreement and period, from reads already loaded in memory.

The bill run loads a chunk's installations, registers and reads in a few queries and
calls these functions per agreement, so no query runs per account.

Register usage is taken per meter serving the premise inside the service window. The
opening read is the latest read on or before the window start, at most
``OPENING_READ_DAYS`` earlier. The closing read is the latest read on or before the
window end, at most ``CLOSING_READ_DAYS`` earlier. On one date an actual read is chosen
over an estimate. A meter changed inside the window gives two segments, old and new,
each from its own reads.

True-up: when an earlier bill of the agreement ended on a read of the meter in the
opening window, that read (``billed_to``) opens the next bill, even if it was an estimate
and an actual read for the same date has arrived since. So the estimate's error is
billed in the next bill and the bills together charge the actual consumption.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.errors import DomainError
from billing_engine.consumption import RegisterSegment, segment_consumption
from billing_engine.errors import RatingError
from billing_engine.rating import Interval
from billing_engine.units import Unit, convert

OPENING_READ_DAYS = 40
CLOSING_READ_DAYS = 7
#: Reads this far from a month's first day still count as that month's boundary read.
MONTH_BOUNDARY_DAYS = 5


class BillingProblem(DomainError):
    """Reason an agreement cannot be billed; the bill run lists it as an exception."""


@dataclass(frozen=True)
class InstallationRow:
    meter_id: int
    serial: str
    premise_id: int
    service: str
    installed_on: dt.date
    removed_on: dt.date | None


@dataclass(frozen=True)
class RegisterRow:
    id: int
    meter_id: int
    unit: str
    multiplier: Decimal
    dials: int | None
    interval: bool


@dataclass(frozen=True)
class ReadRow:
    read_date: dt.date
    value: Decimal
    read_type: str = "actual"


@dataclass(frozen=True)
class UsedSegment:
    """The reads one register contributed to a bill."""

    meter_serial: str
    start_date: dt.date
    start_value: Decimal | None
    end_date: dt.date
    end_value: Decimal | None
    consumption: Decimal
    unit: str
    start_read_type: str | None = None
    end_read_type: str | None = None


@dataclass(frozen=True)
class RegisterUsageResult:
    quantity: Decimal
    unit: str
    segments: tuple[UsedSegment, ...]


def _latest_on_or_before(reads: Sequence[ReadRow], day: dt.date) -> ReadRow | None:
    dates = [read.read_date for read in reads]
    position = bisect.bisect_right(dates, day)
    return reads[position - 1] if position else None


def _meter_windows(
    installations: Sequence[InstallationRow], start: dt.date, end: dt.date
) -> list[tuple[InstallationRow, dt.date, dt.date]]:
    windows = []
    for installation in sorted(installations, key=lambda row: row.installed_on):
        window_start = max(start, installation.installed_on)
        window_end = min(end, installation.removed_on or end)
        if window_start < window_end:
            windows.append((installation, window_start, window_end))
    return windows


def register_usage(
    *,
    service: str,
    start: dt.date,
    end: dt.date,
    installations: Sequence[InstallationRow],
    registers_by_meter: Mapping[int, Sequence[RegisterRow]],
    reads_by_register: Mapping[int, Sequence[ReadRow]],
    billed_to: Mapping[str, ReadRow] | None = None,
) -> RegisterUsageResult:
    """Sum the consumption of every meter serving ``service`` from ``start`` to ``end``.

    ``billed_to`` maps a meter serial to the read the agreement's last bill ended on.
    """
    windows = _meter_windows(installations, start, end)
    if not windows:
        raise BillingProblem(
            f"no {service} meter is installed at the premise between {start} and {end}; "
            "record the meter installation",
            code="no_meter",
        )
    segments: list[UsedSegment] = []
    total = Decimal(0)
    unit: str | None = None
    for installation, window_start, window_end in windows:
        register = _consumption_register(installation, registers_by_meter)
        reads = reads_by_register.get(register.id, ())
        opening = _latest_on_or_before(reads, window_start)
        billed = (billed_to or {}).get(installation.serial)
        if billed is not None and (window_start - billed.read_date).days <= OPENING_READ_DAYS:
            opening = billed
        if opening is None or (window_start - opening.read_date).days > OPENING_READ_DAYS:
            raise BillingProblem(
                f"meter {installation.serial} has no read on or up to {OPENING_READ_DAYS} days "
                f"before {window_start}; enter the opening read",
                code="no_opening_read",
            )
        closing = _latest_on_or_before(reads, window_end)
        if (
            closing is None
            or closing.read_date <= opening.read_date
            or (window_end - closing.read_date).days > CLOSING_READ_DAYS
        ):
            raise BillingProblem(
                f"meter {installation.serial} has no read between "
                f"{window_end - dt.timedelta(days=CLOSING_READ_DAYS)} and {window_end}; "
                "enter or estimate the closing read",
                code="no_closing_read",
            )
        try:
            consumption = segment_consumption(
                RegisterSegment(
                    meter=installation.serial,
                    register="1",
                    start_value=opening.value,
                    end_value=closing.value,
                    dials=register.dials,
                    multiplier=register.multiplier,
                )
            )
        except RatingError as exc:
            raise BillingProblem(str(exc), code=exc.code) from exc
        if unit is None:
            unit = register.unit
        elif register.unit != unit:
            consumption = convert(consumption, Unit(register.unit), Unit(unit))
        total += consumption
        segments.append(
            UsedSegment(
                meter_serial=installation.serial,
                start_date=opening.read_date,
                start_value=opening.value,
                end_date=closing.read_date,
                end_value=closing.value,
                consumption=consumption,
                unit=register.unit,
                start_read_type=opening.read_type,
                end_read_type=closing.read_type,
            )
        )
    assert unit is not None
    return RegisterUsageResult(quantity=total, unit=unit, segments=tuple(segments))


def _consumption_register(
    installation: InstallationRow, registers_by_meter: Mapping[int, Sequence[RegisterRow]]
) -> RegisterRow:
    registers = [r for r in registers_by_meter.get(installation.meter_id, ()) if not r.interval]
    if not registers:
        raise BillingProblem(
            f"meter {installation.serial} has no consumption register; add one",
            code="no_register",
        )
    return registers[0]


def interval_register(
    installations: Sequence[InstallationRow],
    registers_by_meter: Mapping[int, Sequence[RegisterRow]],
    start: dt.date,
    end: dt.date,
) -> tuple[InstallationRow, RegisterRow] | None:
    """Return the interval register of the meter serving the window, if it has one."""
    for installation, _window_start, _window_end in _meter_windows(installations, start, end):
        for register in registers_by_meter.get(installation.meter_id, ()):
            if register.interval:
                return installation, register
    return None


def local_midnight_utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Return the UTC instant at which the local ``day`` begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def interval_usage(
    *,
    serial: str,
    start: dt.date,
    end: dt.date,
    zone: ZoneInfo,
    rows: Sequence[tuple[dt.datetime, int, Decimal]],
) -> list[Interval]:
    """Turn stored UTC intervals into local wall-clock intervals, checking full coverage."""
    begin = local_midnight_utc(start, zone)
    finish = local_midnight_utc(end, zone)
    expected = int((finish - begin).total_seconds())
    covered = 0
    intervals = []
    for start_at, seconds, value in rows:
        if begin <= start_at < finish:
            covered += seconds
            local = start_at.astimezone(zone).replace(tzinfo=None)
            intervals.append(Interval(start=local, seconds=seconds, quantity=value))
    if covered != expected:
        raise BillingProblem(
            f"interval data of meter {serial} covers {covered / 3600:g} of "
            f"{expected / 3600:g} hours from {start} to {end}; import the missing intervals",
            code="incomplete_interval_data",
        )
    return intervals


def monthly_consumption(
    reads: Sequence[ReadRow], months: Sequence[tuple[int, int]], register: RegisterRow
) -> dict[tuple[int, int], Decimal]:
    """Consumption of each (year, month) whose both boundary reads are on file."""
    result: dict[tuple[int, int], Decimal] = {}
    for year, month in months:
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        opening = _latest_on_or_before(reads, first)
        closing = _latest_on_or_before(reads, following)
        if opening is None or closing is None or closing.read_date <= opening.read_date:
            continue
        if (first - opening.read_date).days > MONTH_BOUNDARY_DAYS:
            continue
        if (following - closing.read_date).days > MONTH_BOUNDARY_DAYS:
            continue
        try:
            result[(year, month)] = segment_consumption(
                RegisterSegment(
                    meter="",
                    register="1",
                    start_value=opening.value,
                    end_value=closing.value,
                    dials=register.dials,
                    multiplier=register.multiplier,
                )
            )
        except RatingError:
            continue
    return result


@dataclass(frozen=True)
class HeldRead:
    """A read that validation held (or has not validated yet), with its finding codes."""

    read_id: int
    read_date: dt.date
    value: Decimal
    status: str
    codes: tuple[str, ...]


def check_held_reads(
    *,
    start: dt.date,
    end: dt.date,
    installations: Sequence[InstallationRow],
    registers_by_meter: Mapping[int, Sequence[RegisterRow]],
    reads_by_register: Mapping[int, Sequence[ReadRow]],
    held_by_register: Mapping[int, Sequence[HeldRead]],
) -> None:
    """Raise ``read_held`` when a held or pending read falls inside a meter's billed span.

    The span runs from the valid read that would open the meter's segment (or from
    ``OPENING_READ_DAYS`` before the window when there is none) to the window end. A
    held read there may be the closing read or a sign of a meter exchange, so the
    agreement waits for staff to accept, edit or reject it.
    """
    for installation, window_start, window_end in _meter_windows(installations, start, end):
        for register in registers_by_meter.get(installation.meter_id, ()):
            held = held_by_register.get(register.id)
            if register.interval or not held:
                continue
            opening = _latest_on_or_before(reads_by_register.get(register.id, ()), window_start)
            first = (
                opening.read_date
                if opening is not None
                else window_start - dt.timedelta(days=OPENING_READ_DAYS)
            )
            for read in held:
                if first <= read.read_date <= window_end:
                    described = (
                        f"meter {installation.serial} read {read.value.normalize():f} of "
                        f"{read.read_date} (read {read.read_id})"
                    )
                    if read.status != "held":
                        raise BillingProblem(
                            f"{described} is not validated yet; run `upm reads validate`",
                            code="read_held",
                        )
                    codes = ", ".join(read.codes) or "no open finding"
                    raise BillingProblem(
                        f"{described} is held by validation ({codes}); accept, edit or "
                        f"reject it with `upm reads accept|edit|reject {read.read_id}`",
                        code="read_held",
                    )
