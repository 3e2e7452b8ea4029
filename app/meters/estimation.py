"""Storing estimated register reads and intervals (the E of VEE), audited.

The arithmetic is in ``metering.estimation``; this module picks the registers that lack
a read, loads their history, and stores each estimate once:

- an estimated register read has ``read_type`` estimated, ``source`` ``estimate:<method>``,
  status valid and ``read_key`` ``<date>/estimate``. That key differs from the key of an
  actual read on the same date, so an actual read that arrives later is stored beside
  the estimate. The estimate stays on file, and the bill run prefers the actual read
  for bills made after it arrives;
- an estimated interval has ``quality`` "estimated" and its ``estimate_method``.

Running an estimate again stores nothing new for registers already estimated or read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.billing.models import BillingCycle
from app.billing.usage import CLOSING_READ_DAYS
from app.errors import InvalidInput, NotFound
from app.meters.models import (
    IntervalRead,
    Meter,
    MeterInstallation,
    Read,
    ReadStatus,
    ReadType,
    Register,
)
from app.premises.models import Premise, ServiceAgreement
from billing_engine.consumption import RegisterSegment, segment_consumption
from billing_engine.errors import RatingError
from metering.estimation import (
    ESTIMATED_QUALITY,
    EstimationError,
    PeriodUsage,
    estimate_interval_gaps,
    estimate_register_read,
)
from metering.types import IntervalRead as MeteredInterval

log = logging.getLogger(__name__)

#: Days of read history loaded for an estimate: a year plus a cycle, for last year's period.
HISTORY_DAYS = 400
#: Weeks of interval history loaded before a range, for like days.
INTERVAL_HISTORY_WEEKS = 8
#: Maximum days one interval estimate covers, so a mistyped date cannot fill years.
MAX_INTERVAL_RANGE_DAYS = 93
#: Read types whose differences count as measured use in the history of an estimate.
MEASURED_TYPES = (ReadType.ACTUAL, ReadType.CUSTOMER, ReadType.FINAL)


def estimate_read_key(read_date: dt.date) -> str:
    """Return the ``read_key`` of the estimate of a register on ``read_date``."""
    return f"{read_date.isoformat()}/estimate"


@dataclass(frozen=True)
class RegisterCandidate:
    register_id: int
    meter_serial: str
    register_code: str
    dials: int | None


@dataclass(frozen=True)
class StoredEstimate:
    meter_serial: str
    register_code: str
    read_date: dt.date
    value: Decimal
    consumption: Decimal
    method: str


@dataclass
class EstimateReport:
    """Result of one estimate command: the reads stored and the registers left unestimated."""

    created: list[StoredEstimate] = field(default_factory=list)
    already_read: int = 0
    #: (meter serial, reason) of each register left without an estimate.
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _cycle_id(session: Session, cycle_code: str) -> int:
    cycle_id = session.scalar(select(BillingCycle.id).where(BillingCycle.code == cycle_code))
    if cycle_id is None:
        known = ", ".join(session.scalars(select(BillingCycle.code).order_by(BillingCycle.code)))
        raise NotFound(
            f"billing cycle {cycle_code!r} not found; known cycles: {known or 'none'}",
            code="cycle_not_found",
        )
    return cycle_id


def _cycle_registers(
    session: Session, cycle_id: int, read_date: dt.date
) -> list[RegisterCandidate]:
    rows = session.execute(
        select(Register.id, Meter.serial, Register.code, Register.dials)
        .join(Meter, Meter.id == Register.meter_id)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .join(Premise, Premise.id == MeterInstallation.premise_id)
        .where(
            Premise.cycle_id == cycle_id,
            Register.interval.is_(False),
            MeterInstallation.installed_on < read_date,
            or_(
                MeterInstallation.removed_on.is_(None),
                MeterInstallation.removed_on > read_date,
            ),
            # Only a premise still served on the read date is billed, so only it needs a read.
            exists().where(
                ServiceAgreement.premise_id == Premise.id,
                ServiceAgreement.service == MeterInstallation.service,
                ServiceAgreement.start_date < read_date,
                or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date >= read_date),
            ),
        )
        .order_by(Meter.serial, Register.code)
        .distinct()
    )
    return [RegisterCandidate(*row) for row in rows]


def _history(reads: Sequence[tuple[dt.date, Decimal, str]], dials: int | None) -> list[PeriodUsage]:
    """Turn consecutive measured reads into periods of use in dial units."""
    measured = [(day, value) for day, value, read_type in reads if read_type in MEASURED_TYPES]
    periods = []
    for (start, start_value), (end, end_value) in zip(measured, measured[1:], strict=False):
        if end <= start:
            continue
        try:
            used = segment_consumption(
                RegisterSegment(
                    meter="", register="", start_value=start_value, end_value=end_value, dials=dials
                )
            )
        except RatingError:
            # A meter exchange or a bad read, so the period is no measure of normal use.
            continue
        periods.append(PeriodUsage(start, end, used))
    return periods


def _decimal_places(values: Sequence[Decimal]) -> int:
    """Return the decimals the register reads show, so an estimate is read to the same dial."""
    places = 0
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int):
            places = max(places, -exponent)
    return places


def estimate_cycle_reads(
    session: Session, *, cycle_code: str, read_date: dt.date, actor: str
) -> EstimateReport:
    """Store an estimated read on ``read_date`` for each register of the cycle that lacks one.

    A register counts as read when it has a valid, pending or held read in the
    ``CLOSING_READ_DAYS`` before ``read_date``, the span in which the bill run accepts a
    closing read. A held read waits for staff review, and an estimate on a later date would
    otherwise win over it once accepted. A register without a previous read or usable
    history is listed in ``skipped`` with the reason. The command is audited.
    """
    cycle_id = _cycle_id(session, cycle_code)
    candidates = _cycle_registers(session, cycle_id, read_date)
    report = EstimateReport()
    register_ids = [candidate.register_id for candidate in candidates]
    reads: dict[int, list[tuple[dt.date, Decimal, str]]] = defaultdict(list)
    read_rows = session.execute(
        select(Read.register_id, Read.read_date, Read.value, Read.read_type, Read.status)
        .where(
            Read.register_id.in_(register_ids),
            Read.read_date.between(read_date - dt.timedelta(days=HISTORY_DAYS), read_date),
            Read.status.in_([ReadStatus.VALID, ReadStatus.PENDING, ReadStatus.HELD]),
        )
        .order_by(Read.register_id, Read.read_date, Read.read_key)
    )
    for register_id, day, value, read_type, status in read_rows:
        if status == ReadStatus.VALID or day >= read_date - dt.timedelta(days=CLOSING_READ_DAYS):
            reads[register_id].append((day, value, str(read_type)))

    window_start = read_date - dt.timedelta(days=CLOSING_READ_DAYS)
    for candidate in candidates:
        history = reads.get(candidate.register_id, [])
        if any(window_start <= day <= read_date for day, _value, _type in history):
            report.already_read += 1
            continue
        if not history:
            report.skipped.append(
                (candidate.meter_serial, f"no read in the {HISTORY_DAYS} days before {read_date}")
            )
            continue
        previous_date, previous_value, _type = history[-1]
        try:
            estimate = estimate_register_read(
                previous_date=previous_date,
                previous_value=previous_value,
                read_date=read_date,
                history=_history(history, candidate.dials),
                dials=candidate.dials,
                places=_decimal_places([value for _day, value, _type in history]),
            )
        except EstimationError as exc:
            report.skipped.append((candidate.meter_serial, str(exc)))
            continue
        session.add(
            Read(
                register_id=candidate.register_id,
                read_key=estimate_read_key(read_date),
                read_date=read_date,
                value=estimate.value,
                read_type=ReadType.ESTIMATED,
                source=f"estimate:{estimate.method}",
                status=ReadStatus.VALID,
            )
        )
        report.created.append(
            StoredEstimate(
                candidate.meter_serial,
                candidate.register_code,
                read_date,
                estimate.value,
                estimate.consumption,
                str(estimate.method),
            )
        )
    session.flush()
    for serial, reason in report.skipped:
        log.warning("no estimate for meter %s on %s: %s", serial, read_date, reason)
    record(
        session,
        actor=actor,
        action="reads.estimate",
        target=f"cycle:{cycle_code}",
        arguments={"cycle": cycle_code, "date": read_date.isoformat()},
        outcome="estimated",
        detail=(
            f"{len(report.created)} estimated, {report.already_read} already read, "
            f"{len(report.skipped)} skipped"
        ),
    )
    return report


@dataclass
class IntervalEstimateReport:
    """Estimated intervals stored for one meter, and the slots left empty."""

    meter_serial: str
    created: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    unfilled: list[dt.datetime] = field(default_factory=list)


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def estimate_meter_intervals(
    session: Session,
    *,
    meter_serial: str,
    start: dt.date,
    end: dt.date,
    zone: ZoneInfo,
    actor: str,
    interval_minutes: int = 60,
    holidays: Sequence[dt.date] = (),
) -> IntervalEstimateReport:
    """Fill the missing intervals of a meter's interval register from ``start`` to ``end``.

    ``end`` is exclusive and both are local dates. Short gaps are interpolated and long
    ones filled from like days (see ``metering.estimation``). Slots with no basis for an
    estimate stay empty and are listed. The command is audited.
    """
    if end <= start:
        raise InvalidInput(
            f"range {start} to {end} is empty; the end date is exclusive and must be later",
            code="invalid_range",
        )
    if (end - start).days > MAX_INTERVAL_RANGE_DAYS:
        raise InvalidInput(
            f"range {start} to {end} is longer than {MAX_INTERVAL_RANGE_DAYS} days; "
            "estimate it in parts",
            code="invalid_range",
        )
    register = session.scalar(
        select(Register)
        .join(Meter, Meter.id == Register.meter_id)
        .where(Meter.serial == meter_serial, Register.interval.is_(True))
    )
    if register is None:
        raise NotFound(
            f"meter {meter_serial!r} not found or has no interval register; check the serial",
            code="interval_register_not_found",
        )
    begin = _local_midnight(start, zone)
    finish = _local_midnight(end, zone)
    earliest = _local_midnight(start - dt.timedelta(weeks=INTERVAL_HISTORY_WEEKS), zone)
    rows = session.execute(
        select(
            IntervalRead.start_at, IntervalRead.seconds, IntervalRead.value, IntervalRead.quality
        )
        .where(
            IntervalRead.register_id == register.id,
            IntervalRead.start_at >= earliest,
            IntervalRead.start_at < finish + dt.timedelta(seconds=interval_minutes * 60),
        )
        .order_by(IntervalRead.start_at)
    )
    stored = [
        MeteredInterval(start_at, seconds, value, register.unit, quality)
        for start_at, seconds, value, quality in rows
    ]
    in_range = [interval for interval in stored if begin <= interval.start < finish]
    result = estimate_interval_gaps(
        in_range,
        begin,
        finish,
        interval_minutes * 60,
        zone,
        history=stored,
        holidays=set(holidays),
    )
    report = IntervalEstimateReport(meter_serial, unfilled=result.unfilled)
    for estimate in result.estimates:
        session.add(
            IntervalRead(
                register_id=register.id,
                start_at=estimate.start,
                seconds=estimate.seconds,
                value=estimate.value,
                quality=ESTIMATED_QUALITY,
                estimate_method=str(estimate.method),
            )
        )
        report.created += 1
        method = str(estimate.method)
        report.by_method[method] = report.by_method.get(method, 0) + 1
    session.flush()
    record(
        session,
        actor=actor,
        action="reads.estimate_intervals",
        target=f"meter:{meter_serial}",
        arguments={"meter": meter_serial, "from": start.isoformat(), "to": end.isoformat()},
        outcome="estimated",
        detail=f"{report.created} estimated, {len(report.unfilled)} left empty",
    )
    return report
