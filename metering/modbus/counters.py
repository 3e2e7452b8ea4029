"""Unwrap pulse counters that roll over at their modulus (65536 for uint16, 2**32 for uint32)."""

from __future__ import annotations

from dataclasses import dataclass

from metering.modbus.decode import PlausibilityError

__all__ = ["CounterStep", "unwrap_counter"]


@dataclass(frozen=True)
class CounterStep:
    """The counts between two raw counter values, and whether the counter wrapped between."""

    counts: int
    rollover: bool


def unwrap_counter(
    previous: int, current: int, modulus: int, max_wrap_step: int | None = None
) -> CounterStep:
    """Return the counts from ``previous`` to ``current`` of a counter that wraps at ``modulus``.

    A current value below the previous one is a wrap: 65535 then 3 on a uint16 counter is
    4 counts. A wrap that would mean more than ``max_wrap_step`` counts (default half the
    modulus) is more likely a counter reset or a meter exchange, so it raises
    PlausibilityError instead of inventing consumption.
    """
    for label, raw in (("previous", previous), ("current", current)):
        if not 0 <= raw < modulus:
            raise PlausibilityError(
                f"{label} counter value {raw} is outside 0..{modulus - 1}; check the "
                "register's data type in the register map"
            )
    if current >= previous:
        return CounterStep(counts=current - previous, rollover=False)

    counts = current + modulus - previous
    limit = modulus // 2 if max_wrap_step is None else max_wrap_step
    if counts > limit:
        raise PlausibilityError(
            f"counter went backwards from {previous} to {current}; as a wrap at {modulus} "
            f"that is {counts} counts, more than the {limit} allowed, so check for a "
            "counter reset or a meter exchange"
        )
    return CounterStep(counts=counts, rollover=True)
