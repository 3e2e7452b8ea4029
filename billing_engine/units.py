"""Units of consumption and exact conversions between them.

Volume factors are exact rationals: 1 ft3 = 1728/231 gal (a US gallon is 231 in3),
1 ccf = 100 ft3, 1 kgal = 1000 gal and 1 m3 = 1,000,000/3785.411784 gal.
"""

from __future__ import annotations

from decimal import Decimal, getcontext
from enum import StrEnum
from fractions import Fraction

from billing_engine.errors import UnitConversionError

#: Significant digits of a converted quantity.
CONVERSION_PRECISION = 28


class Unit(StrEnum):
    GAL = "gal"
    FT3 = "ft3"
    CCF = "ccf"
    KGAL = "kgal"
    M3 = "m3"
    KWH = "kWh"
    THERM = "therm"


_GALLONS_PER_UNIT: dict[Unit, Fraction] = {
    Unit.GAL: Fraction(1),
    Unit.FT3: Fraction(1728, 231),
    Unit.CCF: Fraction(172800, 231),
    Unit.KGAL: Fraction(1000),
    Unit.M3: Fraction(1_000_000) / Fraction("3785.411784"),
}


#: Exact factor between each pair of volume units, computed once.
_VOLUME_FACTORS: dict[tuple[Unit, Unit], Fraction] = {
    (source, target): source_gallons / target_gallons
    for source, source_gallons in _GALLONS_PER_UNIT.items()
    for target, target_gallons in _GALLONS_PER_UNIT.items()
}
_ONE = Fraction(1)
#: The same factors as (numerator, denominator), keyed by the units' names, which a Unit
#: member equals and hashes like.
_VOLUME_RATIOS: dict[tuple[str, str], tuple[int, int]] = {
    (source.value, target.value): (factor.numerator, factor.denominator)
    for (source, target), factor in _VOLUME_FACTORS.items()
}
_UNIT_VALUES = frozenset(unit.value for unit in Unit)


def _to_decimal(numerator: int, denominator: int) -> Decimal:
    # An integer quotient depends only on the value of the fraction, so the numerator and
    # denominator need not be in lowest terms.
    # Work in a copy of the current context, as localcontext() would, so that only the
    # precision differs and the caller's flags stay untouched.
    context = getcontext().copy()
    context.prec = CONVERSION_PRECISION
    return context.divide(Decimal(numerator), Decimal(denominator))


def conversion_factor(
    from_unit: Unit | str, to_unit: Unit | str, *, therms_per_ccf: Decimal | None = None
) -> Fraction:
    """Return the exact factor that turns a quantity in ``from_unit`` into ``to_unit``.

    Volume converts to therms (and back) only through ``therms_per_ccf``, the gas heat
    factor. Energy in kWh never converts to or from volume or therms.
    """
    source = Unit(from_unit)
    target = Unit(to_unit)
    if source == target:
        return _ONE
    if Unit.KWH in (source, target):
        raise UnitConversionError(
            f"cannot convert {source} to {target}: kWh is electric energy and converts to "
            "no other unit; rate the usage on a tariff priced in kWh",
            code="unit_mismatch",
        )
    if Unit.THERM in (source, target):
        if therms_per_ccf is None:
            raise UnitConversionError(
                f"cannot convert {source} to {target} without a heat factor; pass "
                "therms_per_ccf (for example 1.037 therms per ccf)",
                code="heat_factor_required",
            )
        if therms_per_ccf <= 0:
            raise UnitConversionError(
                f"invalid heat factor therms_per_ccf={therms_per_ccf}; it must be positive",
                code="heat_factor_required",
            )
        heat = Fraction(therms_per_ccf)
        if source == Unit.THERM:
            return (1 / heat) * _GALLONS_PER_UNIT[Unit.CCF] / _GALLONS_PER_UNIT[target]
        return _GALLONS_PER_UNIT[source] / _GALLONS_PER_UNIT[Unit.CCF] * heat
    return _VOLUME_FACTORS[source, target]


def convert(
    quantity: Decimal,
    from_unit: Unit | str,
    to_unit: Unit | str,
    *,
    therms_per_ccf: Decimal | None = None,
) -> Decimal:
    """Convert ``quantity`` exactly and return it as a Decimal of 28 significant digits."""
    ratio = None
    if isinstance(from_unit, str) and isinstance(to_unit, str):
        if from_unit == to_unit and from_unit in _UNIT_VALUES:
            return quantity
        ratio = _VOLUME_RATIOS.get((from_unit, to_unit))
    if ratio is None:
        factor = conversion_factor(from_unit, to_unit, therms_per_ccf=therms_per_ccf)
        if factor == 1:
            return quantity
        ratio = (factor.numerator, factor.denominator)
    numerator, denominator = quantity.as_integer_ratio()
    return _to_decimal(numerator * ratio[0], denominator * ratio[1])
