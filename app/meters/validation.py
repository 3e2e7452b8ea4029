"""Validate stored reads (VEE): set each pending read valid or held and keep the findings.

Importers and the Modbus poller store register reads as ``pending`` and call
``app.meters.after_store.reads_stored``, which calls ``validate_reads`` and
``validate_interval_data`` here in the same transaction. The rules themselves are in
``metering.validation``. Each call loads the pending reads, the registers and their
history in a few queries, whatever the number of reads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.db import utcnow
from app.meters.interval_queries import interval_rows, max_interval_before, neighbour_edges
from app.meters.models import IntervalRead, MeterInstallation, Read, ReadStatus, Register
from app.meters.validation_models import FindingSeverity, FindingStatus, ReadFinding
from app.premises.models import Premise, ServiceAgreement
from app.settings import get_settings
from metering.types import IntervalRead as IntervalPoint
from metering.validation import (
    Finding,
    ReadPoint,
    RegisterSpec,
    Thresholds,
    needs_typical_max,
    validate_intervals,
    validate_register_reads,
)

log = logging.getLogger(__name__)

#: Days of accepted reads loaded before a register's earliest pending read: the history
#: window plus room for the previous read of a read taken after a long gap.
#: NOTE: a register read every 15 minutes has about 11,500 reads in that span, loaded for
#: each poll. The rule checks alone took about 27 ms for such a register (2 vCPUs, CPython
#: 3.11), so many such devices may call for a shorter span or a stored running average.
PREVIOUS_READ_DAYS = 120
#: Interval data checked per register: the last days before its newest interval.
INTERVAL_CHECK_DAYS = 35
#: Days before the checked window whose largest interval is the register's typical max.
INTERVAL_HISTORY_DAYS = 90
#: Reads per ``IN`` list, below the bind-parameter limits of SQLite and PostgreSQL.
BATCH = 500
#: Registers whose interval data is checked together: fewer, larger queries, and at
#: most a few hundred thousand intervals in memory at once.
INTERVAL_BATCH = 5000
#: Decimal places that fit a ``Quantity`` column.
QUANTITY_PLACES = Decimal("0.000001")


@dataclass
class ValidationSummary:
    """Counts of one validation pass, and the ids of the reads it held."""

    validated: int = 0
    held_read_ids: list[int] = field(default_factory=list)
    findings: int = 0


def thresholds_from_settings() -> Thresholds:
    """Return the validation thresholds, with the ones the settings make configurable."""
    settings = get_settings()
    return Thresholds(
        high_usage_ratio=settings.vee_high_usage_ratio,
        low_usage_ratio=settings.vee_low_usage_ratio,
        zero_consumption_days=settings.vee_zero_consumption_days,
        gap_days=settings.vee_gap_days,
        spike_ratio=settings.vee_spike_ratio,
    )


def _batches(ids: Iterable[int], size: int = BATCH) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _quantity(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(QUANTITY_PLACES)


def _register_specs(
    session: Session, register_ids: Collection[int], on_dates: dict[int, dt.date]
) -> dict[int, RegisterSpec]:
    """Describe each register, active when an agreement bills its premise's service.

    A register is active when an agreement of its meter's service at a premise where
    the meter is installed covers the register's latest pending read date.
    """
    windows: dict[int, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
    rows = session.execute(
        select(Register.id, ServiceAgreement.start_date, ServiceAgreement.end_date)
        .join(MeterInstallation, MeterInstallation.meter_id == Register.meter_id)
        .join(
            ServiceAgreement,
            (ServiceAgreement.premise_id == MeterInstallation.premise_id)
            & (ServiceAgreement.service == MeterInstallation.service),
        )
        .where(Register.id.in_(register_ids))
    )
    for register_id, start, end in rows:
        windows[register_id].append((start, end))

    specs = {}
    registers = session.execute(
        select(Register.id, Register.unit, Register.multiplier, Register.dials).where(
            Register.id.in_(register_ids)
        )
    )
    for register_id, unit, multiplier, dials in registers:
        day = on_dates[register_id]
        active = any(
            start <= day and (end is None or day < end) for start, end in windows[register_id]
        )
        specs[register_id] = RegisterSpec(
            unit=unit,
            multiplier=multiplier,
            modulus=Decimal(10) ** dials if dials is not None else None,
            active=active,
        )
    return specs


def _existing_keys(session: Session, keys: Collection[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), BATCH):
        found.update(
            session.scalars(
                select(ReadFinding.finding_key).where(
                    ReadFinding.finding_key.in_(ordered[start : start + BATCH])
                )
            )
        )
    return found


def _finding_row(
    key: str,
    register_id: int,
    finding: Finding,
    *,
    read_id: int | None = None,
    interval_start_at: dt.datetime | None = None,
) -> dict[str, object]:
    return {
        "finding_key": key,
        "register_id": register_id,
        "read_id": read_id,
        "interval_start_at": interval_start_at,
        "rule": finding.code.value,
        "severity": FindingSeverity(finding.severity.value),
        "detail": finding.detail,
        "measured": _quantity(finding.measured),
        "threshold": _quantity(finding.threshold),
        "status": FindingStatus.OPEN,
        "created_at": utcnow(),
    }


def _store_findings(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the findings not already on file; return how many were new."""
    if not rows:
        return 0
    existing = _existing_keys(session, [str(row["finding_key"]) for row in rows])
    new_rows = [row for row in rows if row["finding_key"] not in existing]
    if new_rows:
        session.execute(insert(ReadFinding), new_rows)
    return len(new_rows)


def validate_reads(
    session: Session,
    *,
    register_ids: Collection[int] | None = None,
    limits: Thresholds | None = None,
) -> ValidationSummary:
    """Validate the pending reads of ``register_ids`` (all registers when None).

    Each pending read becomes ``valid`` or ``held`` and its findings are stored. Reads
    of one register are checked in time order against its valid reads, so a pending read
    is compared with the one before it even when both arrived in this batch.
    """
    limits = limits or thresholds_from_settings()
    query = select(Read).where(Read.status == ReadStatus.PENDING)
    if register_ids is not None:
        if not register_ids:
            return ValidationSummary()
        query = query.where(Read.register_id.in_(register_ids))
    pending_by_register: dict[int, list[Read]] = defaultdict(list)
    for pending_read in session.scalars(query):
        pending_by_register[pending_read.register_id].append(pending_read)
    summary = ValidationSummary()
    if not pending_by_register:
        return summary

    earliest = {rid: min(r.read_date for r in rows) for rid, rows in pending_by_register.items()}
    latest = {rid: max(r.read_date for r in rows) for rid, rows in pending_by_register.items()}
    specs = _register_specs(session, list(pending_by_register), latest)
    accepted = _accepted_reads(session, earliest)

    finding_rows: list[dict[str, object]] = []
    for register_id, pending in pending_by_register.items():
        by_id: dict[Hashable, Read] = {pending_read.id: pending_read for pending_read in pending}
        points = [ReadPoint(r.id, r.read_date, r.read_at, r.value) for r in pending]
        verdicts = validate_register_reads(
            specs[register_id], accepted.get(register_id, []), points, limits
        )
        for verdict in verdicts:
            stored = by_id[verdict.key]
            stored.status = ReadStatus.HELD if verdict.held else ReadStatus.VALID
            summary.validated += 1
            if verdict.held:
                summary.held_read_ids.append(stored.id)
            for finding in verdict.findings:
                key = f"read:{stored.id}:{finding.code.value}"
                finding_rows.append(_finding_row(key, register_id, finding, read_id=stored.id))
    session.flush()
    summary.findings = _store_findings(session, finding_rows)
    if summary.held_read_ids:
        log.info(
            "validation held %d of %d reads: ids %s",
            len(summary.held_read_ids),
            summary.validated,
            summary.held_read_ids[:20],
        )
    return summary


def _accepted_reads(session: Session, earliest: dict[int, dt.date]) -> dict[int, list[ReadPoint]]:
    """Load the valid reads of each register from before its earliest pending read on.

    NOTE: a read whose previous valid read is more than ``PREVIOUS_READ_DAYS`` older
    is validated as a register's first read, so drops and usage are not checked for it.
    """
    accepted: dict[int, list[ReadPoint]] = defaultdict(list)
    since = min(earliest.values()) - dt.timedelta(days=PREVIOUS_READ_DAYS)
    for batch in _batches(earliest):
        rows = session.execute(
            select(Read.id, Read.register_id, Read.read_date, Read.read_at, Read.value)
            .where(
                Read.register_id.in_(batch),
                Read.status == ReadStatus.VALID,
                Read.read_date >= since,
            )
            .order_by(Read.register_id, Read.read_date, Read.read_key)
        )
        for read_id, register_id, read_date, read_at, value in rows:
            if read_date >= earliest[register_id] - dt.timedelta(days=PREVIOUS_READ_DAYS):
                accepted[register_id].append(ReadPoint(read_id, read_date, read_at, value))
    return accepted


def validate_interval_data(
    session: Session,
    *,
    register_ids: Collection[int],
    limits: Thresholds | None = None,
    spans: Mapping[int, tuple[dt.datetime, dt.datetime]] | None = None,
) -> int:
    """Check the interval data of ``register_ids`` and store new findings.

    ``spans`` gives, per register, the first and last start of the intervals just
    stored. Those are checked together with the stored neighbours the rules compare
    them with: the intervals on each side that the spike rule looks at, which include
    the ones either side of a gap. A register without a span has the last
    ``INTERVAL_CHECK_DAYS`` before its newest interval checked. Interval reads have no
    status, so the findings are for review only and nothing is held. Registers are
    checked ``BATCH`` at a time, which bounds memory. Returns the number of new findings.
    """
    limits = limits or thresholds_from_settings()
    spans = spans or {}
    found = 0
    for batch in _batches(register_ids, INTERVAL_BATCH):
        windows = _interval_windows(session, batch, spans, max(1, limits.spike_neighbours))
        if windows:
            found += _validate_interval_windows(session, windows, limits)
    return found


def _interval_windows(
    session: Session,
    register_ids: list[int],
    spans: Mapping[int, tuple[dt.datetime, dt.datetime]],
    neighbours: int,
) -> dict[int, tuple[dt.datetime, dt.datetime | None]]:
    """Return the first and last start to check of each register; None for no limit."""
    spanned = {
        register_id: spans[register_id] for register_id in register_ids if register_id in spans
    }
    windows: dict[int, tuple[dt.datetime, dt.datetime | None]] = dict(
        neighbour_edges(session, spanned, neighbours)
    )
    unspanned = [register_id for register_id in register_ids if register_id not in spans]
    if unspanned:
        newest = session.execute(
            select(IntervalRead.register_id, func.max(IntervalRead.start_at))
            .where(IntervalRead.register_id.in_(unspanned))
            .group_by(IntervalRead.register_id)
        ).all()
        window = dt.timedelta(days=INTERVAL_CHECK_DAYS)
        for register_id, last in newest:
            windows[register_id] = (last - window, None)
    return windows


def _validate_interval_windows(
    session: Session,
    windows: dict[int, tuple[dt.datetime, dt.datetime | None]],
    limits: Thresholds,
) -> int:
    units = {
        register_id: unit
        for clause in matching(session, Register.id, sorted(windows))
        for register_id, unit in session.execute(select(Register.id, Register.unit).where(clause))
    }
    by_register: dict[int, list[IntervalPoint]] = {}
    for register_id, rows in groupby(interval_rows(session, windows), key=itemgetter(0)):
        unit = units[register_id]
        by_register[register_id] = [
            IntervalPoint(start, length, value, unit) for _, start, length, value in rows
        ]
    # The largest interval of the history is looked up only where a spike is possible.
    typical = max_interval_before(
        session,
        {
            register_id: windows[register_id][0]
            for register_id, intervals in by_register.items()
            if needs_typical_max(intervals, limits)
        },
        dt.timedelta(days=INTERVAL_HISTORY_DAYS),
    )
    finding_rows = []
    for register_id, intervals in by_register.items():
        for verdict in validate_intervals(
            intervals, typical_max=typical.get(register_id), limits=limits
        ):
            start_key = verdict.start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            key = f"interval:{register_id}:{start_key}:{verdict.finding.code.value}"
            finding_rows.append(
                _finding_row(key, register_id, verdict.finding, interval_start_at=verdict.start)
            )
    return _store_findings(session, finding_rows)


def validate_cycle_reads(session: Session, cycle_id: int) -> ValidationSummary:
    """Validate the pending reads of every register installed at the cycle's premises."""
    register_ids = set(
        session.scalars(
            select(Read.register_id)
            .join(Register, Register.id == Read.register_id)
            .join(MeterInstallation, MeterInstallation.meter_id == Register.meter_id)
            .join(Premise, Premise.id == MeterInstallation.premise_id)
            .where(Read.status == ReadStatus.PENDING, Premise.cycle_id == cycle_id)
            .distinct()
        )
    )
    if not register_ids:
        return ValidationSummary()
    return validate_reads(session, register_ids=register_ids)
