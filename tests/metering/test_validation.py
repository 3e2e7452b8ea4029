"""Read validation rules: each rule fires on one input and stays quiet just short of it.

Every limit below is worked out by hand from the default ``Thresholds``.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from metering.types import IntervalRead
from metering.validation import (
    ReadPoint,
    RegisterSpec,
    RuleCode,
    Severity,
    Thresholds,
    _neighbour_maxima,
    needs_typical_max,
    validate_intervals,
    validate_register_reads,
)

FIVE_DIALS = RegisterSpec(unit="kWh", modulus=Decimal(10) ** 5)


def read(day: str, value: str, *, at: str | None = None, unit: str | None = None) -> ReadPoint:
    instant = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC) if at else None
    key = f"{day} {at or ''} {value}"
    return ReadPoint(key, dt.date.fromisoformat(day), instant, Decimal(value), unit)


def ten_a_day() -> list[ReadPoint]:
    """Thirty days of history at exactly 10 kWh a day: 1,000 to 1,300 kWh."""
    return [
        read("2026-01-01", "1000"),
        read("2026-01-11", "1100"),
        read("2026-01-21", "1200"),
        read("2026-01-31", "1300"),
    ]


def codes_of(spec: RegisterSpec, accepted: list[ReadPoint], new: ReadPoint) -> list[RuleCode]:
    [verdict] = validate_register_reads(spec, accepted, [new])
    return list(verdict.codes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Ten days after 1,300 kWh: 3 x 10 kWh/day x 10 days = 300 kWh is the high limit.
        ("1600", []),
        ("1601", [RuleCode.HIGH_USAGE]),
        # 0.25 x 10 x 10 = 25 kWh is the low limit.
        ("1325", []),
        ("1324", [RuleCode.LOW_USAGE]),
        # 79 kWh/day is 7.9 times the average, outside 10 +/- 20 %, so it is only high.
        ("2090", [RuleCode.HIGH_USAGE]),
        # 80 kWh/day is 8 times: within 20 % of 10, so a unit or multiplier error.
        ("2100", [RuleCode.WRONG_UNIT_OR_MULTIPLIER]),
        ("2300", [RuleCode.WRONG_UNIT_OR_MULTIPLIER]),
        # A decimal point slip: 13,000 is ten times the previous 1,300.
        ("13000", [RuleCode.WRONG_UNIT_OR_MULTIPLIER]),
    ],
)
def test_usage_against_history(value: str, expected: list[RuleCode]) -> None:
    assert codes_of(FIVE_DIALS, ten_a_day(), read("2026-02-10", value)) == expected


def test_high_usage_names_value_and_limit() -> None:
    [verdict] = validate_register_reads(FIVE_DIALS, ten_a_day(), [read("2026-02-10", "1601")])
    [finding] = verdict.findings
    assert finding.severity == Severity.HOLD
    assert finding.measured == Decimal("3.01")
    assert finding.threshold == Decimal(3)
    assert "daily use 30.1 kWh" in finding.detail
    assert "average of 10 kWh over the previous 30 days" in finding.detail
    assert verdict.held


def test_usage_checks_need_history() -> None:
    # Twenty days of history is under the 25-day minimum, so a tenfold jump passes.
    short = ten_a_day()[1:3]
    assert codes_of(FIVE_DIALS, short, read("2026-01-31", "2200")) == []


def test_reported_unit_must_match_register() -> None:
    assert codes_of(FIVE_DIALS, ten_a_day(), read("2026-02-10", "1400", unit="Wh")) == [
        RuleCode.WRONG_UNIT_OR_MULTIPLIER
    ]
    assert codes_of(FIVE_DIALS, ten_a_day(), read("2026-02-10", "1400", unit="kwh")) == []


def test_rollover_by_dials_is_consumption() -> None:
    accepted = [read("2026-01-01", "99990")]
    [verdict] = validate_register_reads(FIVE_DIALS, accepted, [read("2026-01-11", "5")])
    # 100,000 - 99,990 + 5 = 15 kWh, under a tenth of the 100,000 modulus.
    assert verdict.codes == (RuleCode.ROLLOVER,)
    assert verdict.consumption == Decimal(15)
    assert not verdict.held


def test_wide_wrap_is_not_rollover() -> None:
    # 100,000 - 89,990 + 0 = 10,010 is not under 10,000, and 0 is near zero.
    accepted = [read("2026-01-01", "89990")]
    assert codes_of(FIVE_DIALS, accepted, read("2026-01-11", "0")) == [
        RuleCode.POSSIBLE_METER_EXCHANGE
    ]


def test_rollover_of_pulse_counter() -> None:
    # A 16-bit counter wraps at 65,536. Reads are 15 minutes apart, 1 Wh per count.
    counter = RegisterSpec(unit="Wh", modulus=Decimal(65536))
    accepted = [read("2026-01-01", "65530", at="2026-01-01T10:00:00")]
    new = [
        read("2026-01-01", "65535", at="2026-01-01T10:15:00"),
        read("2026-01-01", "3", at="2026-01-01T10:30:00"),
        read("2026-01-01", "10", at="2026-01-01T10:45:00"),
    ]
    verdicts = validate_register_reads(counter, accepted, new)
    assert [verdict.consumption for verdict in verdicts] == [Decimal(5), Decimal(4), Decimal(7)]
    assert sum(verdict.consumption or 0 for verdict in verdicts) == Decimal(16)
    assert [verdict.codes for verdict in verdicts] == [(), (RuleCode.ROLLOVER,), ()]
    assert not any(verdict.held for verdict in verdicts)


def test_changeout_read_without_changeout_held() -> None:
    # The old meter's 17,077.963 kWh, then the new meter's 0.000 on the same register.
    accepted = [read("2024-07-01", "17000.000"), read("2024-07-15", "17077.963")]
    new = [read("2024-07-16", "0.000"), read("2024-07-31", "212.500")]
    verdicts = validate_register_reads(FIVE_DIALS, accepted, new)
    assert [verdict.codes for verdict in verdicts] == [
        (RuleCode.POSSIBLE_METER_EXCHANGE,),
        (RuleCode.POSSIBLE_METER_EXCHANGE,),
    ]
    assert all(verdict.held for verdict in verdicts)
    assert all(verdict.consumption is None for verdict in verdicts)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # A tenth of 17,077.963 is 1,707.7963: at or below it looks like a new meter.
        ("1707.7963", RuleCode.POSSIBLE_METER_EXCHANGE),
        ("1707.7964", RuleCode.NEGATIVE_CONSUMPTION),
        ("17000", RuleCode.NEGATIVE_CONSUMPTION),
    ],
)
def test_drop_below_previous(value: str, expected: RuleCode) -> None:
    accepted = [read("2024-07-15", "17077.963")]
    assert codes_of(FIVE_DIALS, accepted, read("2024-07-20", value)) == [expected]


def test_negative_consumption_measures_drop() -> None:
    accepted = [read("2024-07-15", "17077.963")]
    [verdict] = validate_register_reads(FIVE_DIALS, accepted, [read("2024-07-20", "17000")])
    assert verdict.findings[0].measured == Decimal("-77.963")


def test_duplicates_and_conflicts() -> None:
    # Repeated telegrams: the same value at 10:00:00 and 10:00:08, then a conflict at 10:15.
    accepted = [read("2026-01-01", "521.602", at="2026-01-01T10:00:00")]
    new = [
        read("2026-01-01", "521.602", at="2026-01-01T10:00:08"),
        read("2026-01-01", "521.610", at="2026-01-01T10:15:00"),
        read("2026-01-01", "521.605", at="2026-01-01T10:15:00"),
    ]
    repeat, first, conflict = validate_register_reads(FIVE_DIALS, accepted, new)
    assert repeat.codes == (RuleCode.DUPLICATE,)
    assert not repeat.held
    assert first.codes == ()
    assert first.consumption == Decimal("0.008")
    assert conflict.codes == (RuleCode.DUPLICATE_CONFLICT,)
    assert conflict.held
    assert conflict.findings[0].threshold == Decimal("521.610")


def test_polls_seconds_apart_do_not_conflict() -> None:
    # A meter polled twice 25 s apart reads a little more the second time: a new read.
    accepted = [read("2026-01-01", "12345.685", at="2026-01-01T10:00:00")]
    later = read("2026-01-01", "12345.693", at="2026-01-01T10:00:25")
    [verdict] = validate_register_reads(FIVE_DIALS, accepted, [later])
    assert verdict.codes == ()
    assert not verdict.held
    assert verdict.consumption == Decimal("0.008")


def test_duplicate_window_is_sixty_seconds() -> None:
    accepted = [read("2026-01-01", "521.602", at="2026-01-01T10:00:00")]
    at_limit = read("2026-01-01", "521.602", at="2026-01-01T10:01:00")
    past_limit = read("2026-01-01", "521.602", at="2026-01-01T10:01:01")
    assert codes_of(FIVE_DIALS, accepted, at_limit) == [RuleCode.DUPLICATE]
    assert codes_of(FIVE_DIALS, accepted, past_limit) == []


def test_backfilled_read_above_next_is_out_of_order() -> None:
    accepted = [read("2026-01-01", "1000"), read("2026-01-21", "1200")]
    assert codes_of(FIVE_DIALS, accepted, read("2026-01-11", "1250")) == [RuleCode.OUT_OF_ORDER]
    assert codes_of(FIVE_DIALS, accepted, read("2026-01-11", "1200")) == []


@pytest.mark.parametrize(
    ("day", "active", "expected"),
    [
        ("2026-01-26", True, [RuleCode.ZERO_CONSUMPTION]),
        ("2026-01-25", True, []),
        ("2026-01-26", False, []),
    ],
)
def test_zero_consumption_after_25_days(day: str, active: bool, expected: list[RuleCode]) -> None:
    spec = RegisterSpec(unit="kWh", modulus=Decimal(10) ** 5, active=active)
    assert codes_of(spec, [read("2026-01-01", "1000")], read(day, "1000")) == expected


def test_zero_consumption_counts_earlier_flat_reads() -> None:
    # Daily reads: flat since January 1, so the 26th is 25 days without an advance.
    accepted = [read(f"2026-01-{day:02d}", "1000") for day in range(1, 26)]
    assert codes_of(FIVE_DIALS, accepted, read("2026-01-26", "1000")) == [RuleCode.ZERO_CONSUMPTION]


def test_gap_after_45_days() -> None:
    accepted = [read("2026-01-01", "1000")]
    assert codes_of(FIVE_DIALS, accepted, read("2026-02-16", "1460")) == [RuleCode.GAP]
    assert codes_of(FIVE_DIALS, accepted, read("2026-02-15", "1450")) == []


def test_first_read_has_no_findings() -> None:
    [verdict] = validate_register_reads(FIVE_DIALS, [], [read("2026-01-01", "0")])
    assert verdict.findings == ()
    assert verdict.consumption is None


def test_held_read_is_not_history() -> None:
    # After the held drop to 500, the next read is compared with 1,300 again.
    new = [read("2026-02-10", "500"), read("2026-02-20", "1500")]
    verdicts = validate_register_reads(FIVE_DIALS, ten_a_day(), new)
    assert verdicts[0].codes == (RuleCode.NEGATIVE_CONSUMPTION,)
    assert verdicts[1].codes == ()
    assert verdicts[1].consumption == Decimal(200)


def test_thresholds_are_configurable() -> None:
    strict = Thresholds(high_usage_ratio=Decimal(2))
    [verdict] = validate_register_reads(
        FIVE_DIALS, ten_a_day(), [read("2026-02-10", "1550")], strict
    )
    assert verdict.codes == (RuleCode.HIGH_USAGE,)


def hourly(values: list[str], *, skip: tuple[int, ...] = ()) -> list[IntervalRead]:
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    return [
        IntervalRead(start + dt.timedelta(hours=hour), 3600, Decimal(value), "kWh")
        for hour, value in enumerate(values)
        if hour not in skip
    ]


def test_interval_spike() -> None:
    # Neighbours within two hours peak at 1 kWh, so the limit is 5 x 1 = 5 kWh.
    found = validate_intervals(hourly(["1", "1", "1", "5.1", "1", "1"]))
    assert [(verdict.start.hour, verdict.finding.code) for verdict in found] == [
        (3, RuleCode.SPIKE)
    ]
    assert validate_intervals(hourly(["1", "1", "1", "5", "1", "1"])) == []


def test_spike_must_exceed_typical_max() -> None:
    intervals = hourly(["1", "1", "1", "6", "1", "1"])
    assert validate_intervals(intervals, typical_max=Decimal(6)) == []
    assert len(validate_intervals(intervals, typical_max=Decimal("5.9"))) == 1


def test_typical_max_needed_only_above_spike_ratio() -> None:
    # The limit is 5 x 1 = 5 kWh, as above; an interval between zeros is over 5 x 0.
    assert needs_typical_max(hourly(["1", "1", "1", "5.1", "1", "1"]))
    assert not needs_typical_max(hourly(["1", "1", "1", "5", "1", "1"]))
    assert needs_typical_max(hourly(["0", "0", "0.1", "0", "0"]))
    assert not needs_typical_max(hourly(["0", "0", "0", "0"]))
    # Whenever it is not needed, the verdicts are the same without it.
    intervals = hourly(["1", "1", "1", "5", "1", "1"])
    assert validate_intervals(intervals, typical_max=Decimal(9)) == validate_intervals(intervals)


@pytest.mark.parametrize("neighbours", [0, 1, 2, 3])
def test_neighbour_maxima_match_brute_force(neighbours: int) -> None:
    generator = random.Random(neighbours)
    limits = Thresholds(spike_neighbours=neighbours)
    for length in range(0, 9):
        values = [Decimal(generator.randint(-3, 9)) / 4 for _ in range(length)]
        expected = []
        for index in range(length):
            around = values[max(0, index - neighbours) : index]
            around += values[index + 1 : index + neighbours + 1]
            expected.append(max(around) if around else None)
        assert _neighbour_maxima(values, limits) == expected, values


def test_interval_gap_and_negative() -> None:
    found = validate_intervals(hourly(["1", "1", "1", "1", "-0.5", "1"], skip=(2, 3)))
    codes = [(verdict.start.hour, verdict.finding.code) for verdict in found]
    assert codes == [(2, RuleCode.GAP), (4, RuleCode.NEGATIVE_INTERVAL)]
    assert found[0].finding.measured == Decimal(7200)
    assert found[1].finding.severity == Severity.HOLD
