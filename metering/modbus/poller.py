"""Poll Modbus TCP meters concurrently and return each device's values or failure reason.

Each device gets its own connection, a timeout per attempt, and retries with exponential
backoff (``backoff``, then twice that, and so on). A semaphore bounds how many devices
are polled at once, and it is released during a backoff, so a device that does not
respond holds one slot for at most one timeout at a time and never blocks the others.
A Modbus exception response (such as an illegal address) is not retried, because the
device would send the same response again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from metering.modbus.decode import (
    ByteOrder,
    PlausibilityError,
    check_plausible,
    decode_registers,
    float32_to_decimal,
)
from metering.modbus.maps import MapField, MapKind, RegisterMap, RegisterTable
from metering.modbus.sunspec import SunSpecError, decode_model, find_model, load_model

__all__ = [
    "DeviceConfig",
    "FieldReading",
    "PollOptions",
    "PollResult",
    "decode_field",
    "poll_devices",
    "poll_devices_blocking",
]

log = logging.getLogger(__name__)

#: Maximum registers in one Modbus read request.
MAX_REGISTERS_PER_READ = 125


@dataclass(frozen=True)
class DeviceConfig:
    """One Modbus TCP device: its address and the layout of its registers."""

    name: str
    host: str
    port: int
    unit_id: int
    register_map: RegisterMap
    byte_order: ByteOrder


@dataclass(frozen=True)
class PollOptions:
    #: Seconds one attempt (connect and every read) may take.
    timeout: float = 3.0
    #: Attempts after the first one fails.
    retries: int = 2
    #: Seconds before the first retry; each further retry waits twice as long.
    backoff: float = 0.5
    #: Devices polled at the same time.
    concurrency: int = 10


@dataclass(frozen=True)
class FieldReading:
    """One field's decoded value, or the reason it was rejected, with the raw registers."""

    name: str
    value: Decimal | None
    raw: tuple[int, ...]
    error: str | None = None


@dataclass
class PollResult:
    device: str
    #: When the device responded (UTC, whole seconds); None when it did not.
    responded_at: dt.datetime | None
    readings: dict[str, FieldReading] = field(default_factory=dict)
    #: Why the poll failed (no response, timeout, exception response); None on success.
    error: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class DeviceAnswerError(Exception):
    """The device returned a Modbus exception response or a register layout that does not fit."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hex(registers: Sequence[int]) -> str:
    return " ".join(f"0x{word:04X}" for word in registers)


def _checked_reading(field_map: MapField, value: Decimal, raw: tuple[int, ...]) -> FieldReading:
    """Return the reading of ``value``, or its rejection when it is implausible."""
    try:
        check_plausible(
            field_map.name,
            value,
            minimum=field_map.minimum,
            maximum=field_map.maximum,
            total=field_map.total,
        )
    except PlausibilityError as error:
        return FieldReading(field_map.name, None, raw, f"{error} (registers {_hex(raw)})")
    return FieldReading(field_map.name, value, raw)


def decode_field(field_map: MapField, registers: Sequence[int], order: ByteOrder) -> FieldReading:
    """Decode one fixed-address field and check that its value is plausible."""
    assert field_map.data_type is not None, "a fixed-address field has a data type"
    raw = tuple(registers)
    number = decode_registers(raw, field_map.data_type, order)
    if not isinstance(number, float):
        return _checked_reading(field_map, Decimal(number), raw)
    try:
        value = float32_to_decimal(number, field_map.places)
    except PlausibilityError as error:
        return FieldReading(field_map.name, None, raw, f"{error} (registers {_hex(raw)})")
    return _checked_reading(field_map, value, raw)


class _Session:
    """One connected client and the reads of one device."""

    def __init__(self, client: AsyncModbusTcpClient, config: DeviceConfig) -> None:
        self.client = client
        self.config = config

    async def read(self, address: int, count: int) -> list[int] | None:
        """Read ``count`` registers of the map's table; None on an exception response."""
        words: list[int] = []
        unit = self.config.unit_id
        while count > 0:
            size = min(count, MAX_REGISTERS_PER_READ)
            if self.config.register_map.table is RegisterTable.INPUT:
                response = await self.client.read_input_registers(
                    address, count=size, device_id=unit
                )
            else:
                response = await self.client.read_holding_registers(
                    address, count=size, device_id=unit
                )
            if response.isError():
                return None
            words.extend(response.registers[:size])
            address += size
            count -= size
        return words

    async def read_required(self, address: int, count: int) -> list[int]:
        words = await self.read(address, count)
        if words is None:
            raise DeviceAnswerError(
                f"device responded to a read of {count} {self.config.register_map.table} "
                f"registers at {address} with a Modbus exception; check the register map "
                "and the unit id"
            )
        return words

    async def read_fields(self) -> dict[str, FieldReading]:
        register_map = self.config.register_map
        if register_map.kind is MapKind.SUNSPEC:
            return await self._read_sunspec()
        readings = {}
        for field_map in register_map.fields:
            assert field_map.address is not None and field_map.data_type is not None
            words = await self.read_required(field_map.address, field_map.data_type.register_count)
            readings[field_map.name] = decode_field(field_map, words, self.config.byte_order)
        return readings

    async def _read_sunspec(self) -> dict[str, FieldReading]:
        register_map = self.config.register_map
        assert register_map.sunspec_model is not None
        definition = load_model(register_map.sunspec_model)
        try:
            location = await find_model(self.read, register_map.sunspec_model)
        except SunSpecError as error:
            raise DeviceAnswerError(str(error)) from error
        block = await self.read_required(location.address, location.length + 2)
        names = [field_map.name for field_map in register_map.fields]
        try:
            values = decode_model(definition, block, names)
        except SunSpecError as error:
            raise DeviceAnswerError(str(error)) from error

        readings = {}
        for field_map in register_map.fields:
            point = definition.points[field_map.name]
            raw = tuple(block[point.offset : point.offset + point.size])
            value = values[field_map.name]
            if value is None:
                readings[field_map.name] = FieldReading(
                    field_map.name, None, raw, f"{field_map.name} is not implemented by the device"
                )
                continue
            readings[field_map.name] = _checked_reading(field_map, value, raw)
        return readings


async def _attempt(config: DeviceConfig, options: PollOptions) -> dict[str, FieldReading]:
    client = AsyncModbusTcpClient(
        config.host,
        port=config.port,
        timeout=options.timeout,
        retries=0,
        reconnect_delay=0,
    )
    try:
        async with asyncio.timeout(options.timeout):
            if not await client.connect():
                raise ConnectionError(f"no connection to {config.host}:{config.port}")
            return await _Session(client, config).read_fields()
    finally:
        client.close()


async def _poll_one(
    config: DeviceConfig,
    options: PollOptions,
    slots: asyncio.Semaphore,
    clock: Callable[[], dt.datetime],
) -> PollResult:
    result = PollResult(device=config.name, responded_at=None)
    for attempt in range(1, options.retries + 2):
        result.attempts = attempt
        async with slots:
            try:
                result.readings = await _attempt(config, options)
            except DeviceAnswerError as error:
                result.error = str(error)
                log.warning("modbus device %s: %s", config.name, error)
                return result
            except TimeoutError:
                result.error = f"timed out after {options.timeout:g} s"
            except (ModbusException, OSError) as error:
                result.error = f"no response: {error}"
            else:
                result.error = None
                result.responded_at = clock().astimezone(dt.UTC).replace(microsecond=0)
                return result
        if attempt <= options.retries:
            delay = options.backoff * 2 ** (attempt - 1)
            log.info(
                "modbus device %s attempt %d failed (%s); retrying in %.2f s",
                config.name,
                attempt,
                result.error,
                delay,
            )
            await asyncio.sleep(delay)
    log.warning(
        "modbus device %s at %s:%d failed after %d attempts: %s",
        config.name,
        config.host,
        config.port,
        result.attempts,
        result.error,
    )
    return result


async def poll_devices(
    devices: Sequence[DeviceConfig],
    options: PollOptions | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> list[PollResult]:
    """Poll every device and return one result each, in the order of ``devices``.

    ``clock`` gives the instant recorded when a device responds; tests pass a fixed one.
    """
    options = options or PollOptions()
    slots = asyncio.Semaphore(max(1, options.concurrency))
    return list(
        await asyncio.gather(*(_poll_one(config, options, slots, clock) for config in devices))
    )


def poll_devices_blocking(
    devices: Sequence[DeviceConfig],
    options: PollOptions | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> list[PollResult]:
    """Run ``poll_devices`` in a new event loop, for callers that are not async."""
    return asyncio.run(poll_devices(devices, options, clock))
