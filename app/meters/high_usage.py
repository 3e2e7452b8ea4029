"""High-usage checks on interval registers: the latest days against earlier periods.

The period is the ``days`` local days before ``today`` (7 by default). Its use is
compared with the same dates last year, else with the average of the three periods of
the same length just before it (``metering.leaks.high_usage``). Each sum is one
grouped query over all registers, so the database adds the hours.

While a register's use stays high, its one open ``high_usage`` episode is updated with
the latest period's use, so a customer hears once. The episode closes on the first
check that finds use normal again; a later high period is a new episode and alerts
again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from decimal import Decimal

from celery import shared_task
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.db import session_scope, utcnow
from app.meters.leak_alerts import store_and_alert
from app.meters.leak_models import LeakEpisode
from app.meters.leaks import ScanResult
from app.meters.models import IntervalRead, Register
from app.settings import get_settings
from billing_engine.units import convert
from metering.leaks import (
    WATER_UNITS,
    FindingKind,
    HighUsageThresholds,
    Severity,
    high_usage,
    more_severe,
)

log = logging.getLogger(__name__)

SWEEP_TASK = "meters.sweep_high_usage"

#: The default minimum in gallons; registers in other volume units get it converted.
DEFAULT_HIGH_USAGE = HighUsageThresholds()


def check_high_usage(
    session: Session,
    *,
    today: dt.date,
    days: int = 7,
    register_ids: Collection[int] | None = None,
    thresholds: HighUsageThresholds = DEFAULT_HIGH_USAGE,
    now: dt.datetime | None = None,
) -> ScanResult:
    """Compare each water interval register's last ``days`` days with earlier periods.

    ``today`` is the local date the period ends before. ``register_ids`` None checks
    every water interval register. ``thresholds.minimum`` is in gallons. The caller
    commits.
    """
    now = now or utcnow()
    zone = get_settings().zone
    registers = _water_registers(session, register_ids)
    result = ScanResult(registers=len(registers))
    if not registers:
        return result

    current_start = today - dt.timedelta(days=days)
    current = _sums(session, registers, current_start, today, zone)
    last_year = _sums(session, registers, _year_before(current_start), _year_before(today), zone)
    previous = [
        _sums(
            session,
            registers,
            current_start - dt.timedelta(days=days * back),
            current_start - dt.timedelta(days=days * (back - 1)),
            zone,
        )
        for back in (3, 2, 1)
    ]
    period_start = _local_midnight(current_start, zone)
    period_end = _local_midnight(today, zone)

    open_episodes = {
        episode.register_id: episode
        for clause in matching(session, LeakEpisode.register_id, sorted(registers))
        for episode in session.scalars(
            select(LeakEpisode).where(
                clause,
                LeakEpisode.kind == FindingKind.HIGH_USAGE.value,
                LeakEpisode.closed_at.is_(None),
            )
        )
    }
    new_episodes: list[LeakEpisode] = []
    for register_id, (_, unit) in registers.items():
        minimum = convert(thresholds.minimum, "gal", unit)
        periods = [period.get(register_id) for period in previous]
        found = high_usage(
            current.get(register_id, Decimal(0)),
            last_year=last_year.get(register_id),
            previous=[value for value in periods if value is not None]
            if all(value is not None for value in periods)
            else [],
            thresholds=HighUsageThresholds(thresholds.ratio, minimum, thresholds.major_ratio),
        )
        episode = open_episodes.get(register_id)
        if found is None:
            if episode is not None:
                episode.closed_at = period_end
                episode.updated_at = now
                result.closed += 1
            continue
        if episode is not None:
            episode.severity = more_severe(Severity(episode.severity), found.severity).value
            episode.last_seen_at = period_end
            episode.quantity = found.quantity
            episode.updated_at = now
            result.updated += 1
            continue
        new_episodes.append(
            LeakEpisode(
                register_id=register_id,
                kind=FindingKind.HIGH_USAGE.value,
                severity=found.severity.value,
                started_at=period_start,
                last_seen_at=period_end,
                quantity=found.quantity,
                unit=unit,
                created_at=now,
                updated_at=now,
            )
        )
        log.info(
            "high usage on register %s: %s %s, %.2f times %s",
            register_id,
            found.quantity,
            unit,
            found.ratio,
            found.basis,
        )
    result.opened = len(new_episodes)
    meter_of_register = {register_id: meter_id for register_id, (meter_id, _) in registers.items()}
    result.alerted = store_and_alert(session, new_episodes, meter_of_register, now=now)
    return result


def _water_registers(
    session: Session, register_ids: Collection[int] | None
) -> dict[int, tuple[int, str]]:
    query = select(Register.id, Register.meter_id, Register.unit).where(
        Register.interval.is_(True), Register.unit.in_(sorted(WATER_UNITS))
    )
    if register_ids is None:
        return {row[0]: (row[1], row[2]) for row in session.execute(query)}
    found: dict[int, tuple[int, str]] = {}
    for clause in matching(session, Register.id, sorted(set(register_ids))):
        found.update({row[0]: (row[1], row[2]) for row in session.execute(query.where(clause))})
    return found


def _sums(
    session: Session,
    registers: dict[int, tuple[int, str]],
    first_day: dt.date,
    end_day: dt.date,
    zone: dt.tzinfo,
) -> dict[int, Decimal]:
    """Sum each register's intervals that start on local dates from ``first_day`` up to
    ``end_day`` (excluded)."""
    since, until = _local_midnight(first_day, zone), _local_midnight(end_day, zone)
    sums: dict[int, Decimal] = {}
    for clause in matching(session, IntervalRead.register_id, sorted(registers)):
        rows = session.execute(
            select(IntervalRead.register_id, func.sum(IntervalRead.value))
            .where(clause, IntervalRead.start_at >= since, IntervalRead.start_at < until)
            .group_by(IntervalRead.register_id)
        )
        for register_id, total in rows:
            sums[register_id] = Decimal(total)
    return sums


def _local_midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _year_before(day: dt.date) -> dt.date:
    """Return the same date a year earlier; February 29 becomes February 28."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@shared_task(name=SWEEP_TASK)
def sweep_task(days: int = 7) -> dict[str, int]:
    """Check every water interval register's last ``days`` local days; beat runs it daily."""
    with session_scope() as session:
        result = check_high_usage(session, today=get_settings().today(), days=days)
    return vars(result)
