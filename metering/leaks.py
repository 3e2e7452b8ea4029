"""Leak, burst and high-usage detection over hourly consumption.

The rules, for one register's hourly series (consumption per hour, in the register's
unit):

- continuous flow: no hour without flow for ``window_hours`` (24) hours in a row is a
  leak of severity ``minor``;
- flow floor: every hour of such a run at or above ``leak_floor`` raises it to
  ``major``, and at or above ``critical_floor`` to ``critical``;
- burst: ``burst_hours`` hours in a row at or above ``burst_floor`` and at least
  ``burst_factor`` times the register's typical maximum hourly use;
- meter flags: a leak, burst or backflow flag that the meter itself reported;
- high usage: a period's use at least ``ratio`` times the same period last year or the
  average of the three periods before it, and at least ``minimum`` in all.

Hours are real elapsed hours keyed by their UTC start, so "24 hours in a row" spans 24
hours of a spring-forward day plus one hour of the day before, and fits inside a
fall-back day, which has 25. An hour missing from the series breaks a run, because
nothing shows that water flowed in it.

Each finding is an episode: a start, the end of its last hour, an end when it closed
(None while open), a severity and the quantity used since it started. A leak closes at
the first hour without flow. A leak that reached ``major`` or ``critical`` also closes
after ``close_after_hours`` hours in a row below ``leak_floor``. A burst closes at the
first hour below its level.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing_engine.units import Unit, convert
from metering.types import IntervalRead

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Finding",
    "FindingKind",
    "HighUsageThresholds",
    "HourlySeries",
    "LeakThresholds",
    "MeterFlag",
    "Severity",
    "detect_flow",
    "flag_findings",
    "high_usage",
    "hourly_series",
    "thresholds_for_unit",
]

HOUR = timedelta(hours=1)
_ZERO = Decimal(0)


class FindingKind(enum.StrEnum):
    LEAK = "leak"
    BURST = "burst"
    #: Flags the meter reported itself (wM-Bus and AMI meters detect these).
    METER_LEAK = "meter_leak"
    METER_BURST = "meter_burst"
    BACKFLOW = "backflow"
    HIGH_USAGE = "high_usage"


class Severity(enum.StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


_SEVERITY_ORDER = {Severity.MINOR: 0, Severity.MAJOR: 1, Severity.CRITICAL: 2}


def more_severe(first: Severity, second: Severity) -> Severity:
    """Return the more severe of two severities."""
    return first if _SEVERITY_ORDER[first] >= _SEVERITY_ORDER[second] else second


@dataclass(frozen=True)
class LeakThresholds:
    """Flow thresholds in one unit, per hour of consumption.

    The defaults are for gallons; :func:`thresholds_for_unit` converts them exactly.
    """

    unit: str = "gal"
    #: Hours in a row that make a run of flow a leak.
    window_hours: int = 24
    #: Every hour of the run at or above this makes the leak ``major``.
    leak_floor: Decimal = Decimal("1")
    #: Every hour of the run at or above this makes the leak ``critical``.
    critical_floor: Decimal = Decimal("60")
    #: Hours in a row below ``leak_floor`` that close a major or critical leak.
    close_after_hours: int = 2
    #: A burst hour is at or above this ...
    burst_floor: Decimal = Decimal("300")
    #: ... and at least this many times the register's typical maximum hourly use ...
    burst_factor: Decimal = Decimal("4")
    #: ... for this many hours in a row.
    burst_hours: int = 2

    def __post_init__(self) -> None:
        if self.window_hours < 1 or self.close_after_hours < 1 or self.burst_hours < 1:
            raise ValueError(
                "window_hours, close_after_hours and burst_hours must be at least 1 hour, "
                f"not {self.window_hours}, {self.close_after_hours} and {self.burst_hours}"
            )
        if not _ZERO < self.leak_floor <= self.critical_floor:
            raise ValueError(
                f"leak_floor {self.leak_floor} must be above 0 and at most critical_floor "
                f"{self.critical_floor}"
            )


#: Gallon thresholds; other water units get them converted.
DEFAULT_THRESHOLDS = LeakThresholds()

#: Units whose registers measure water; gas and electric registers get no flow rules,
#: because a pilot light or a refrigerator uses energy around the clock.
WATER_UNITS = frozenset({Unit.GAL, Unit.FT3, Unit.CCF, Unit.KGAL, Unit.M3})


def thresholds_for_unit(
    unit: str, base: LeakThresholds = DEFAULT_THRESHOLDS
) -> LeakThresholds | None:
    """Convert ``base`` to ``unit``; None when the unit is not a water volume."""
    if unit not in WATER_UNITS:
        return None
    if unit == base.unit:
        return base
    return replace(
        base,
        unit=unit,
        leak_floor=convert(base.leak_floor, base.unit, unit),
        critical_floor=convert(base.critical_floor, base.unit, unit),
        burst_floor=convert(base.burst_floor, base.unit, unit),
    )


@dataclass(frozen=True)
class HourlySeries:
    """One register's consumption per hour, ordered by hour.

    ``starts`` are aware UTC instants on the hour; ``values`` are in ``unit``.
    ``typical_max`` is the register's usual maximum hourly use, if the caller knows it.
    """

    register_id: int
    unit: str
    starts: Sequence[datetime]
    values: Sequence[Decimal]
    typical_max: Decimal | None = None

    def __post_init__(self) -> None:
        if len(self.starts) != len(self.values):
            raise ValueError(
                f"register {self.register_id}: {len(self.starts)} hour starts but "
                f"{len(self.values)} values; give one value per hour"
            )


@dataclass(frozen=True)
class Finding:
    """One episode of a rule on one register."""

    register_id: int
    kind: FindingKind
    severity: Severity
    started_at: datetime
    #: The end of the last hour (or the instant of the last flag) that belongs to it.
    last_seen_at: datetime
    #: When it closed; None while it is still open at the end of the series.
    closed_at: datetime | None
    #: Use since ``started_at`` in ``unit``.
    quantity: Decimal
    unit: str
    details: dict[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def hourly_series(
    register_id: int,
    intervals: Iterable[IntervalRead],
    *,
    typical_max: Decimal | None = None,
) -> HourlySeries:
    """Sum interval reads into the UTC hours they start in.

    Quarter-hour and five-minute data thus become hourly. An interval longer than an
    hour counts wholly in the hour it starts, so pass hourly or shorter data.
    Raises ValueError when the intervals have more than one unit.
    """
    totals: dict[datetime, Decimal] = {}
    units: set[str] = set()
    for interval in intervals:
        units.add(interval.unit)
        hour = interval.start
        # Hourly UTC data, the common case, needs neither conversion.
        if hour.tzinfo is not UTC:
            hour = hour.astimezone(UTC)
        if hour.minute or hour.second or hour.microsecond:
            hour = hour.replace(minute=0, second=0, microsecond=0)
        totals[hour] = totals.get(hour, _ZERO) + interval.value
    if len(units) > 1:
        raise ValueError(
            f"register {register_id}: intervals have several units "
            f"({', '.join(sorted(units))}); detect each register's unit separately"
        )
    ordered = sorted(totals)
    return HourlySeries(
        register_id,
        units.pop() if units else "gal",
        ordered,
        [totals[hour] for hour in ordered],
        typical_max,
    )


def detect_flow(series: HourlySeries, thresholds: LeakThresholds) -> list[Finding]:
    """Return the leak and burst episodes in the series, oldest first."""
    findings = _leaks(series, thresholds)
    findings.extend(_bursts(series, thresholds))
    findings.sort(key=lambda finding: (finding.started_at, finding.kind))
    return findings


def _leaks(series: HourlySeries, thresholds: LeakThresholds) -> list[Finding]:
    starts, values = series.starts, series.values
    window = thresholds.window_hours
    findings: list[Finding] = []
    run_start = 0  # index of the first hour of the current run of flow
    run_total = _ZERO
    flow_streak = major_streak = critical_streak = low_streak = 0
    severity: Severity | None = None
    previous: datetime | None = None

    def close(end_index: int, closed_at: datetime | None) -> None:
        if severity is None:
            return
        last = end_index - 1
        findings.append(
            Finding(
                series.register_id,
                FindingKind.LEAK,
                severity,
                starts[run_start],
                starts[last] + HOUR,
                closed_at,
                run_total,
                series.unit,
            )
        )

    for index, (start, value) in enumerate(zip(starts, values, strict=True)):
        gap = previous is not None and start - previous != HOUR
        previous = start
        if gap:
            # A missing hour ends the run without a closing hour of its own.
            close(index, starts[index - 1] + HOUR)
            severity, flow_streak, major_streak, critical_streak, low_streak = None, 0, 0, 0, 0
            run_total = _ZERO
        if value <= 0:
            close(index, start)
            severity, flow_streak, major_streak, critical_streak, low_streak = None, 0, 0, 0, 0
            run_total = _ZERO
            continue
        if flow_streak == 0:
            run_start = index
        flow_streak += 1
        run_total += value
        major_streak = major_streak + 1 if value >= thresholds.leak_floor else 0
        critical_streak = critical_streak + 1 if value >= thresholds.critical_floor else 0
        low_streak = low_streak + 1 if value < thresholds.leak_floor else 0
        if (
            severity in (Severity.MAJOR, Severity.CRITICAL)
            and low_streak >= thresholds.close_after_hours
        ):
            # The leak has slowed below the floor: close it at the first slow hour, and
            # let the slow flow that goes on start a run of its own from there.
            first_low = index - low_streak + 1
            run_total -= sum(values[first_low : index + 1], _ZERO)
            close(first_low, starts[first_low])
            severity = None
            run_start = first_low
            run_total = sum(values[first_low : index + 1], _ZERO)
            flow_streak, major_streak, critical_streak = low_streak, 0, 0
            low_streak = 0
            continue
        if flow_streak >= window:
            severity = more_severe(severity or Severity.MINOR, Severity.MINOR)
        if major_streak >= window:
            severity = more_severe(severity or Severity.MAJOR, Severity.MAJOR)
        if critical_streak >= window:
            severity = Severity.CRITICAL
    close(len(starts), None)
    return findings


def typical_max_hourly(values: Sequence[Decimal]) -> Decimal | None:
    """Return the 95th percentile of hourly use, a register's usual busiest hour.

    None for fewer than 24 hours, because less than a day shows too little of a register's use.
    """
    if len(values) < 24:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, (95 * len(ordered)) // 100)]


def _bursts(series: HourlySeries, thresholds: LeakThresholds) -> list[Finding]:
    starts, values = series.starts, series.values
    findings: list[Finding] = []
    index = 0
    while index < len(values):
        if values[index] < thresholds.burst_floor:
            # Every burst level is at least the floor, so this hour cannot start one.
            index += 1
            continue
        typical = series.typical_max
        if typical is None:
            typical = typical_max_hourly(values[:index])
        level = thresholds.burst_floor
        if typical is not None:
            level = max(level, typical * thresholds.burst_factor)
        end = index
        while (
            end < len(values)
            and values[end] >= level
            and (end == index or starts[end] - starts[end - 1] == HOUR)
        ):
            end += 1
        if end - index >= thresholds.burst_hours:
            closed_at = starts[end] if end < len(values) else None
            findings.append(
                Finding(
                    series.register_id,
                    FindingKind.BURST,
                    Severity.CRITICAL,
                    starts[index],
                    starts[end - 1] + HOUR,
                    closed_at,
                    sum(values[index:end], _ZERO),
                    series.unit,
                    {"typical_max": str(typical) if typical is not None else "unknown"},
                )
            )
        index = max(end, index + 1)
    return findings


@dataclass(frozen=True)
class MeterFlag:
    """A leak, burst or backflow flag a meter reported at an instant."""

    register_id: int
    flag: str
    flagged_at: datetime


_FLAG_KINDS = {
    "leak": (FindingKind.METER_LEAK, Severity.MAJOR),
    "burst": (FindingKind.METER_BURST, Severity.CRITICAL),
    "backflow": (FindingKind.BACKFLOW, Severity.MAJOR),
}


def flag_findings(
    flags: Iterable[MeterFlag],
    *,
    now: datetime,
    unit: str,
    series: HourlySeries | None = None,
    gap: timedelta = timedelta(hours=24),
) -> list[Finding]:
    """Turn meter flags into episodes, one per kind while flags keep coming.

    Flags of one kind less than ``gap`` apart are one episode. It stays open until
    ``gap`` passes after its last flag with none again, and then closes at the end of
    that gap. The quantity is the series' use from the episode's start. Flags other than
    leak, burst and backflow (such as dry) are not findings.
    """
    by_kind: dict[str, list[MeterFlag]] = {}
    for flag in flags:
        if flag.flag in _FLAG_KINDS:
            by_kind.setdefault(flag.flag, []).append(flag)
    findings: list[Finding] = []
    for flag_name, group in by_kind.items():
        kind, severity = _FLAG_KINDS[flag_name]
        group.sort(key=lambda item: item.flagged_at)
        first = last = group[0]
        following: list[MeterFlag | None] = [*group[1:], None]
        for next_flag in following:
            if next_flag is not None and next_flag.flagged_at - last.flagged_at < gap:
                last = next_flag
                continue
            closed_at = last.flagged_at + gap if now - last.flagged_at >= gap else None
            findings.append(
                Finding(
                    first.register_id,
                    kind,
                    severity,
                    first.flagged_at,
                    last.flagged_at,
                    closed_at,
                    _use_between(series, first.flagged_at, closed_at),
                    unit,
                )
            )
            if next_flag is not None:
                first = last = next_flag
    findings.sort(key=lambda finding: (finding.started_at, finding.kind))
    return findings


def _use_between(series: HourlySeries | None, start: datetime, end: datetime | None) -> Decimal:
    """Sum the hours that start in the hour of ``start`` or later, and before ``end``."""
    if series is None:
        return _ZERO
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return sum(
        (
            value
            for hour, value in zip(series.starts, series.values, strict=True)
            if hour >= first_hour and (end is None or hour < end)
        ),
        _ZERO,
    )


@dataclass(frozen=True)
class HighUsageThresholds:
    """When a period's use counts as high, in the register's unit."""

    #: The period's use must be at least this many times the comparison.
    ratio: Decimal = Decimal("2")
    #: ... and at least this much, so a small use doubling from tiny alerts no one.
    minimum: Decimal = Decimal("1000")
    #: ``major`` at this many times the comparison, else ``minor``.
    major_ratio: Decimal = Decimal("3")


@dataclass(frozen=True)
class HighUsage:
    """A period's use found high, the comparison it beat and which one."""

    quantity: Decimal
    baseline: Decimal
    #: ``last_year`` or ``previous_periods``.
    basis: str
    ratio: Decimal
    severity: Severity


def high_usage(
    current: Decimal,
    *,
    last_year: Decimal | None,
    previous: Sequence[Decimal],
    thresholds: HighUsageThresholds = HighUsageThresholds(),  # noqa: B008 - frozen
) -> HighUsage | None:
    """Compare a period's use with the same period last year, else the three before it.

    Last year is the better comparison, because it has the same season. Without it the
    average of the previous three periods is used, and only when all three are known.
    A zero baseline compares as "no history", so it never flags. Returns None when use
    is not high.
    """
    if current < thresholds.minimum:
        return None
    if last_year is not None and last_year > 0:
        baseline, basis = last_year, "last_year"
    elif len(previous) >= 3 and sum(previous[-3:], _ZERO) > 0:
        baseline = sum(previous[-3:], _ZERO) / 3
        basis = "previous_periods"
    else:
        return None
    ratio = current / baseline
    if ratio < thresholds.ratio:
        return None
    severity = Severity.MAJOR if ratio >= thresholds.major_ratio else Severity.MINOR
    return HighUsage(current, baseline, basis, ratio, severity)
