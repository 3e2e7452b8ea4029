"""Consumption from register reads, with dial rollover and meter changeouts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing_engine.errors import RatingError, SuspectRead
from billing_engine.money import ZERO


@dataclass(frozen=True)
class RegisterSegment:
    """Two reads of one register on one meter; ``dials`` is the count of whole-number dials.

    A register with ``dials`` digits rolls over from ``10**dials - 1`` to 0. ``dials`` is
    ``None`` when unknown, and then a lower end read cannot be a rollover.
    """

    meter: str
    register: str
    start_value: Decimal
    end_value: Decimal
    dials: int | None
    multiplier: Decimal = Decimal(1)


def segment_consumption(
    segment: RegisterSegment, rollover_fraction: Decimal = Decimal("0.1")
) -> Decimal:
    """Return the consumption between the two reads, times the register multiplier.

    An end read below the start read is a rollover when the wrapped amount
    ``10**dials - start + end`` is below ``rollover_fraction * 10**dials``. Otherwise the
    reads are suspect (a possible meter exchange), so ``SuspectRead`` is raised.
    """
    if segment.start_value < 0 or segment.end_value < 0:
        raise RatingError(
            f"meter {segment.meter} register {segment.register}: negative read "
            f"({segment.start_value} to {segment.end_value}); correct the read",
            code="negative_read",
        )
    if segment.end_value >= segment.start_value:
        return (segment.end_value - segment.start_value) * segment.multiplier
    if segment.dials is not None:
        capacity = Decimal(10) ** segment.dials
        wrapped = capacity - segment.start_value + segment.end_value
        if segment.start_value < capacity and wrapped < rollover_fraction * capacity:
            return wrapped * segment.multiplier
    raise SuspectRead(
        f"meter {segment.meter} register {segment.register}: end read "
        f"{_reading(segment.end_value)} is below start read {_reading(segment.start_value)} "
        f"and is not a plausible rollover of {segment.dials} dials; check for a meter "
        "exchange and split the reads at it"
    )


def _reading(value: Decimal) -> str:
    """Write a register reading as a person reads it: 1,710,511 or 17,077.963."""
    return f"{value.normalize():,f}"


def total_consumption(
    segments: Iterable[RegisterSegment], rollover_fraction: Decimal = Decimal("0.1")
) -> Decimal:
    """Sum the consumption of several segments, such as the old and new meter of a changeout."""
    return sum(
        (segment_consumption(segment, rollover_fraction) for segment in segments), ZERO
    )
