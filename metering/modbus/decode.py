"""Turn Modbus registers into exact Decimal values, and reject values no meter could give.

Modbus sends each 16-bit register high byte first, but devices disagree on how a 32-bit
value is split over two registers. Which order a device uses is stated in its
configuration and never guessed, as one of four names for the bytes A B C D of the
big-endian value:

- ``ABCD``: big-endian, high word first (the Modbus convention and SunSpec's);
- ``CDAB``: word-swapped, low word first;
- ``BADC``: byte-swapped, the bytes of each register exchanged;
- ``DCBA``: little-endian.

A 16-bit value is affected only by the byte swap (``BADC`` and ``DCBA``).

A float32 becomes a Decimal through the shortest decimal string that reads back as the
same float32 (at most 9 significant digits), so 12345.67 is stored as 12345.67 and not as
the binary value 12345.669921875. That Decimal is then rounded half-even to the field's
number of decimal places (at most 6, the resolution of a stored read).
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal

__all__ = [
    "ByteOrder",
    "DataType",
    "PlausibilityError",
    "check_plausible",
    "decode_registers",
    "encode_registers",
    "float32_to_decimal",
]

#: A nonzero float32 smaller than this is taken for a decode in the wrong byte order
#: (ABCD decoding of a BADC pair gives about -4.7e-30). No meter quantity is that small.
# NOTE: the limit is a judgment, not from a meter's datasheet.
SMALLEST_PLAUSIBLE_MAGNITUDE = Decimal("1e-6")


class ByteOrder(enum.StrEnum):
    ABCD = "ABCD"
    CDAB = "CDAB"
    BADC = "BADC"
    DCBA = "DCBA"

    @property
    def swaps_bytes(self) -> bool:
        return self in (ByteOrder.BADC, ByteOrder.DCBA)

    @property
    def swaps_words(self) -> bool:
        return self in (ByteOrder.CDAB, ByteOrder.DCBA)


class DataType(enum.StrEnum):
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    FLOAT32 = "float32"

    @property
    def register_count(self) -> int:
        return 1 if self in (DataType.UINT16, DataType.INT16) else 2

    @property
    def modulus(self) -> int:
        """The number of distinct raw values, where an unsigned counter wraps to 0."""
        return 1 << (16 * self.register_count)


_STRUCT_FORMATS = {
    DataType.UINT16: ">H",
    DataType.INT16: ">h",
    DataType.UINT32: ">I",
    DataType.INT32: ">i",
    DataType.FLOAT32: ">f",
}


class PlausibilityError(ValueError):
    """A decoded value that no working meter gives; it is kept for review, never stored."""


def _big_endian_bytes(registers: Sequence[int], order: ByteOrder) -> bytes:
    """Reorder the wire registers into the value's big-endian bytes (A B C D)."""
    words = list(registers)
    if order.swaps_words:
        words.reverse()
    data = b"".join(word.to_bytes(2, "big") for word in words)
    if order.swaps_bytes:
        data = b"".join(data[i + 1 : i + 2] + data[i : i + 1] for i in range(0, len(data), 2))
    return data


def decode_registers(
    registers: Sequence[int], data_type: DataType, order: ByteOrder
) -> int | float:
    """Decode the registers of one value; a float32 comes back as a Python float."""
    if len(registers) != data_type.register_count:
        raise ValueError(
            f"{data_type} takes {data_type.register_count} registers, "
            f"got {len(registers)}: {list(registers)}"
        )
    for word in registers:
        if not 0 <= word <= 0xFFFF:
            raise ValueError(f"register value {word} is outside 0..65535")
    value: int | float = struct.unpack(
        _STRUCT_FORMATS[data_type], _big_endian_bytes(registers, order)
    )[0]
    return value


def encode_registers(value: int | float, data_type: DataType, order: ByteOrder) -> list[int]:
    """Encode a value into wire registers in ``order``; the inverse of ``decode_registers``."""
    data = struct.pack(_STRUCT_FORMATS[data_type], value)
    if order.swaps_bytes:
        data = b"".join(data[i + 1 : i + 2] + data[i : i + 1] for i in range(0, len(data), 2))
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if order.swaps_words:
        words.reverse()
    return words


def float32_to_decimal(value: float, places: int = 6) -> Decimal:
    """Convert a float32 read from a meter to a Decimal rounded half-even to ``places``.

    Raises PlausibilityError for NaN and infinities, which a meter sends for a value it
    has not measured, and for a nonzero magnitude below ``SMALLEST_PLAUSIBLE_MAGNITUDE``,
    which a wrong byte order produces and rounding would hide as 0.
    """
    if math.isnan(value) or math.isinf(value):
        raise PlausibilityError(f"float32 value {value} is not a number a meter can register")
    if value != 0 and abs(value) < SMALLEST_PLAUSIBLE_MAGNITUDE:
        raise PlausibilityError(
            f"float32 value {value:g} is implausibly small; check the device's byte order"
        )
    packed = struct.pack(">f", value)
    text = repr(value)
    for digits in range(1, 10):
        candidate = f"{value:.{digits}g}"
        try:
            same = struct.pack(">f", float(candidate)) == packed
        except OverflowError:  # rounded up past the largest float32
            continue
        if same:
            text = candidate
            break
    # A float32 reaches 3.4e38, more digits than the default context keeps.
    wide = Context(prec=60)
    return Decimal(text).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=wide
    )


def check_plausible(
    name: str,
    value: Decimal,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    total: bool = False,
    previous_total: Decimal | None = None,
) -> None:
    """Raise PlausibilityError when ``value`` of field ``name`` cannot be a true reading.

    A total (an energy or volume register) must not be negative and must not be below
    ``previous_total``, because register totals here do not wrap (wrapping counters are
    unwrapped by ``metering.modbus.counters`` instead).
    """
    where = f"{name} = {value}"
    fix = "check the device's byte order and register map"
    if value != 0 and abs(value) < SMALLEST_PLAUSIBLE_MAGNITUDE:
        raise PlausibilityError(f"{where} is implausibly small; {fix}")
    if total and value < 0:
        raise PlausibilityError(f"{where} is a negative total; {fix}")
    if minimum is not None and value < minimum:
        raise PlausibilityError(f"{where} is below the minimum {minimum}; {fix}")
    if maximum is not None and value > maximum:
        raise PlausibilityError(f"{where} is above the maximum {maximum}; {fix}")
    if total and previous_total is not None and value < previous_total:
        raise PlausibilityError(
            f"{where} went backwards from {previous_total}; a register total never "
            "decreases, so check for a meter exchange or reset"
        )
