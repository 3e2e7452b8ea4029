"""Register maps: which registers of a meter model to read and how to decode each one.

A map is a JSON file in ``metering/modbus/maps/`` named after the map, such as
``eastron-sdm120.json``. docs/modbus.md describes the format. In short, ``kind`` is one of

- ``registers``: fixed addresses, each field with ``address`` (a number or "0x0048") and
  ``type`` (uint16, int16, uint32, int32, float32);
- ``counter``: like ``registers``, with one unsigned field marked ``"counter": true`` that
  wraps at its modulus and counts pulses;
- ``sunspec``: a SunSpec model found by walking the model chain. Each field names a point
  of the model and takes its type and scale factor from the model's JSON definition.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from metering.modbus.decode import DataType

__all__ = [
    "MAPS_DIR",
    "MapField",
    "MapKind",
    "RegisterMap",
    "RegisterMapError",
    "RegisterTable",
    "available_maps",
    "load_map",
    "parse_map",
]

MAPS_DIR = Path(__file__).resolve().parent / "maps"

#: Decimal places of a stored read (``Quantity`` in the app); a field may keep fewer.
MAX_PLACES = 6


class RegisterMapError(ValueError):
    """A register map file that is missing or invalid."""


class MapKind(enum.StrEnum):
    REGISTERS = "registers"
    COUNTER = "counter"
    SUNSPEC = "sunspec"


class RegisterTable(enum.StrEnum):
    """The Modbus table a map reads: input registers (code 04) or holding registers (03)."""

    INPUT = "input"
    HOLDING = "holding"


@dataclass(frozen=True)
class MapField:
    """One value a map reads. ``address`` and ``data_type`` are None for SunSpec points."""

    name: str
    unit: str
    address: int | None = None
    data_type: DataType | None = None
    places: int = MAX_PLACES
    total: bool = False
    counter: bool = False
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    #: For a counter: the largest wrap accepted, in counts (default half the modulus).
    max_wrap_step: int | None = None


@dataclass(frozen=True)
class RegisterMap:
    name: str
    kind: MapKind
    table: RegisterTable
    #: The field whose value feeds the meter register, unless a device names another.
    primary: str
    fields: tuple[MapField, ...]
    description: str = ""
    source: str = ""
    sunspec_model: int | None = None
    #: For a counter map: the volume or energy per pulse when a device sets none.
    per_pulse: Decimal | None = None

    def field(self, name: str) -> MapField:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        names = ", ".join(candidate.name for candidate in self.fields)
        raise RegisterMapError(
            f"register map {self.name!r} has no field {name!r}; use one of {names}"
        )


def available_maps() -> list[str]:
    """Return the names of the register maps shipped in ``MAPS_DIR``, sorted."""
    return sorted(path.stem for path in MAPS_DIR.glob("*.json"))


def load_map(name: str) -> RegisterMap:
    """Load the register map ``name`` from ``MAPS_DIR``."""
    path = MAPS_DIR / f"{name}.json"
    if not path.is_file():
        raise RegisterMapError(
            f"register map {name!r} not found; use one of {', '.join(available_maps())}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RegisterMapError(f"register map {path.name} is not valid JSON: {error}") from error
    return parse_map(data, origin=path.name)


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise RegisterMapError(f"{where}: {value!r} is not a number") from error


def _address(value: Any, where: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError as error:
            raise RegisterMapError(
                f'{where}: address {value!r} is not a number such as 72 or "0x0048"'
            ) from error
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise RegisterMapError(f"{where}: address {value!r} is outside 0..65535")
    return value


def _parse_field(raw: dict[str, Any], kind: MapKind, where: str) -> MapField:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise RegisterMapError(f"{where}: every field needs a name")
    where = f"{where}, field {name!r}"
    places = raw.get("places", MAX_PLACES)
    if not isinstance(places, int) or not 0 <= places <= MAX_PLACES:
        raise RegisterMapError(f"{where}: places {places!r} must be a whole number 0..6")

    address = None
    data_type = None
    if kind is not MapKind.SUNSPEC:
        if "address" not in raw or "type" not in raw:
            raise RegisterMapError(f"{where}: a {kind} field needs an address and a type")
        address = _address(raw["address"], where)
        try:
            data_type = DataType(raw["type"])
        except ValueError as error:
            allowed = ", ".join(member.value for member in DataType)
            raise RegisterMapError(
                f"{where}: type {raw['type']!r} is not one of {allowed}"
            ) from error

    counter = bool(raw.get("counter", False))
    if counter and data_type not in (DataType.UINT16, DataType.UINT32):
        raise RegisterMapError(f"{where}: a counter must be uint16 or uint32")
    max_wrap_step = raw.get("max_wrap_step")
    if max_wrap_step is not None and (not isinstance(max_wrap_step, int) or max_wrap_step < 1):
        raise RegisterMapError(f"{where}: max_wrap_step must be a whole number of counts")
    return MapField(
        name=name,
        unit=str(raw.get("unit", "")),
        address=address,
        data_type=data_type,
        places=places,
        total=bool(raw.get("total", False)),
        counter=counter,
        minimum=_decimal(raw.get("min"), where),
        maximum=_decimal(raw.get("max"), where),
        max_wrap_step=max_wrap_step,
    )


def parse_map(data: dict[str, Any], origin: str = "register map") -> RegisterMap:
    """Check and build a register map from its JSON data; ``origin`` names it in errors."""
    try:
        kind = MapKind(str(data.get("kind")))
    except ValueError as error:
        allowed = ", ".join(member.value for member in MapKind)
        raise RegisterMapError(
            f"{origin}: kind {data.get('kind')!r} is not one of {allowed}"
        ) from error
    try:
        table = RegisterTable(data.get("table", "holding"))
    except ValueError as error:
        raise RegisterMapError(
            f"{origin}: table {data.get('table')!r} is not 'input' or 'holding'"
        ) from error

    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise RegisterMapError(f"{origin}: 'fields' must list at least one field")
    fields = tuple(_parse_field(raw, kind, origin) for raw in raw_fields)
    names = [field.name for field in fields]
    if len(set(names)) != len(names):
        raise RegisterMapError(f"{origin}: field names repeat: {names}")

    primary = data.get("primary", names[0])
    if primary not in names:
        raise RegisterMapError(f"{origin}: primary field {primary!r} is not among {names}")
    counters = [field for field in fields if field.counter]
    if kind is MapKind.COUNTER and len(counters) != 1:
        raise RegisterMapError(f"{origin}: a counter map has exactly one counter field")

    sunspec_model = data.get("model")
    if kind is MapKind.SUNSPEC and not isinstance(sunspec_model, int):
        raise RegisterMapError(f"{origin}: a sunspec map names its model number, such as 203")
    return RegisterMap(
        name=str(data.get("name", origin)),
        kind=kind,
        table=table,
        primary=primary,
        fields=fields,
        description=str(data.get("description", "")),
        source=str(data.get("source", "")),
        sunspec_model=sunspec_model if kind is MapKind.SUNSPEC else None,
        per_pulse=_decimal(data.get("per_pulse"), origin),
    )
