"""An account's usage over time for charts and the Green Button export.

Usage comes from the meters serving the account's metered agreements (water, electric,
gas) and only from inside each agreement's dates, so a new occupant never gets the
previous one's usage. Each meter counts only between its installation and removal, so
a meter changeout gives points from the old meter and then from the new one and never
a difference across the two.

- ``hourly`` and ``daily`` points sum interval reads by local hour and local day in the
  utility's zone, so a spring-forward day has 23 hourly points and a fall-back day 25.
- A meter without interval data gives ``daily`` points from register reads, one per pair
  of consecutive read dates (read to read), never spread over days: a spread would
  invent a daily shape that no meter measured.
- ``billing-period`` points are the account's bills (the consumption of their meter
  segments). A service with no bill in the range falls back to read-to-read points for
  register meters and local calendar months for interval meters.

Register reads count only with status ``valid``, as in billing: held, pending,
replaced and rejected reads are left out of charts.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.billing.chunk import METERED_SERVICES
from app.billing.models import Bill, BillMeterSegment
from app.billing.usage import OPENING_READ_DAYS, local_midnight_utc
from app.errors import InvalidInput
from app.meters.models import (
    IntervalRead,
    Meter,
    MeterInstallation,
    Read,
    ReadStatus,
    ReadType,
    Register,
)
from app.premises.models import ServiceAgreement
from billing_engine.consumption import RegisterSegment, segment_consumption
from billing_engine.errors import RatingError
from billing_engine.units import convert
from metering.estimation import ESTIMATED_QUALITY
from metering.types import IntervalRead as ParsedInterval

#: ESPI QualityOfReading codes that mean an estimate (8 reference day, 9 interpolation),
#: as kept on intervals imported from Green Button files.
ESPI_ESTIMATE_CODES = frozenset({"8", "9"})


class Granularity(enum.StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    BILLING_PERIOD = "billing-period"


class PointSource(enum.StrEnum):
    """Origin of a usage point's quantity."""

    INTERVAL = "interval"
    REGISTER = "register"
    BILL = "bill"


@dataclass(frozen=True)
class RangeLimits:
    """Maximum range of one request, and the range it gets by default, in days.

    ``name`` names the request in the error message.
    """

    name: str
    max_days: int
    default_days: int


RANGE_LIMITS = {
    Granularity.HOURLY: RangeLimits("hourly usage", 31, 7),
    Granularity.DAILY: RangeLimits("daily usage", 400, 31),
    Granularity.BILLING_PERIOD: RangeLimits("billing-period usage", 3660, 366),
}
#: A Green Button export covers at most 13 months (397 days) of daily blocks.
EXPORT_LIMITS = RangeLimits("a Green Button export", 397, 31)


@dataclass(frozen=True)
class DateRange:
    """Local dates from ``start`` up to but not including ``end``."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class UsagePoint:
    """Consumption from ``start`` to ``end``, end excluded.

    Both are aware UTC instants: two local times of a fall-back night compare equal
    in Python when they share a zone, so points are kept in UTC and shown in the zone.
    """

    start: dt.datetime
    end: dt.datetime
    quantity: Decimal
    unit: str
    estimated: bool
    source: PointSource
    meters: tuple[str, ...]


@dataclass
class UsageSeries:
    """The points of one service, ordered by start, all in ``unit``."""

    service: str
    unit: str | None = None
    points: list[UsagePoint] = field(default_factory=list)


@dataclass(frozen=True)
class MeterWindow:
    """A meter serving one of the account's agreements, within the requested range.

    ``first_read_date`` and ``last_read_date`` bound the register reads that may be
    used, ``range`` bounds the interval reads (local dates, end excluded).
    """

    service: str
    serial: str
    range: DateRange
    first_read_date: dt.date
    last_read_date: dt.date
    register_id: int | None
    register_unit: str | None
    dials: int | None
    multiplier: Decimal
    interval_register_id: int | None
    interval_unit: str | None


@dataclass(frozen=True)
class MeterIntervals:
    """The interval reads of one meter for one service, in UTC order."""

    service: str
    serial: str
    unit: str
    intervals: list[ParsedInterval]


def resolve_range(
    start: dt.date | None,
    end: dt.date | None,
    *,
    today: dt.date,
    limits: RangeLimits,
) -> DateRange:
    """Fill a missing start or end and check the range. Raises InvalidInput naming the limit.

    Without both, the range ends with ``today`` (``end`` is tomorrow, as it is excluded).
    """
    default_days = limits.default_days
    if end is None:
        end = start + dt.timedelta(days=default_days) if start else today + dt.timedelta(days=1)
    if start is None:
        start = end - dt.timedelta(days=default_days)
    if start >= end:
        raise InvalidInput(
            f"start {start} is not before end {end}; end is excluded, so pass an end "
            "at least one day after start",
            code="usage_range_invalid",
        )
    days = (end - start).days
    if days > limits.max_days:
        raise InvalidInput(
            f"the range {start} to {end} is {days} days, but {limits.name} allows at most "
            f"{limits.max_days} days per request; narrow start and end",
            code="usage_range_too_long",
        )
    return DateRange(start, end)


def check_service(service: str | None) -> None:
    if service is not None and service not in METERED_SERVICES:
        raise InvalidInput(
            f"service {service!r} has no meter; use one of {', '.join(METERED_SERVICES)}",
            code="usage_service_invalid",
        )


def meter_windows(
    session: Session, account: Account, span: DateRange, service: str | None
) -> list[MeterWindow]:
    """Return the meters serving ``account``'s metered agreements within ``span``."""
    services = (service,) if service else METERED_SERVICES
    rows = session.execute(
        select(
            ServiceAgreement.service,
            ServiceAgreement.start_date,
            ServiceAgreement.end_date,
            MeterInstallation.meter_id,
            MeterInstallation.installed_on,
            MeterInstallation.removed_on,
            Meter.serial,
        )
        .join(
            MeterInstallation,
            (MeterInstallation.premise_id == ServiceAgreement.premise_id)
            & (MeterInstallation.service == ServiceAgreement.service),
        )
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .where(
            ServiceAgreement.account_id == account.id,
            ServiceAgreement.service.in_(services),
            ServiceAgreement.start_date < span.end,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > span.start),
            MeterInstallation.installed_on < span.end,
            or_(MeterInstallation.removed_on.is_(None), MeterInstallation.removed_on > span.start),
        )
        .order_by(ServiceAgreement.service, MeterInstallation.installed_on)
    ).all()
    registers = _registers_of(session, {row.meter_id for row in rows})

    windows = []
    for row in rows:
        # Read dates are inclusive: a move-out or removal read is taken on the end date.
        # Interval reads end at local midnight of that date, as in billing.
        # NOTE: so an interval meter's reads on its removal day are not shown, and the
        # new meter's reads start at local midnight of its installation day.
        first_read = max(row.start_date, row.installed_on)
        last_read = min(row.end_date or dt.date.max, row.removed_on or dt.date.max)
        if first_read >= last_read:
            continue
        consumption = next((r for r in registers.get(row.meter_id, ()) if not r.interval), None)
        interval = next((r for r in registers.get(row.meter_id, ()) if r.interval), None)
        windows.append(
            MeterWindow(
                service=str(row.service),
                serial=row.serial,
                range=DateRange(max(span.start, first_read), min(span.end, last_read)),
                first_read_date=first_read,
                last_read_date=last_read,
                register_id=consumption.id if consumption else None,
                register_unit=consumption.unit if consumption else None,
                dials=consumption.dials if consumption else None,
                multiplier=consumption.multiplier if consumption else Decimal(1),
                interval_register_id=interval.id if interval else None,
                interval_unit=interval.unit if interval else None,
            )
        )
    return [w for w in windows if w.range.start < w.range.end]


def _registers_of(session: Session, meter_ids: set[int]) -> dict[int, list[Register]]:
    registers: dict[int, list[Register]] = defaultdict(list)
    if meter_ids:
        for register in session.scalars(
            select(Register).where(Register.meter_id.in_(meter_ids)).order_by(Register.code)
        ):
            registers[register.meter_id].append(register)
    return registers


def meter_intervals(session: Session, window: MeterWindow, zone: ZoneInfo) -> MeterIntervals | None:
    """Return the window's interval reads, or None when the meter has no interval register."""
    if window.interval_register_id is None or window.interval_unit is None:
        return None
    rows = session.execute(
        select(
            IntervalRead.start_at, IntervalRead.seconds, IntervalRead.value, IntervalRead.quality
        )
        .where(
            IntervalRead.register_id == window.interval_register_id,
            IntervalRead.start_at >= local_midnight_utc(window.range.start, zone),
            IntervalRead.start_at < local_midnight_utc(window.range.end, zone),
        )
        .order_by(IntervalRead.start_at)
    )
    intervals = [
        ParsedInterval(start_at, seconds, value, window.interval_unit, quality)
        for start_at, seconds, value, quality in rows
    ]
    return MeterIntervals(window.service, window.serial, window.interval_unit, intervals)


def is_estimated_quality(quality: str | None) -> bool:
    """Tell whether an interval's stored quality marks an estimate (ours or ESPI's)."""
    if quality is None:
        return False
    if quality == ESTIMATED_QUALITY:
        return True
    return any(code.strip() in ESPI_ESTIMATE_CODES for code in quality.split(","))


def usage_series(
    session: Session,
    account: Account,
    *,
    granularity: Granularity,
    span: DateRange,
    zone: ZoneInfo,
    service: str | None = None,
) -> list[UsageSeries]:
    """Return one series per metered service of ``account`` with usage in ``span``.

    Raises InvalidInput for hourly usage when no meter in the range has interval data.
    """
    check_service(service)
    windows = meter_windows(session, account, span, service)
    by_service: dict[str, list[MeterWindow]] = defaultdict(list)
    for window in windows:
        by_service[window.service].append(window)

    billed: dict[str, list[UsagePoint]] = {}
    if granularity == Granularity.BILLING_PERIOD:
        billed = _bill_points(session, account, span, zone, service)
    series_list = []
    for service_name, service_windows in by_service.items():
        series = UsageSeries(service_name)
        if granularity == Granularity.BILLING_PERIOD and billed.get(service_name):
            points = billed[service_name]
        else:
            points = _meter_points(session, service_windows, granularity, span, zone)
        _add_points(series, points)
        if granularity != Granularity.HOURLY or series.points:
            series_list.append(series)

    if granularity == Granularity.HOURLY and not any(s.points for s in series_list):
        if not any(w.interval_register_id for w in windows):
            raise InvalidInput(
                f"account {account.number} has no meter with interval data between "
                f"{span.start} and {span.end}, so it has no hourly usage; request "
                "granularity=daily",
                code="usage_no_interval_data",
            )
    return series_list


def _meter_points(
    session: Session,
    windows: Sequence[MeterWindow],
    granularity: Granularity,
    span: DateRange,
    zone: ZoneInfo,
) -> list[UsagePoint]:
    points: list[UsagePoint] = []
    for window in windows:
        found = meter_intervals(session, window, zone)
        if found is not None:
            interval_points = list(_interval_points(found, granularity, zone))
            points.extend(interval_points)
            if granularity == Granularity.DAILY and interval_points:
                # A meter that gained an interval register keeps its earlier history: the
                # read-to-read points that end before its first interval.
                first = min(point.start for point in interval_points)
                earlier = _register_points(session, window, span, zone)
                points.extend(point for point in earlier if point.end <= first)
        elif granularity != Granularity.HOURLY:
            points.extend(_register_points(session, window, span, zone))
    return points


def _add_points(series: UsageSeries, points: Iterable[UsagePoint]) -> None:
    """Add points to the series in its unit, merging points of the same period.

    Two meters serving one service at once (a second water meter for irrigation,
    say) both give interval points for the same hours and days, and those add up.
    """
    merged: dict[tuple[dt.datetime, dt.datetime, PointSource], UsagePoint] = {}
    for point in points:
        if series.unit is None:
            series.unit = point.unit
        quantity = point.quantity
        if point.unit != series.unit:
            quantity = convert(quantity, point.unit, series.unit)
        key = (point.start, point.end, point.source)
        earlier = merged.get(key)
        if earlier is None:
            merged[key] = UsagePoint(
                point.start,
                point.end,
                quantity,
                series.unit,
                point.estimated,
                point.source,
                point.meters,
            )
        else:
            merged[key] = UsagePoint(
                point.start,
                point.end,
                earlier.quantity + quantity,
                series.unit,
                earlier.estimated or point.estimated,
                point.source,
                earlier.meters + tuple(m for m in point.meters if m not in earlier.meters),
            )
    series.points = sorted(merged.values(), key=lambda p: (p.start, p.end))


def _interval_points(
    found: MeterIntervals, granularity: Granularity, zone: ZoneInfo
) -> list[UsagePoint]:
    """Sum intervals by local hour, local day or, for billing periods, local month."""
    buckets: dict[tuple[dt.datetime, dt.datetime], tuple[Decimal, bool]] = {}
    for interval in found.intervals:
        start, end = _bucket(interval.start, granularity, zone)
        total, estimated = buckets.get((start, end), (Decimal(0), False))
        buckets[(start, end)] = (
            total + interval.value,
            estimated or is_estimated_quality(interval.quality),
        )
    return [
        UsagePoint(start, end, total, found.unit, estimated, PointSource.INTERVAL, (found.serial,))
        for (start, end), (total, estimated) in buckets.items()
    ]


def _bucket(
    instant: dt.datetime, granularity: Granularity, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """Return the local hour, day or month that contains ``instant``, as UTC instants."""
    local = instant.astimezone(zone)
    if granularity == Granularity.HOURLY:
        # Whole UTC hours, so the repeated 01:00 of a fall-back day stays two hours.
        hour = instant.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        # NOTE: in a zone whose offset is not a whole number of hours (UTC+05:30, say)
        # an hourly point starts at half past the local hour.
        return hour, hour + dt.timedelta(hours=1)
    day = local.date()
    if granularity == Granularity.DAILY:
        return _midnight(day, zone), _midnight(day + dt.timedelta(days=1), zone)
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return _midnight(first, zone), _midnight(following, zone)


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return local_midnight_utc(day, zone)


def _register_points(
    session: Session, window: MeterWindow, span: DateRange, zone: ZoneInfo
) -> list[UsagePoint]:
    """Return one point per pair of consecutive valid read dates that overlaps ``span``.

    Both reads lie within the meter's installation and the agreement, so no point
    spans a changeout or another occupant. The last read of a date is used for that date. A
    drop that is no plausible rollover gives no point, because it is no consumption.
    """
    if window.register_id is None or window.register_unit is None:
        return []
    earliest = max(window.first_read_date, span.start - dt.timedelta(days=OPENING_READ_DAYS))
    latest = min(window.last_read_date, span.end + dt.timedelta(days=OPENING_READ_DAYS))
    rows = session.execute(
        select(Read.read_date, Read.value, Read.read_type)
        .where(
            Read.register_id == window.register_id,
            Read.status == ReadStatus.VALID,
            Read.read_date >= earliest,
            Read.read_date <= latest,
        )
        .order_by(Read.read_date, Read.read_key)
    )
    last_of_date: dict[dt.date, tuple[Decimal, bool]] = {}
    for read_date, value, read_type in rows:
        last_of_date[read_date] = (value, read_type == ReadType.ESTIMATED)

    dates = sorted(last_of_date)
    points = []
    for opening, closing in zip(dates, dates[1:], strict=False):
        if closing <= span.start or opening >= span.end:
            continue
        opening_value, opening_estimated = last_of_date[opening]
        closing_value, closing_estimated = last_of_date[closing]
        try:
            consumption = segment_consumption(
                RegisterSegment(
                    meter=window.serial,
                    register="1",
                    start_value=opening_value,
                    end_value=closing_value,
                    dials=window.dials,
                    multiplier=window.multiplier,
                )
            )
        except RatingError:
            continue
        points.append(
            UsagePoint(
                _midnight(opening, zone),
                _midnight(closing, zone),
                consumption,
                window.register_unit,
                opening_estimated or closing_estimated,
                PointSource.REGISTER,
                (window.serial,),
            )
        )
    return points


def _bill_points(
    session: Session, account: Account, span: DateRange, zone: ZoneInfo, service: str | None
) -> dict[str, list[UsagePoint]]:
    """Return the billed consumption of each bill overlapping ``span``, by service."""
    query = (
        select(
            Bill.period_start,
            Bill.period_end,
            ServiceAgreement.service,
            BillMeterSegment.meter_serial,
            BillMeterSegment.start_date,
            BillMeterSegment.end_date,
            BillMeterSegment.start_value,
            BillMeterSegment.consumption,
            BillMeterSegment.unit,
        )
        .join(BillMeterSegment, BillMeterSegment.bill_id == Bill.id)
        .join(ServiceAgreement, ServiceAgreement.id == BillMeterSegment.service_agreement_id)
        .where(
            Bill.account_id == account.id,
            Bill.period_start < span.end,
            Bill.period_end > span.start,
        )
        .order_by(Bill.period_start, BillMeterSegment.id)
    )
    if service is not None:
        query = query.where(ServiceAgreement.service == service)
    points: dict[str, list[UsagePoint]] = defaultdict(list)
    for row in session.execute(query):
        estimated = _segment_estimated(
            session, row.meter_serial, row.start_date, row.end_date, row.start_value is None, zone
        )
        points[str(row.service)].append(
            UsagePoint(
                _midnight(row.period_start, zone),
                _midnight(row.period_end, zone),
                row.consumption,
                row.unit,
                estimated,
                PointSource.BILL,
                (row.meter_serial,),
            )
        )
    return points


def _segment_estimated(
    session: Session,
    serial: str,
    start: dt.date,
    end: dt.date,
    from_intervals: bool,
    zone: ZoneInfo,
) -> bool:
    """Tell whether a bill segment used an estimated read or estimated intervals."""
    if from_intervals:
        qualities = session.scalars(
            select(IntervalRead.quality)
            .join(Register, Register.id == IntervalRead.register_id)
            .join(Meter, Meter.id == Register.meter_id)
            .where(
                Meter.serial == serial,
                IntervalRead.start_at >= local_midnight_utc(start, zone),
                IntervalRead.start_at < local_midnight_utc(end, zone),
                IntervalRead.quality.is_not(None),
            )
            .distinct()
        )
        return any(is_estimated_quality(quality) for quality in qualities)
    estimated = session.scalar(
        select(Read.id)
        .join(Register, Register.id == Read.register_id)
        .join(Meter, Meter.id == Register.meter_id)
        .where(
            Meter.serial == serial,
            Register.interval.is_(False),
            Read.read_date.in_((start, end)),
            Read.status == ReadStatus.VALID,
            Read.read_type == ReadType.ESTIMATED,
        )
        .limit(1)
    )
    return estimated is not None


def account_intervals(
    session: Session, account: Account, span: DateRange, zone: ZoneInfo
) -> list[MeterIntervals]:
    """Return the interval reads of every meter serving ``account`` in ``span``."""
    found = []
    for window in meter_windows(session, account, span, None):
        intervals = meter_intervals(session, window, zone)
        if intervals is not None and intervals.intervals:
            found.append(intervals)
    return found
