"""Bill lines produced by rating."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class ChargeKind(StrEnum):
    FIXED = "fixed"
    ENERGY = "energy"
    DEMAND = "demand"
    MINIMUM = "minimum"
    RIDER = "rider"


@dataclass(frozen=True)
class LineDetail:
    """One tier or period step of a line, at full precision (never rounded)."""

    label: str
    quantity: Decimal
    unit: str
    price: Decimal


@dataclass(frozen=True)
class ChargeLine:
    """One charge of one tariff segment; ``amount`` is rounded to cents exactly once."""

    code: str
    kind: ChargeKind
    description: str
    quantity: Decimal | None
    unit: str | None
    amount: Decimal
    detail: tuple[LineDetail, ...] = ()
