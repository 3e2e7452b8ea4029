"""ABA routing numbers: the check digit that makes a nine-digit number valid."""

from __future__ import annotations

from functools import lru_cache

_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)


@lru_cache(maxsize=4096)
def aba_check_digit(first_eight: str) -> int:
    """Compute the ninth digit of a routing number from its first eight digits.

    The weighted sum 3-7-1 over all nine digits must be a multiple of 10.
    Raises ValueError unless ``first_eight`` is exactly eight ASCII digits.
    """
    if len(first_eight) != 8 or not (first_eight.isascii() and first_eight.isdigit()):
        raise ValueError(f"expected 8 digits, got {first_eight!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first_eight, _WEIGHTS, strict=True))
    return (10 - total % 10) % 10


def is_valid_routing_number(routing_number: str) -> bool:
    """Return whether ``routing_number`` is nine digits with a correct ABA check digit."""
    if len(routing_number) != 9 or not (routing_number.isascii() and routing_number.isdigit()):
        return False
    return aba_check_digit(routing_number[:8]) == int(routing_number[8])
