"""Money rounding: each bill line is computed at full precision and rounded once."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CURRENCY_EXPONENT = 2
CENT = Decimal(1).scaleb(-CURRENCY_EXPONENT)
ZERO = Decimal(0)
#: Zero as an amount of money, so an empty sum prints as 0.00.
ZERO_MONEY = Decimal("0.00")


def round_money(amount: Decimal) -> Decimal:
    """Round an amount half-up to cents (currency exponent 2)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
