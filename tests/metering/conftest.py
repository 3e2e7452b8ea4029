"""Shared fixtures for the metering tests: sample file paths and the upstream dump reader."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# One reading in a greenbutton_objects dump, e.g.
#     2011-01-01 08:00:00+00:00, 1:00:00: 1696 Wh
#     2021-05-26 00:00:00+00:00, 35 days, 0:00:00: 37 therm($51.0)
_DUMP_LINE = re.compile(
    r"^\s+(?P<start>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00), "
    r"(?:(?P<days>\d+) days?, )?(?P<hours>\d+):(?P<minutes>\d{2}):(?P<seconds>\d{2}): "
    r"(?P<value>-?\d+(?:\.\d+)?) (?P<unit>\w+)"
)


@dataclass(frozen=True)
class DumpReading:
    """One reading from an upstream `.expected.txt` dump, in the dump's own unit."""

    start: datetime
    seconds: int
    value: Decimal
    unit: str


def read_dump(path: Path) -> list[DumpReading]:
    readings = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _DUMP_LINE.match(line)
        if match is None:
            continue
        seconds = (
            int(match["days"] or 0) * 86400
            + int(match["hours"]) * 3600
            + int(match["minutes"]) * 60
            + int(match["seconds"])
        )
        readings.append(
            DumpReading(
                start=datetime.fromisoformat(match["start"]),
                seconds=seconds,
                value=Decimal(match["value"]),
                unit=match["unit"],
            )
        )
    return readings


@pytest.fixture
def greenbutton_dir() -> Path:
    return DATA_DIR / "greenbutton"


@pytest.fixture
def interval_dir() -> Path:
    return DATA_DIR / "interval"


@pytest.fixture
def dump_reader() -> Callable[[Path], list[DumpReading]]:
    return read_dump
