"""wmbusmeters JSON lines: the water telegrams from the upstream test vectors, and bad lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from metering.wmbus import parse_wmbus_lines

WATER = Path(__file__).resolve().parent.parent / "data/wmbus/water_telegrams.jsonl"
# wmbusmeters' test vectors print this fixed placeholder instead of the receive time.
PLACEHOLDER = datetime(1111, 11, 11, 11, 11, 11, tzinfo=UTC)


@pytest.fixture(scope="module")
def water():
    return parse_wmbus_lines(WATER.read_text(encoding="utf-8"))


def _read_on(parse, line_number):
    return next(read for read in parse.reads if read.line_number == line_number)


def test_every_water_telegram_with_a_total_parses(water):
    # 155 water telegrams; 5 of them (set-date and history telegrams) carry no total_m3.
    assert len(water.reads) == 150
    assert [error.line_number for error in water.errors] == [41, 90, 91, 102, 103]
    assert all("total_m3" in error.reason for error in water.errors)
    assert {read.unit for read in water.reads} == {"m3"}
    assert {read.read_at for read in water.reads} == {PLACEHOLDER}


def test_hydrodigit_zero_backflow(water):
    read = _read_on(water, 48)

    assert read.meter_id == "03122061"
    assert read.total == Decimal("0.03")
    assert read.backflow is False
    # hydrodigit prints no status word, so leak, burst and dry are unknown.
    assert read.leak is None
    assert read.burst is None
    assert read.dry is None


# (line, meter id, total m3, leak, burst, dry, backflow), checked by hand against SOURCES.md.
FLAGGED = [
    (86, "76348799", "6.408", False, False, True, False),
    (105, "56544919", "4.492", True, False, False, False),
    (107, "56544919", "4.492", False, False, False, False),
    (137, "80024171", "1.294", False, False, False, True),
    (147, "22996221", "0.106", True, False, False, False),
]


@pytest.mark.parametrize(("line", "meter_id", "total", "leak", "burst", "dry", "backflow"), FLAGGED)
def test_status_words_set_flags(water, line, meter_id, total, leak, burst, dry, backflow):
    read = _read_on(water, line)

    assert read.meter_id == meter_id
    assert read.total == Decimal(total)
    assert read.leak is leak
    assert read.burst is burst
    assert read.dry is dry
    assert read.backflow is backflow


def test_bad_lines_reported():
    text = "\n".join(
        [
            '{"id": "1", "total_m3": 1.5, "timestamp": "2024-06-18T12:36:00Z"}',
            '{"id": "2", "total_m3": 1.5',
            '{"id": "3", "total_m3": "lots", "timestamp": "2024-06-18T12:36:00Z"}',
            '{"id": "4", "total_m3": 2, "timestamp": "2024-06-18 12:36"}',
            '{"total_m3": 2, "timestamp": "2024-06-18T12:36:00Z"}',
            '{"id": "6", "total_m3": 0.1, "timestamp": "2024-06-18T14:36:00+02:00"}',
        ]
    )

    result = parse_wmbus_lines(text)

    assert [read.meter_id for read in result.reads] == ["1", "6"]
    assert result.reads[1].read_at == datetime(2024, 6, 18, 12, 36, tzinfo=UTC)
    assert result.reads[1].total == Decimal("0.1")
    assert [error.line_number for error in result.errors] == [2, 3, 4, 5]
    assert "invalid JSON" in result.errors[0].reason
    assert "total_m3 'lots'" in result.errors[1].reason
    assert "no UTC offset" in result.errors[2].reason
    assert "meter id" in result.errors[3].reason
