"""Account numbers: eight digits and a Luhn (mod 10) check digit, e.g. ``100000017``."""

from __future__ import annotations

from stdnum import luhn
from stdnum.exceptions import ValidationError

from app.errors import InvalidInput

FIRST_BASE = 10_000_001
BASE_DIGITS = 8


def account_number(base: int) -> str:
    """Append the check digit to an eight-digit base number."""
    digits = str(base)
    if len(digits) != BASE_DIGITS:
        raise ValueError(f"account base {base} must have {BASE_DIGITS} digits")
    return digits + luhn.calc_check_digit(digits)


def validate_account_number(value: str) -> str:
    """Return the number without spaces or dashes, or raise naming the mistake."""
    compact = value.replace(" ", "").replace("-", "")
    if not compact.isdigit() or len(compact) != BASE_DIGITS + 1:
        raise InvalidInput(
            f"account number {value!r} must be {BASE_DIGITS + 1} digits, as printed on the bill",
            code="account_number_format",
        )
    try:
        luhn.validate(compact)
    except ValidationError as exc:
        raise InvalidInput(
            f"account number {value!r} fails its check digit; look for a mistyped or swapped digit",
            code="account_number_check_digit",
        ) from exc
    return compact
