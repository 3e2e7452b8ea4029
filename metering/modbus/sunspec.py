"""SunSpec meters: find the model chain, locate a model by id and decode its points exactly.

A SunSpec device starts its register space with the marker "SunS" (0x5375 0x6E53) at
40000, 0 or 50000. Each model follows as an ID register, a length register L and L
registers of points, starting with the Common model (1) and ending with ID 0xFFFF. The
point layout of each model comes from the SunSpec model JSON files in ``sunspec/``.

A scaled point's value is ``raw * 10**sf``, where sf is the model's sunssf point that
the point names. It is computed exactly in Decimal (``Decimal(raw).scaleb(sf)``), so a
raw 1234567 with sf -2 is 12345.67 and not a float approximation.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path

__all__ = [
    "BASE_ADDRESSES",
    "SUNS_MARKER",
    "ModelDefinition",
    "ModelLocation",
    "Point",
    "SunSpecError",
    "decode_model",
    "find_model",
    "load_model",
]

MODELS_DIR = Path(__file__).resolve().parent / "sunspec"

#: "SunS" as two big-endian registers.
SUNS_MARKER = (0x5375, 0x6E53)
#: Addresses where the SunSpec specification lets the marker start, in the order tried.
BASE_ADDRESSES = (40000, 0, 50000)
END_OF_CHAIN = 0xFFFF
#: A chain longer than this is taken for a device that does not end it properly.
MAX_MODELS = 64

#: Raw values that mean "not implemented" for each numeric SunSpec type.
_NOT_IMPLEMENTED = {
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "count": 0xFFFF,
    "int16": -0x8000,
    "sunssf": -0x8000,
    "acc16": 0,
    "uint32": 0xFFFFFFFF,
    "int32": -0x80000000,
    "acc32": 0,
}
_SIGNED = {"int16", "sunssf", "int32"}

#: Reads ``count`` holding registers from ``address``. It returns None when the device
#: responds with a Modbus exception (such as an illegal address).
RegisterReader = Callable[[int, int], Awaitable[Sequence[int] | None]]


class SunSpecError(ValueError):
    """A device whose SunSpec layout cannot be read as the register map expects."""


@dataclass(frozen=True)
class Point:
    name: str
    point_type: str
    offset: int
    size: int
    scale_factor: str | None
    unit: str | None


@dataclass(frozen=True)
class ModelDefinition:
    model_id: int
    name: str
    points: dict[str, Point]

    @property
    def length(self) -> int:
        """Registers of the model, counting its ID and L registers."""
        return max(point.offset + point.size for point in self.points.values())


@dataclass(frozen=True)
class ModelLocation:
    """A model's position: the address of its ID register and its L (registers after L)."""

    address: int
    length: int
    chain: tuple[int, ...]


@lru_cache
def load_model(model_id: int) -> ModelDefinition:
    """Load a SunSpec model definition from ``sunspec/model_<id>.json``."""
    path = MODELS_DIR / f"model_{model_id}.json"
    if not path.is_file():
        shipped = sorted(int(p.stem.removeprefix("model_")) for p in MODELS_DIR.glob("*.json"))
        raise SunSpecError(
            f"SunSpec model {model_id} has no definition; add {path.name} from the SunSpec "
            f"models repository next to the shipped ones ({shipped})"
        )
    group = json.loads(path.read_text(encoding="utf-8"))["group"]
    points: dict[str, Point] = {}
    offset = 0
    for raw in group["points"]:
        size = int(raw.get("size", 1))
        points[raw["name"]] = Point(
            name=raw["name"],
            point_type=raw["type"],
            offset=offset,
            size=size,
            scale_factor=raw.get("sf"),
            unit=raw.get("units"),
        )
        offset += size
    return ModelDefinition(model_id=model_id, name=group["name"], points=points)


async def find_model(read: RegisterReader, model_id: int) -> ModelLocation:
    """Find the SunSpec base address, then walk the model chain to ``model_id``."""
    base = None
    for candidate in BASE_ADDRESSES:
        marker = await read(candidate, 2)
        if marker is not None and tuple(marker) == SUNS_MARKER:
            base = candidate
            break
    if base is None:
        tried = ", ".join(str(address) for address in BASE_ADDRESSES)
        raise SunSpecError(
            f"no SunSpec marker 'SunS' at {tried}; check that the device speaks SunSpec "
            "and that the unit id is right"
        )

    address = base + 2
    chain: list[int] = []
    for _ in range(MAX_MODELS):
        header = await read(address, 2)
        if header is None:
            raise SunSpecError(
                f"the SunSpec model chain breaks at register {address} after models {chain}"
            )
        found_id, length = header
        if found_id == END_OF_CHAIN:
            raise SunSpecError(f"SunSpec model {model_id} not found; the device has {chain}")
        chain.append(found_id)
        if found_id == model_id:
            return ModelLocation(address=address, length=length, chain=tuple(chain))
        address += 2 + length
    raise SunSpecError(f"SunSpec chain has more than {MAX_MODELS} models and no end marker")


def _raw_value(point: Point, block: Sequence[int]) -> int:
    words = block[point.offset : point.offset + point.size]
    value = 0
    for word in words:
        value = (value << 16) | word
    if point.point_type in _SIGNED:
        bits = 16 * point.size
        if value >= 1 << (bits - 1):
            value -= 1 << bits
    return value


def decode_model(
    definition: ModelDefinition,
    block: Sequence[int],
    names: Sequence[str],
    places: int = 6,
) -> dict[str, Decimal | None]:
    """Decode points ``names`` of a model block that starts at its ID register.

    A point, or its scale factor, holding the "not implemented" value gives None. Values
    are rounded half-even to ``places`` only when a scale factor below -``places``
    makes them finer than that.
    """
    if len(block) < definition.length:
        raise SunSpecError(
            f"model {definition.model_id} block has {len(block)} registers, "
            f"expected {definition.length}"
        )
    values: dict[str, Decimal | None] = {}
    quantum = Decimal(1).scaleb(-places)
    for name in names:
        point = definition.points.get(name)
        if point is None or point.point_type not in _NOT_IMPLEMENTED:
            raise SunSpecError(
                f"model {definition.model_id} has no numeric point {name!r}; check the "
                "register map's field names against the model"
            )
        raw = _raw_value(point, block)
        if raw == _NOT_IMPLEMENTED[point.point_type]:
            values[name] = None
            continue
        value = Decimal(raw)
        if point.scale_factor is not None:
            scale_point = definition.points[point.scale_factor]
            exponent = _raw_value(scale_point, block)
            if exponent == _NOT_IMPLEMENTED["sunssf"]:
                values[name] = None
                continue
            value = value.scaleb(exponent)
        if value.as_tuple().exponent < -places:  # type: ignore[operator]
            value = value.quantize(quantum, rounding=ROUND_HALF_EVEN)
        values[name] = value
    return values
