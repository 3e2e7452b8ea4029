"""Typed meter reads shared by the parsers in this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class ReadType(StrEnum):
    """Origin of a register read: a reading, an estimate, a customer report or a final read."""

    ACTUAL = "actual"
    ESTIMATED = "estimated"
    CUSTOMER = "customer"
    FINAL = "final"


@dataclass(frozen=True)
class RegisterRead:
    """A register value at a time, as read from one line of a register-read file.

    `read_date` is the local calendar date of the read. `read_at` is the aware UTC
    instant when the file gives one, else None.
    """

    line_number: int
    meter_serial: str
    register: str
    value: Decimal
    unit: str
    read_date: date
    read_at: datetime | None
    read_type: ReadType
    source: str


class IntervalRead(NamedTuple):
    """Consumption over `seconds` seconds starting at `start` (an aware UTC instant).

    `unit` is a symbol such as "kWh" or "therm", or "uom:NNN" for an ESPI unit code
    that has no mapping here. `quality` is the source's quality code, if any. A named
    tuple, because a bulk import builds millions and a tuple is built fastest.
    """

    start: datetime
    seconds: int
    value: Decimal
    unit: str
    quality: str | None = None


@dataclass(frozen=True)
class RowError:
    """A rejected line or element: its 1-based line number, its raw text and the reason.

    `reason` names the bad value and the fix.
    """

    line_number: int
    raw: str
    reason: str


@dataclass
class RegisterParse:
    """Result of parsing a register-read file: the good reads and the rejected rows."""

    reads: list[RegisterRead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass
class IntervalParse:
    """Result of parsing an interval file: the good intervals and the rejected rows."""

    reads: list[IntervalRead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class ReadFileError(ValueError):
    """A whole file cannot be read: no header, a required column is missing, or bad XML."""
