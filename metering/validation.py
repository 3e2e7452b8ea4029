"""Validation of register reads and interval data (the V of VEE).

Each rule has a stable ``RuleCode`` and a severity. A ``hold`` finding keeps the read out
of billing until staff accept, edit or reject it. A ``note`` finding leaves the read
valid and marks it for review. Every finding names the measured value, the threshold
and the fix.

Register reads are checked in time order against the register's accepted reads:

- ``wrong_unit_or_multiplier``: the read's unit is not the register's, or its daily use
  (or its value) is about 10, 100 or 1000 times, or a tenth, hundredth or thousandth
  of, what history leads one to expect. Hold.
- ``duplicate``: an accepted read at the same instant (within
  ``duplicate_window_seconds``) has the same value. Note.
- ``duplicate_conflict``: an accepted read at the same instant has another value. The
  first value stays and this read is held.
- ``rollover``: the value is below the previous read, and the wrapped amount
  ``modulus - previous + value`` is below ``rollover_fraction`` of the register's
  modulus (``10**dials``). Note, and the consumption is the wrapped amount.
- ``possible_meter_exchange``: the value fell to at most ``exchange_fraction`` of the
  previous read and is not a rollover. Hold, so no negative usage is billed.
- ``negative_consumption``: any other drop. Hold.
- ``out_of_order``: a back-filled read whose value is above the next accepted read's,
  so the following interval would become negative. Hold.
- ``high_usage`` and ``low_usage``: the daily use since the previous read is above
  ``high_usage_ratio`` or below ``low_usage_ratio`` times the average daily use of the
  register's accepted reads over the previous ``history_days``. Hold.
- ``zero_consumption``: the register of an active service has not advanced for at
  least ``zero_consumption_days``. Hold.
- ``gap``: more than ``gap_days`` passed since the previous read. Note.

Interval data: ``negative_interval`` (hold), ``gap`` (missing intervals, note) and
``spike`` (an interval above ``spike_ratio`` times the largest of its neighbours and
above the register's largest interval in history, hold).

Nothing here touches a database or the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from metering.types import IntervalRead

__all__ = [
    "Finding",
    "IntervalVerdict",
    "ReadPoint",
    "ReadVerdict",
    "RegisterSpec",
    "RuleCode",
    "Severity",
    "Thresholds",
    "needs_typical_max",
    "validate_intervals",
    "validate_register_reads",
]

SECONDS_PER_DAY = Decimal(86400)
_ZERO = Decimal(0)
#: Pads a series' ends in ``_neighbour_maxima``; below every real value.
_NO_NEIGHBOUR = Decimal("-Infinity")


class RuleCode(StrEnum):
    """Stable code of a validation rule, stored with each finding."""

    HIGH_USAGE = "high_usage"
    LOW_USAGE = "low_usage"
    ZERO_CONSUMPTION = "zero_consumption"
    NEGATIVE_CONSUMPTION = "negative_consumption"
    ROLLOVER = "rollover"
    DUPLICATE = "duplicate"
    DUPLICATE_CONFLICT = "duplicate_conflict"
    OUT_OF_ORDER = "out_of_order"
    GAP = "gap"
    SPIKE = "spike"
    WRONG_UNIT_OR_MULTIPLIER = "wrong_unit_or_multiplier"
    POSSIBLE_METER_EXCHANGE = "possible_meter_exchange"
    NEGATIVE_INTERVAL = "negative_interval"


class Severity(StrEnum):
    #: The read is held out of billing until staff resolve the finding.
    HOLD = "hold"
    #: The read stays valid and is marked for review.
    NOTE = "note"


SEVERITY: dict[RuleCode, Severity] = {
    RuleCode.HIGH_USAGE: Severity.HOLD,
    RuleCode.LOW_USAGE: Severity.HOLD,
    RuleCode.ZERO_CONSUMPTION: Severity.HOLD,
    RuleCode.NEGATIVE_CONSUMPTION: Severity.HOLD,
    RuleCode.ROLLOVER: Severity.NOTE,
    RuleCode.DUPLICATE: Severity.NOTE,
    RuleCode.DUPLICATE_CONFLICT: Severity.HOLD,
    RuleCode.OUT_OF_ORDER: Severity.HOLD,
    RuleCode.GAP: Severity.NOTE,
    RuleCode.SPIKE: Severity.HOLD,
    RuleCode.WRONG_UNIT_OR_MULTIPLIER: Severity.HOLD,
    RuleCode.POSSIBLE_METER_EXCHANGE: Severity.HOLD,
    RuleCode.NEGATIVE_INTERVAL: Severity.HOLD,
}


@dataclass(frozen=True)
class Thresholds:
    """Limits of the validation rules; the defaults are the ones documented in docs/vee.md."""

    #: Daily use above this multiple of the history's average daily use is high.
    high_usage_ratio: Decimal = Decimal(3)
    #: Daily use below this multiple of the history's average daily use is low.
    low_usage_ratio: Decimal = Decimal("0.25")
    #: Days of accepted reads before the previous read that make the history average.
    history_days: int = 90
    #: High and low usage are checked only when the history spans at least this many days.
    min_history_days: int = 25
    #: High and low usage are checked only when the read is this many days after the last.
    min_usage_days: int = 1
    #: Days without any advance of an active service's register that make zero consumption.
    zero_consumption_days: int = 25
    #: A drop whose wrapped amount is below this fraction of the modulus is a rollover.
    rollover_fraction: Decimal = Decimal("0.1")
    #: A drop to at most this fraction of the previous value looks like a meter exchange.
    exchange_fraction: Decimal = Decimal("0.1")
    #: Reads this many seconds apart or closer are at the same instant (duplicates).
    duplicate_window_seconds: int = 60
    #: A read more than this many days after the previous one is noted as a gap.
    gap_days: int = 45
    #: How close a ratio must be to 10, 100 or 1000 (or their inverses) to be a unit or
    #: multiplier error: 0.2 accepts 8 to 12 for 10.
    magnitude_tolerance: Decimal = Decimal("0.2")
    #: An interval above this multiple of its neighbours' maximum is a spike.
    spike_ratio: Decimal = Decimal(5)
    #: Intervals on each side that make an interval's neighbours.
    spike_neighbours: int = 2


@dataclass(frozen=True)
class RegisterSpec:
    """The facts about a register that validation needs.

    ``modulus`` is the value at which the register wraps to zero (``10**dials``), or None
    when the number of dials is unknown. ``active`` is whether a service agreement
    bills this register on the reads' dates.
    """

    unit: str
    multiplier: Decimal = Decimal(1)
    modulus: Decimal | None = None
    active: bool = True


@dataclass(frozen=True)
class ReadPoint:
    """A register read to validate or an accepted one from history.

    ``key`` is the caller's id of the read. ``read_at`` is the aware UTC instant when
    known, else None and the read counts as taken at the start of ``read_date``.
    ``unit`` is the unit the source reported, or None when it reported none.
    """

    key: Hashable
    read_date: dt.date
    read_at: dt.datetime | None
    value: Decimal
    unit: str | None = None


@dataclass(frozen=True)
class Finding:
    """One rule a read failed: its code, severity, message, measured value and limit."""

    code: RuleCode
    severity: Severity
    detail: str
    measured: Decimal | None = None
    threshold: Decimal | None = None


@dataclass(frozen=True)
class ReadVerdict:
    """The findings of one read, and its consumption since the previous accepted read.

    ``consumption`` includes the multiplier and is None when it could not be computed
    (no previous read, or a drop that is not a rollover).
    """

    key: Hashable
    findings: tuple[Finding, ...] = ()
    consumption: Decimal | None = None

    @property
    def held(self) -> bool:
        return any(finding.severity == Severity.HOLD for finding in self.findings)

    @property
    def codes(self) -> tuple[RuleCode, ...]:
        return tuple(finding.code for finding in self.findings)


@dataclass(frozen=True)
class IntervalVerdict:
    """A finding on interval data, with the UTC start of the interval it concerns."""

    start: dt.datetime
    finding: Finding


def _finding(
    code: RuleCode,
    detail: str,
    measured: Decimal | None = None,
    threshold: Decimal | None = None,
) -> Finding:
    return Finding(code, SEVERITY[code], detail, measured, threshold)


def _instant(read: ReadPoint) -> dt.datetime:
    if read.read_at is not None:
        return read.read_at
    return dt.datetime.combine(read.read_date, dt.time(0), tzinfo=dt.UTC)


def _order_key(read: ReadPoint) -> tuple[dt.date, dt.datetime]:
    """Sort by local read date first, so a dated read and a timed read of one day agree."""
    return (read.read_date, _instant(read))


def _days_between(earlier: ReadPoint, later: ReadPoint) -> Decimal:
    """Days from ``earlier`` to ``later``: exact when both are timed, else calendar days."""
    if earlier.read_at is not None and later.read_at is not None:
        seconds = Decimal((later.read_at - earlier.read_at).total_seconds())
        return seconds / SECONDS_PER_DAY
    return Decimal((later.read_date - earlier.read_date).days)


def _same_instant(first: ReadPoint, second: ReadPoint, window_seconds: int) -> bool:
    if first.read_at is not None and second.read_at is not None:
        return abs((first.read_at - second.read_at).total_seconds()) <= window_seconds
    if first.read_at is None and second.read_at is None:
        return first.read_date == second.read_date
    return False


def _wrapped(
    previous: Decimal, value: Decimal, spec: RegisterSpec, limits: Thresholds
) -> Decimal | None:
    """Return the advance across a rollover, or None when the drop is not a rollover."""
    if spec.modulus is None or previous >= spec.modulus:
        return None
    wrapped = spec.modulus - previous + value
    if wrapped < limits.rollover_fraction * spec.modulus:
        return wrapped
    return None


def _advance(
    previous: Decimal, value: Decimal, spec: RegisterSpec, limits: Thresholds
) -> Decimal | None:
    """Return the register advance from ``previous`` to ``value`` (dials, no multiplier)."""
    if value >= previous:
        return value - previous
    return _wrapped(previous, value, spec, limits)


def _magnitude(ratio: Decimal, limits: Thresholds) -> Decimal | None:
    """Return the power of ten (10, 100, 1000 or an inverse) that ``ratio`` is close to."""
    for exponent in (1, 2, 3, -1, -2, -3):
        power = Decimal(10) ** exponent
        if abs(ratio / power - 1) <= limits.magnitude_tolerance:
            return power
    return None


def _average_daily_use(
    accepted: Sequence[ReadPoint], spec: RegisterSpec, limits: Thresholds
) -> tuple[Decimal, Decimal] | None:
    """Return the average daily use over the history window ending at the last read.

    The window is the last ``history_days`` before the last accepted read. A drop that
    is not a rollover (an earlier exchange) ends the history there. Returns the average
    and the days it spans, or None when it spans fewer than ``min_history_days``.
    """
    if len(accepted) < 2:
        return None
    last = accepted[-1]
    start = last.read_date - dt.timedelta(days=limits.history_days)
    used = Decimal(0)
    first = last
    for earlier, later in zip(reversed(accepted[:-1]), reversed(accepted[1:]), strict=True):
        if earlier.read_date < start:
            break
        advance = _advance(earlier.value, later.value, spec, limits)
        if advance is None:
            break
        used += advance * spec.multiplier
        first = earlier
    days = _days_between(first, last)
    if days < limits.min_history_days:
        return None
    return used / days, days


def _run_length_days(accepted: Sequence[ReadPoint], read: ReadPoint) -> Decimal:
    """Days since the accepted reads last had a value other than ``read``'s."""
    since = accepted[-1]
    for earlier in reversed(accepted):
        if earlier.value != read.value:
            break
        since = earlier
    return _days_between(since, read)


def _amount(value: Decimal) -> str:
    """Write a computed amount to at most three decimals: 30.1, not 30.100000."""
    return f"{value.quantize(Decimal('0.001')).normalize():f}"


def _number(value: Decimal | None) -> str:
    """Write a stored value without trailing zeros: 300, not 300.000000."""
    return "unknown" if value is None else f"{value.normalize():f}"


def _unit_finding(read: ReadPoint, spec: RegisterSpec) -> Finding | None:
    if read.unit is None or read.unit.strip().lower() == spec.unit.lower():
        return None
    return _finding(
        RuleCode.WRONG_UNIT_OR_MULTIPLIER,
        f"read {_number(read.value)} is in {read.unit}, but the register records {spec.unit}; "
        f"convert the read to {spec.unit} or correct the register's unit",
    )


def _duplicate_finding(
    read: ReadPoint, accepted: Sequence[ReadPoint], limits: Thresholds
) -> Finding | None:
    for other in accepted:
        if not _same_instant(other, read, limits.duplicate_window_seconds):
            continue
        if other.value == read.value:
            return _finding(
                RuleCode.DUPLICATE,
                f"read {_number(read.value)} repeats the read at "
                f"{_instant(other):%Y-%m-%d %H:%M:%S}Z; nothing to do, the first read is billed",
                measured=read.value,
            )
        if not _same_instant(other, read, 0):
            # A poll a few seconds after the last one may see the register move on; only
            # two values for the very same instant conflict.
            continue
        return _finding(
            RuleCode.DUPLICATE_CONFLICT,
            f"read {_number(read.value)} conflicts with read {_number(other.value)} at the "
            f"same instant {_instant(other):%Y-%m-%d %H:%M:%S}Z; the first value stays until "
            "staff accept this one or reject it",
            measured=read.value,
            threshold=other.value,
        )
    return None


def _drop_finding(
    previous: ReadPoint, read: ReadPoint, spec: RegisterSpec, limits: Thresholds
) -> Finding:
    if read.value <= limits.exchange_fraction * previous.value:
        return _finding(
            RuleCode.POSSIBLE_METER_EXCHANGE,
            f"read {_number(read.value)} is near zero after read {_number(previous.value)} of "
            f"{previous.read_date} and is not a rollover; if the meter was exchanged, record "
            "the changeout, else correct the read",
            measured=read.value,
            threshold=limits.exchange_fraction * previous.value,
        )
    return _finding(
        RuleCode.NEGATIVE_CONSUMPTION,
        f"read {_number(read.value)} is below read {_number(previous.value)} of "
        f"{previous.read_date} and is not a rollover of the register (modulus "
        f"{_number(spec.modulus)}); correct the read",
        measured=read.value - previous.value,
        threshold=Decimal(0),
    )


def _usage_findings(
    previous: ReadPoint,
    read: ReadPoint,
    consumption: Decimal,
    accepted: Sequence[ReadPoint],
    spec: RegisterSpec,
    limits: Thresholds,
) -> list[Finding]:
    """Compare the daily use since ``previous`` with the register's own history."""
    days = _days_between(previous, read)
    if days < limits.min_usage_days:
        return []
    history = _average_daily_use(accepted, spec, limits)
    if history is None or history[0] <= 0:
        return []
    average, history_days = history
    daily = consumption / days
    ratio = daily / average
    if limits.low_usage_ratio <= ratio <= limits.high_usage_ratio:
        return []
    described = (
        f"daily use {_amount(daily)} {spec.unit} from {previous.read_date} to "
        f"{read.read_date} is {_amount(ratio)} times the average of "
        f"{_amount(average)} {spec.unit} over the previous {_amount(history_days)} days"
    )
    shifted = _magnitude(ratio, limits)
    if shifted is None and previous.value > 0 and read.value > previous.value:
        shifted = _magnitude(read.value / previous.value, limits)
    if shifted is not None:
        return [
            _finding(
                RuleCode.WRONG_UNIT_OR_MULTIPLIER,
                f"{described}, about {shifted.normalize():f} times; check the read's unit "
                "and decimal point and the register's multiplier, then edit the read",
                measured=ratio,
                threshold=shifted,
            )
        ]
    if ratio > limits.high_usage_ratio:
        return [
            _finding(
                RuleCode.HIGH_USAGE,
                f"{described}, above the limit of {limits.high_usage_ratio}; check for a leak "
                "or a misread and accept or edit the read",
                measured=ratio,
                threshold=limits.high_usage_ratio,
            )
        ]
    return [
        _finding(
            RuleCode.LOW_USAGE,
            f"{described}, below the limit of {limits.low_usage_ratio}; check for a stopped "
            "meter or a misread and accept or edit the read",
            measured=ratio,
            threshold=limits.low_usage_ratio,
        )
    ]


def _check_read(
    read: ReadPoint, accepted: list[ReadPoint], spec: RegisterSpec, limits: Thresholds
) -> ReadVerdict:
    """Check one read against the accepted reads, which are in time order."""
    unit = _unit_finding(read, spec)
    if unit is not None:
        return ReadVerdict(read.key, (unit,))
    duplicate = _duplicate_finding(read, accepted, limits)
    if duplicate is not None:
        return ReadVerdict(read.key, (duplicate,))

    position = 0
    while position < len(accepted) and _order_key(accepted[position]) < _order_key(read):
        position += 1
    before = accepted[:position]
    following = accepted[position] if position < len(accepted) else None
    findings: list[Finding] = []

    if following is not None and _advance(read.value, following.value, spec, limits) is None:
        findings.append(
            _finding(
                RuleCode.OUT_OF_ORDER,
                f"read {_number(read.value)} of {read.read_date} arrived after read "
                f"{_number(following.value)} of {following.read_date} and is above it; correct or "
                "reject the read",
                measured=read.value,
                threshold=following.value,
            )
        )
    if not before:
        return ReadVerdict(read.key, tuple(findings))

    previous = before[-1]
    advance = _advance(previous.value, read.value, spec, limits)
    if advance is None:
        findings.append(_drop_finding(previous, read, spec, limits))
        return ReadVerdict(read.key, tuple(findings))
    consumption = advance * spec.multiplier
    if read.value < previous.value:
        findings.append(
            _finding(
                RuleCode.ROLLOVER,
                f"register rolled over at {_number(spec.modulus)} between read "
                f"{_number(previous.value)} and read {_number(read.value)}; the consumption "
                f"is {_amount(consumption)} {spec.unit}",
                measured=advance,
                threshold=limits.rollover_fraction * (spec.modulus or Decimal(0)),
            )
        )

    days = _days_between(previous, read)
    if days > limits.gap_days:
        findings.append(
            _finding(
                RuleCode.GAP,
                f"{_amount(days)} days passed since the previous read of "
                f"{previous.read_date}, more than {limits.gap_days}; check the meter's route",
                measured=days,
                threshold=Decimal(limits.gap_days),
            )
        )
    if consumption == 0:
        stuck = _run_length_days(before, read)
        if spec.active and stuck >= limits.zero_consumption_days:
            findings.append(
                _finding(
                    RuleCode.ZERO_CONSUMPTION,
                    f"register has stayed at {_number(read.value)} for {_amount(stuck)} days on an "
                    f"active service, at least {limits.zero_consumption_days}; check for a "
                    "stopped meter or a vacant premise and accept or edit the read",
                    measured=stuck,
                    threshold=Decimal(limits.zero_consumption_days),
                )
            )
    else:
        findings.extend(_usage_findings(previous, read, consumption, before, spec, limits))
    return ReadVerdict(read.key, tuple(findings), consumption)


def validate_register_reads(
    spec: RegisterSpec,
    accepted: Sequence[ReadPoint],
    new: Sequence[ReadPoint],
    limits: Thresholds = Thresholds(),
) -> list[ReadVerdict]:
    """Validate the ``new`` reads of one register against its ``accepted`` reads.

    New reads are checked in time order. A read that is not held joins the accepted
    reads, so the next new read is compared with it. Returns one verdict per new read,
    in time order.
    """
    history = sorted(accepted, key=_order_key)
    verdicts = []
    for read in sorted(new, key=_order_key):
        verdict = _check_read(read, history, spec, limits)
        verdicts.append(verdict)
        if not verdict.held and RuleCode.DUPLICATE not in verdict.codes:
            history.append(read)
            history.sort(key=_order_key)
    return verdicts


def validate_intervals(
    intervals: Sequence[IntervalRead],
    *,
    typical_max: Decimal | None = None,
    limits: Thresholds = Thresholds(),
) -> list[IntervalVerdict]:
    """Check one register's intervals for negative values, gaps and spikes.

    ``typical_max`` is the register's largest interval in history, and a spike must
    exceed it as well as ``spike_ratio`` times its neighbours. Without it, the neighbours alone
    decide, and an interval whose neighbours are all zero is not called a spike.
    """
    ordered = sorted(intervals, key=lambda interval: interval.start)
    references = _neighbour_maxima([interval.value for interval in ordered], limits)
    verdicts: list[IntervalVerdict] = []
    for index, interval in enumerate(ordered):
        if interval.value < 0:
            verdicts.append(
                IntervalVerdict(
                    interval.start,
                    _finding(
                        RuleCode.NEGATIVE_INTERVAL,
                        f"interval at {interval.start:%Y-%m-%d %H:%M}Z has negative value "
                        f"{_number(interval.value)} {interval.unit}; re-import or estimate it",
                        measured=interval.value,
                        threshold=Decimal(0),
                    ),
                )
            )
        if index + 1 < len(ordered):
            expected = interval.start + dt.timedelta(seconds=interval.seconds)
            following = ordered[index + 1]
            if following.start > expected:
                missing = Decimal(int((following.start - expected).total_seconds()))
                verdicts.append(
                    IntervalVerdict(
                        expected,
                        _finding(
                            RuleCode.GAP,
                            f"{_amount(missing / interval.seconds)} intervals are missing "
                            f"from {expected:%Y-%m-%d %H:%M}Z to "
                            f"{following.start:%Y-%m-%d %H:%M}Z; import or estimate them",
                            measured=missing,
                            threshold=Decimal(0),
                        ),
                    )
                )
        spike = _spike_finding(interval, references[index], typical_max, limits)
        if spike is not None:
            verdicts.append(IntervalVerdict(interval.start, spike))
    return verdicts


def needs_typical_max(intervals: Sequence[IntervalRead], limits: Thresholds = Thresholds()) -> bool:
    """Return whether the spike rule needs the register's ``typical_max`` for ``intervals``.

    Only an interval above ``spike_ratio`` times its neighbours' maximum can be a spike,
    so a caller can skip looking up the typical maximum of a register without one.
    """
    values = [interval.value for interval in sorted(intervals, key=lambda item: item.start)]
    ratio = limits.spike_ratio
    for value, reference in zip(values, _neighbour_maxima(values, limits), strict=True):
        if reference is not None and value > ratio * max(reference, _ZERO):
            return True
    return False


def _neighbour_maxima(values: Sequence[Decimal], limits: Thresholds) -> list[Decimal | None]:
    """Return the max of the ``spike_neighbours`` values each side of each value, or None.

    Each shifted copy of the values lines up one neighbour with every value, padded with
    negative infinity where the series ends, so one ``max`` per value finds the largest.
    """
    count = limits.spike_neighbours
    length = len(values)
    padding = [_NO_NEIGHBOUR] * count
    listed = list(values)
    shifted = []
    for step in range(1, count + 1):
        shifted.append((padding[:step] + listed)[:length])
        shifted.append((listed + padding[:step])[step:])
    if not shifted:
        return [None] * length
    return [None if largest == _NO_NEIGHBOUR else largest for largest in map(max, *shifted)]


def _spike_finding(
    interval: IntervalRead,
    reference: Decimal | None,
    typical_max: Decimal | None,
    limits: Thresholds,
) -> Finding | None:
    if reference is None:
        return None
    if reference <= 0 and typical_max is None:
        return None
    if interval.value <= limits.spike_ratio * max(reference, Decimal(0)):
        return None
    if typical_max is not None and interval.value <= typical_max:
        return None
    above_typical = ""
    if typical_max is not None:
        above_typical = f" and above the register's largest interval of {_number(typical_max)}"
    return _finding(
        RuleCode.SPIKE,
        f"interval at {interval.start:%Y-%m-%d %H:%M}Z is {_number(interval.value)} "
        f"{interval.unit}, more than {limits.spike_ratio} times its neighbours' maximum of "
        f"{_number(reference)}{above_typical}; check the meter and edit or estimate the interval",
        measured=interval.value,
        threshold=limits.spike_ratio * max(reference, Decimal(0)),
    )
