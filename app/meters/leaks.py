"""Leak detection on interval registers: episodes opened, updated and closed by scans.

A scan loads each register's hours of the last 48 hours, or from the start of its
oldest open episode or of the intervals just imported when earlier, but not from more
than 31 days before. A burst is measured against the register's typical maximum hour
in the 7 days before those. Each query serves a chunk of registers. The scan runs the
rules of ``metering.leaks`` and matches each finding to a stored episode by (register,
kind, start), or to an episode of the same kind that it overlaps. A match is updated,
and a finding without one becomes a new episode. A new episode whose last hour is
within the last 24 hours is alerted once (see ``app.meters.leak_alerts``). An older one
is recorded without an alert, because a customer gains nothing from news of a leak that
stopped days ago.
"""

from __future__ import annotations

import datetime as dt
import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import cast

from celery import shared_task
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.db import session_scope, utcnow
from app.messaging.after_commit import apply_after_commit
from app.meters.flags import MeterFlag as MeterFlagRow
from app.meters.interval_queries import interval_rows
from app.meters.leak_alerts import store_and_alert
from app.meters.leak_models import LeakEpisode
from app.meters.models import IntervalRead, Register
from metering.leaks import (
    DEFAULT_THRESHOLDS,
    Finding,
    FindingKind,
    HourlySeries,
    LeakThresholds,
    MeterFlag,
    Severity,
    detect_flow,
    flag_findings,
    more_severe,
    thresholds_for_unit,
    typical_max_hourly,
)

log = logging.getLogger(__name__)

SCAN_TASK = "meters.scan_leaks"
SWEEP_TASK = "meters.sweep_leaks"

#: Hours a scan always runs the rules on.
SCAN_WINDOW = dt.timedelta(hours=48)
#: Hours before the scanned ones whose 95th percentile is a register's typical maximum
#: hour, which a burst must exceed several times over.
TYPICAL_SPAN = dt.timedelta(days=7)
#: The longest history a scan reads for an open episode.
# NOTE: an episode open for longer than this has its quantity counted from the start
# of this span only, and its start moves with the span.
MAX_LOOKBACK = dt.timedelta(days=31)
#: A new episode is alerted only when its last hour ended within this span before now.
ALERT_RECENT = dt.timedelta(hours=24)
#: Registers per query; the IN lists and the reads of a chunk stay in memory together.
CHUNK_SIZE = 2000
#: A meter flag stops counting this long after the meter last reported it.
FLAG_GAP = dt.timedelta(hours=24)

FLOW_KINDS = frozenset({FindingKind.LEAK, FindingKind.BURST})
FLAG_KINDS = frozenset({FindingKind.METER_LEAK, FindingKind.METER_BURST, FindingKind.BACKFLOW})


@dataclass
class ScanResult:
    """Counts of a scan's registers and episodes."""

    registers: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    alerted: int = 0


def scan_registers(
    session: Session,
    register_ids: Collection[int],
    *,
    now: dt.datetime | None = None,
    thresholds: LeakThresholds = DEFAULT_THRESHOLDS,
    since: dt.datetime | None = None,
) -> ScanResult:
    """Run the leak, burst and meter-flag rules on interval registers; update episodes.

    Registers that are not interval registers are skipped. ``thresholds`` are in
    gallons and are converted to each register's unit. Each register is scanned from
    ``SCAN_WINDOW`` before ``now``, or from ``since`` or the start of its oldest open
    episode when earlier, but never from more than ``MAX_LOOKBACK`` before. The caller
    commits.
    """
    now = now or utcnow()
    result = ScanResult()
    ordered = sorted(set(register_ids))
    for start in range(0, len(ordered), CHUNK_SIZE):
        _scan_chunk(session, ordered[start : start + CHUNK_SIZE], now, thresholds, result, since)
    log.info(
        "leak scan: %s registers, %s opened, %s updated, %s closed, %s alerted",
        result.registers,
        result.opened,
        result.updated,
        result.closed,
        result.alerted,
    )
    return result


def _scan_chunk(
    session: Session,
    register_ids: Sequence[int],
    now: dt.datetime,
    thresholds: LeakThresholds,
    result: ScanResult,
    since: dt.datetime | None,
) -> None:
    registers = {
        register_id: (meter_id, unit)
        for clause in matching(session, Register.id, register_ids)
        for register_id, meter_id, unit in session.execute(
            select(Register.id, Register.meter_id, Register.unit).where(
                clause, Register.interval.is_(True)
            )
        )
    }
    if not registers:
        return
    ids = sorted(registers)
    result.registers += len(ids)
    episodes = _load_episodes(session, ids, now - MAX_LOOKBACK)
    # Each register is scanned from the start of its oldest open episode, within limits.
    first = max(min(now - SCAN_WINDOW, since or now), now - MAX_LOOKBACK)
    sinces = dict.fromkeys(ids, first)
    for episode in episodes:
        if episode.closed_at is None and episode.kind != FindingKind.HIGH_USAGE.value:
            earliest = min(sinces[episode.register_id], episode.started_at)
            sinces[episode.register_id] = max(earliest, now - MAX_LOOKBACK)
    series = _load_series(session, registers, sinces, now)
    # Only an hour at or above the burst floor can start a burst, and only such a series
    # needs the register's typical maximum hour, which takes a query of its own.
    bursting = {}
    for register_id, hours in series.items():
        floor = thresholds_for_unit(registers[register_id][1], thresholds)
        if floor is not None and any(value >= floor.burst_floor for value in hours.values):
            bursting[register_id] = registers[register_id]
    typical = _typical_hours(session, bursting, sinces)
    for register_id, value in typical.items():
        series[register_id] = replace(series[register_id], typical_max=value)
    flags = _load_flags(session, registers, min(sinces.values()), now)

    findings: dict[int, list[Finding]] = {}
    for register_id, (_, unit) in registers.items():
        hourly = series.get(register_id)
        found: list[Finding] = []
        unit_thresholds = thresholds_for_unit(unit, thresholds)
        if hourly is not None and unit_thresholds is not None:
            found.extend(detect_flow(hourly, unit_thresholds))
        if register_id in flags:
            found.extend(
                flag_findings(flags[register_id], now=now, unit=unit, series=hourly, gap=FLAG_GAP)
            )
        findings[register_id] = found

    by_register: dict[int, list[LeakEpisode]] = defaultdict(list)
    for episode in episodes:
        by_register[episode.register_id].append(episode)
    new_episodes: list[LeakEpisode] = []
    for register_id in ids:
        new_episodes.extend(
            _reconcile(
                register_id,
                registers[register_id][1],
                findings[register_id],
                by_register[register_id],
                series.get(register_id),
                now,
                result,
            )
        )
    meter_of_register = {register_id: meter_id for register_id, (meter_id, _) in registers.items()}
    result.alerted += store_and_alert(
        session, new_episodes, meter_of_register, now=now, alert_after=now - ALERT_RECENT
    )


def _load_episodes(
    session: Session, register_ids: Sequence[int], since: dt.datetime
) -> list[LeakEpisode]:
    """Load the open episodes of the registers, and those closed since ``since``."""
    found: list[LeakEpisode] = []
    for clause in matching(session, LeakEpisode.register_id, register_ids):
        found.extend(
            session.scalars(
                select(LeakEpisode).where(
                    clause,
                    LeakEpisode.kind != FindingKind.HIGH_USAGE.value,
                    or_(LeakEpisode.closed_at.is_(None), LeakEpisode.closed_at >= since),
                )
            )
        )
    return found


def _load_series(
    session: Session,
    registers: dict[int, tuple[int, str]],
    sinces: dict[int, dt.datetime],
    until: dt.datetime,
) -> dict[int, HourlySeries]:
    """Load the hourly use of each register from its ``sinces`` entry up to ``until``.

    Interval reads shorter than an hour are summed into their UTC hour. The rows come
    ordered by start, so the intervals of one hour arrive together.
    """
    last = until - dt.timedelta(microseconds=1)
    windows = {register_id: (sinces[register_id], last) for register_id in registers}
    series: dict[int, HourlySeries] = {}
    for register_id, rows in groupby(interval_rows(session, windows), key=itemgetter(0)):
        starts: list[dt.datetime] = []
        values: list[Decimal] = []
        for _, start_at, _, value in rows:
            hour = start_at
            if start_at.minute or start_at.second or start_at.microsecond:
                hour = start_at.replace(minute=0, second=0, microsecond=0)
            if starts and starts[-1] == hour:
                values[-1] += value
            else:
                starts.append(hour)
                values.append(value)
        series[register_id] = HourlySeries(register_id, registers[register_id][1], starts, values)
    return series


def _typical_hours(
    session: Session, registers: dict[int, tuple[int, str]], sinces: dict[int, dt.datetime]
) -> dict[int, Decimal]:
    """Return each register's typical maximum hour over the ``TYPICAL_SPAN`` before its
    scan; a register with less than a day of hours there has none.

    PostgreSQL sums the hours and picks the percentile itself, so only one value per
    register comes back; SQLite's hours are loaded and ranked here.
    """
    if not registers:
        return {}
    if session.get_bind().dialect.name != "postgresql":
        befores = {register_id: sinces[register_id] - TYPICAL_SPAN for register_id in registers}
        until = max(sinces[register_id] for register_id in registers)
        history = _load_series(session, registers, befores, until)
        found = {}
        for register_id, hours in history.items():
            cut = bisect_left(hours.starts, sinces[register_id])
            typical = typical_max_hourly(hours.values[:cut])
            if typical is not None:
                found[register_id] = typical
        return found
    ids = sorted(registers)
    rows = session.connection().exec_driver_sql(
        _TYPICAL_SQL,
        {
            "ids": ids,
            "sinces": [sinces[register_id] - TYPICAL_SPAN for register_id in ids],
            "untils": [sinces[register_id] for register_id in ids],
        },
    )
    pairs = [cast(tuple[int, Decimal | None], tuple(row)) for row in rows]
    return {register_id: value for register_id, value in pairs if value is not None}


# The same rank as metering.leaks.typical_max_hourly: the value at 0-based index
# min(n - 1, 95 * n // 100) of the sorted hours, and none for fewer than 24 hours.
_TYPICAL_SQL = (
    "SELECT span.register_id, ranked.typical "
    "FROM unnest(%(ids)s::integer[], %(sinces)s::timestamptz[], %(untils)s::timestamptz[]) "
    "AS span (register_id, since, until) "
    "CROSS JOIN LATERAL (SELECT CASE WHEN count(*) >= 24 THEN "
    "(array_agg(total ORDER BY total))[least(count(*), 95 * count(*) / 100 + 1)] END "
    "AS typical FROM (SELECT sum(value) AS total FROM interval_reads "
    "WHERE register_id = span.register_id AND start_at >= span.since "
    "AND start_at < span.until GROUP BY date_trunc('hour', start_at, 'UTC')) AS hours) "
    "AS ranked"
)


def _load_flags(
    session: Session,
    registers: dict[int, tuple[int, str]],
    since: dt.datetime,
    until: dt.datetime,
) -> dict[int, list[MeterFlag]]:
    """Load leak, burst and backflow flags, each on its register.

    A flag that names no register goes to the meter's interval register with the
    lowest id.
    """
    register_of_meter: dict[int, int] = {}
    for register_id, (meter_id, _) in sorted(registers.items()):
        register_of_meter.setdefault(meter_id, register_id)
    flags: dict[int, list[MeterFlag]] = defaultdict(list)
    for clause in matching(session, MeterFlagRow.meter_id, sorted(register_of_meter)):
        rows = session.execute(
            select(
                MeterFlagRow.meter_id,
                MeterFlagRow.register_id,
                MeterFlagRow.flag,
                MeterFlagRow.flagged_at,
            ).where(
                clause,
                MeterFlagRow.flag.in_(("leak", "burst", "backflow")),
                MeterFlagRow.flagged_at >= since,
                MeterFlagRow.flagged_at < until,
            )
        )
        for meter_id, flag_register_id, flag, flagged_at in rows:
            target = register_of_meter[meter_id]
            if flag_register_id is not None and flag_register_id in registers:
                target = flag_register_id
            flags[target].append(MeterFlag(target, flag, flagged_at))
    return flags


def _reconcile(
    register_id: int,
    unit: str,
    findings: Iterable[Finding],
    episodes: list[LeakEpisode],
    series: HourlySeries | None,
    now: dt.datetime,
    result: ScanResult,
) -> list[LeakEpisode]:
    """Update the register's stored episodes from the findings; return the new ones."""
    by_key = {(e.kind, e.started_at): e for e in episodes}
    matched: set[int] = set()
    created: list[LeakEpisode] = []
    for finding in findings:
        episode = by_key.get((finding.kind.value, finding.started_at)) or _overlapping(
            episodes, finding
        )
        if episode is None:
            created.append(_new_episode(finding, now))
            result.opened += 1
            continue
        matched.add(id(episode))
        if episode.closed_at is not None:
            continue
        _update(episode, finding, now, result)
    for episode in episodes:
        if id(episode) in matched or episode.closed_at is not None:
            continue
        # An open episode that no finding matches has ended before this scan's data.
        if _ended_unseen(episode, series, now):
            episode.closed_at = episode.last_seen_at
            episode.updated_at = now
            result.closed += 1
    return created


def _overlapping(episodes: Iterable[LeakEpisode], finding: Finding) -> LeakEpisode | None:
    """Return the episode of the finding's kind that it overlaps, open or closed.

    A scan that starts after an episode began reads only the later part of its run, so
    the finding starts later than the episode and matches it only by overlapping.
    """
    for episode in episodes:
        if (
            episode.kind == finding.kind.value
            and episode.started_at <= finding.last_seen_at
            and finding.started_at <= episode.last_seen_at
        ):
            return episode
    return None


def _update(episode: LeakEpisode, finding: Finding, now: dt.datetime, result: ScanResult) -> None:
    episode.severity = more_severe(Severity(episode.severity), finding.severity).value
    episode.last_seen_at = max(episode.last_seen_at, finding.last_seen_at)
    episode.quantity = max(episode.quantity, finding.quantity)
    episode.updated_at = now
    result.updated += 1
    if finding.closed_at is not None:
        episode.closed_at = finding.closed_at
        result.closed += 1


def _ended_unseen(episode: LeakEpisode, series: HourlySeries | None, now: dt.datetime) -> bool:
    if FindingKind(episode.kind) in FLAG_KINDS:
        return now - episode.last_seen_at >= FLAG_GAP
    # A flow episode ends once an hour after it has been read without extending it.
    return series is not None and bool(series.starts) and series.starts[-1] >= episode.last_seen_at


def _new_episode(finding: Finding, now: dt.datetime) -> LeakEpisode:
    return LeakEpisode(
        register_id=finding.register_id,
        kind=finding.kind.value,
        severity=finding.severity.value,
        started_at=finding.started_at,
        last_seen_at=finding.last_seen_at,
        closed_at=finding.closed_at,
        quantity=finding.quantity,
        unit=finding.unit,
        created_at=now,
        updated_at=now,
    )


def interval_registers_read_since(session: Session, since: dt.datetime) -> list[int]:
    """Return the registers that received interval reads starting at ``since`` or later."""
    return list(
        session.scalars(
            select(IntervalRead.register_id).where(IntervalRead.start_at >= since).distinct()
        )
    )


def queue_scan(
    session: Session, register_ids: Collection[int], since: dt.datetime | None = None
) -> None:
    """Scan ``register_ids`` in a Celery task once the session commits.

    ``since``, the first start of the intervals just stored, makes the scan reach back
    to it, so that a file of older hours is scanned too.
    """
    if register_ids:
        moment = since.astimezone(dt.UTC).isoformat() if since is not None else None
        apply_after_commit(session, SCAN_TASK, [sorted(set(register_ids)), moment])


@shared_task(name=SCAN_TASK)
def scan_task(register_ids: list[int], since: str | None = None) -> dict[str, int]:
    """Scan the registers that just received interval reads."""
    with session_scope() as session:
        moment = dt.datetime.fromisoformat(since) if since is not None else None
        result = scan_registers(session, register_ids, since=moment)
    return vars(result)


@shared_task(name=SWEEP_TASK)
def sweep_task(hours: int = 26) -> dict[str, int]:
    """Scan every interval register with reads in the last ``hours`` hours.

    Beat runs this every hour. It also closes episodes whose meters went quiet and
    catches registers whose scan task was lost.
    """
    now = utcnow()
    with session_scope() as session:
        register_ids = interval_registers_read_since(session, now - dt.timedelta(hours=hours))
        open_registers = session.scalars(
            select(LeakEpisode.register_id).where(LeakEpisode.closed_at.is_(None)).distinct()
        )
        result = scan_registers(session, {*register_ids, *open_registers}, now=now)
    return vars(result)
