"""Leak detection on interval registers: episodes opened, updated and closed by scans.

A scan loads each register's interval reads and meter flags since the start of its
oldest open episode, in one query per chunk of registers. The span is at least the
last 7 days and at most the last 31. The scan runs the rules of ``metering.leaks`` and matches
each finding to a stored episode by (register, kind, start), or to an open episode of
the same kind that it overlaps. A match is updated, and a finding without one becomes
a new episode. A new episode whose last hour is within the last 24 hours is alerted
once (see ``app.meters.leak_alerts``). An older one is recorded without an alert,
because a customer gains nothing from news of a leak that stopped days ago.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from celery import shared_task
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.db import session_scope, utcnow
from app.messaging.after_commit import apply_after_commit
from app.meters.flags import MeterFlag as MeterFlagRow
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
)

log = logging.getLogger(__name__)

SCAN_TASK = "meters.scan_leaks"
SWEEP_TASK = "meters.sweep_leaks"

#: Hours of history a scan always reads, so a burst has a typical use to compare with.
LOOKBACK = dt.timedelta(days=7)
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
) -> ScanResult:
    """Run the leak, burst and meter-flag rules on interval registers; update episodes.

    Registers that are not interval registers are skipped. ``thresholds`` are in
    gallons and are converted to each register's unit. The caller commits.
    """
    now = now or utcnow()
    result = ScanResult()
    ordered = sorted(set(register_ids))
    for start in range(0, len(ordered), CHUNK_SIZE):
        _scan_chunk(session, ordered[start : start + CHUNK_SIZE], now, thresholds, result)
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
    open_starts = [e.started_at for e in episodes if e.closed_at is None and e.kind != "high_usage"]
    since = max(min([now - LOOKBACK, *open_starts]), now - MAX_LOOKBACK)
    series = _load_series(session, registers, since, now)
    flags = _load_flags(session, registers, since, now)

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
    since: dt.datetime,
    until: dt.datetime,
) -> dict[int, HourlySeries]:
    """Load the hourly use of each register from ``since`` up to ``until``.

    Interval reads shorter than an hour are summed into their UTC hour.
    """
    hours: dict[int, dict[dt.datetime, object]] = defaultdict(dict)
    for clause in matching(session, IntervalRead.register_id, sorted(registers)):
        rows = session.execute(
            select(IntervalRead.register_id, IntervalRead.start_at, IntervalRead.value)
            .where(clause, IntervalRead.start_at >= since, IntervalRead.start_at < until)
            .order_by(IntervalRead.register_id, IntervalRead.start_at)
        )
        for register_id, start_at, value in rows:
            hour = start_at.replace(minute=0, second=0, microsecond=0)
            bucket = hours[register_id]
            bucket[hour] = bucket[hour] + value if hour in bucket else value  # type: ignore[operator]
    series: dict[int, HourlySeries] = {}
    for register_id, bucket in hours.items():
        starts = sorted(bucket)
        series[register_id] = HourlySeries(
            register_id,
            registers[register_id][1],
            starts,
            [bucket[hour] for hour in starts],  # type: ignore[misc]
        )
    return series


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
        episode = by_key.get((finding.kind.value, finding.started_at)) or _overlapping_open(
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


def _overlapping_open(episodes: Iterable[LeakEpisode], finding: Finding) -> LeakEpisode | None:
    for episode in episodes:
        if (
            episode.closed_at is None
            and episode.kind == finding.kind.value
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


def queue_scan(session: Session, register_ids: Collection[int]) -> None:
    """Scan ``register_ids`` in a Celery task once the session commits."""
    if register_ids:
        apply_after_commit(session, SCAN_TASK, [sorted(set(register_ids))])


@shared_task(name=SCAN_TASK)
def scan_task(register_ids: list[int]) -> dict[str, int]:
    """Scan the registers that just received interval reads."""
    with session_scope() as session:
        result = scan_registers(session, register_ids)
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
