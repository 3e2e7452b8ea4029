"""The exact scaled-integer form of a year of load, so that ``rate_year`` sums on ints.

``load_csv`` returns a ``LoadList``: the list of Decimals it read, which also carries a
``ScaledLoad`` with every value times ``10**places`` as an exact int. Summing and
comparing Python ints is several times faster than doing it on Decimals. Any change to
the list drops the scaled form, and ``rate_year`` then works on the Decimals alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: A load whose decimal places and positive exponents span more digits than this gets no
#: scaled form and is rated on its Decimals. The limit only bounds the size of the ints.
MAX_SCALE_DIGITS = 100


@dataclass(frozen=True)
class ScaledLoad:
    """Each value of a load as an exact int, with a flag for the most decimal places.

    ``packed[i]`` is ``value[i] * 10**places`` shifted left by ``flag_bits``, plus 1 when
    value ``i`` has ``places`` decimal places. A sum of packed values is then the scaled
    sum above the flag bits and the count of flagged values below them, so one pass shows
    whether a group has a value with the most decimal places. That matters
    because a sum that starts from ``Decimal(0)`` keeps the smallest exponent of its
    terms and of that zero. ``value_places[i]`` is the decimal places of value ``i`` as
    written, at least 0. Only a load of finite, unsigned Decimals has a scaled form, so
    every value is ``>= 0``.
    """

    places: int
    flag_bits: int
    packed: tuple[int, ...]
    value_places: tuple[int, ...]

    def to_decimal(self, total: int, places: int, precision: int) -> Decimal | None:
        """Return ``total / 10**self.places`` written with ``places`` decimal places.

        ``total`` is a sum of scaled values, without the flag bits. The result is the
        Decimal that ``sum(values, Decimal(0))`` returns when the values' most decimal
        places is ``places``. Returns ``None`` when its coefficient has more than
        ``precision`` digits, because the Decimal sum would then have been rounded.
        """
        coefficient = total // 10 ** (self.places - places)
        if coefficient >= 10**precision:
            return None
        return Decimal(coefficient).scaleb(-places)


def _plain_parts(text: str) -> tuple[int, int] | None:
    """Return (coefficient, decimal places) of unsigned plain text such as ``12.50``."""
    whole, point, fraction = text.partition(".")
    digits = whole + fraction
    if not digits.isdecimal() or not digits.isascii():
        return None
    return int(digits), len(fraction)


def _decimal_parts(value: Decimal) -> tuple[int, int] | None:
    sign, digits, exponent = value.as_tuple()
    if sign or not isinstance(exponent, int):
        return None
    coefficient = 0
    for digit in digits:
        coefficient = coefficient * 10 + digit
    return coefficient, -exponent


def scale_load(values: Sequence[Decimal], texts: Sequence[str] | None = None) -> ScaledLoad | None:
    """Build the scaled form of ``values``, or ``None`` if a value is signed or not finite.

    ``texts[i]``, when given, is the text that ``values[i]`` was parsed from. It is read
    directly when it is plain digits with at most one decimal point, which is faster
    than ``Decimal.as_tuple``. A signed value (negative, or negative zero) gets no scaled
    form, so ``rate_year`` reports it, or rates it, exactly as on Decimals.
    """
    parts: list[tuple[int, int]] = []
    for index, value in enumerate(values):
        if type(value) is not Decimal or value.is_signed() or not value.is_finite():
            return None
        found = _plain_parts(texts[index]) if texts is not None else None
        if found is None:
            found = _decimal_parts(value)
        if found is None:
            return None
        parts.append(found)
    if not parts:
        return ScaledLoad(0, 1, (), ())
    places = max(0, max(p for _, p in parts))
    if places - min(p for _, p in parts) > MAX_SCALE_DIGITS:
        return None
    # Enough bits below each value to count every value of the load as flagged.
    flag_bits = len(parts).bit_length()
    value_places = tuple(p if p > 0 else 0 for _, p in parts)
    packed = tuple(
        (coefficient * 10 ** (places - p) << flag_bits) | (value_place == places)
        for (coefficient, p), value_place in zip(parts, value_places, strict=True)
    )
    return ScaledLoad(places, flag_bits, packed, value_places)


def _drops_scaled_form(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    def mutate(self: LoadList, *args: Any, **kwargs: Any) -> Any:
        self.scaled_form = None
        return method(self, *args, **kwargs)

    mutate.__name__ = name
    mutate.__qualname__ = f"LoadList.{name}"
    mutate.__doc__ = method.__doc__
    return mutate


class LoadList(list[Decimal]):
    """A list of load Decimals that also carries their ``ScaledLoad``, if they have one.

    Every list method that changes the list drops ``scaled_form``. A copy made with
    ``list(...)`` or slicing is a plain list.
    """

    def __init__(self, values: Iterable[Decimal] = ()) -> None:
        super().__init__(values)
        self.scaled_form: ScaledLoad | None = None


for _name in (
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__imul__",
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "sort",
    "reverse",
):
    setattr(LoadList, _name, _drops_scaled_form(_name))


def scaled_form_of(load: Sequence[Decimal]) -> ScaledLoad | None:
    """Return the scaled form that ``load`` carries, or ``None`` for any other sequence."""
    if isinstance(load, LoadList):
        scaled = load.scaled_form
        if scaled is not None and len(scaled.packed) == len(load):
            return scaled
    return None
