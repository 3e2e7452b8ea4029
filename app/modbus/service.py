"""Add Modbus devices, poll the enabled ones and store their responses as meter reads.

A poll stores the value of each device's feeding field as a register read (source
``modbus``, ``read_at`` the instant the device responded, ``read_date`` its local date,
status ``pending`` until validation runs). For a pulse counter it also stores the
consumption since the previous poll as an interval read when the register is an interval
register, flagged ``rollover`` when the counter wrapped in between. Storing the same
poll result twice adds nothing: a result no newer than the device's last stored response
is skipped, and every read is claimed by its natural key first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.alerts import MODBUS_RESPONDING, MODBUS_UNREACHABLE, raise_alert
from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.meters.after_store import reads_stored
from app.meters.models import IntervalRead, Meter, Read, ReadStatus, Register, read_key
from app.modbus.models import ModbusDevice, ModbusRejectedValue
from app.settings import Settings
from metering.modbus.counters import unwrap_counter
from metering.modbus.decode import ByteOrder, PlausibilityError, check_plausible
from metering.modbus.maps import MapKind, RegisterMap, RegisterMapError, load_map
from metering.modbus.poller import (
    DeviceConfig,
    FieldReading,
    PollOptions,
    PollResult,
    poll_devices_blocking,
)

log = logging.getLogger(__name__)

READ_SOURCE = "modbus"
#: ``IntervalRead.quality`` of an interval over which a pulse counter wrapped.
ROLLOVER = "rollover"


@dataclass
class DeviceOutcome:
    """The result of polling one device, for the command line and the task's result."""

    device: str
    responded: bool
    value: Decimal | None = None
    #: Consumption since the previous poll (pulse counters only).
    consumption: Decimal | None = None
    rollover: bool = False
    read_stored: bool = False
    interval_stored: bool = False
    #: Start of the interval stored, when one was.
    interval_start: dt.datetime | None = None
    error: str | None = None
    rejected: list[str] = field(default_factory=list)


def _byte_order(text: str) -> ByteOrder:
    try:
        return ByteOrder(text.upper())
    except ValueError as error:
        raise InvalidInput(
            f"byte order {text!r} is not one of ABCD, CDAB, BADC, DCBA; name the order the "
            "device's manual gives (ABCD is big-endian, high word first)",
            code="invalid_byte_order",
        ) from error


def _register_map(name: str) -> RegisterMap:
    try:
        return load_map(name)
    except RegisterMapError as error:
        raise InvalidInput(str(error), code="invalid_register_map") from error


def add_device(
    session: Session,
    *,
    name: str,
    host: str,
    port: int,
    unit_id: int,
    register_map: str,
    byte_order: str,
    meter_serial: str,
    register_code: str,
    actor: str,
    per_pulse: Decimal | None = None,
    field_name: str | None = None,
) -> ModbusDevice:
    """Add a Modbus device that feeds register ``register_code`` of meter ``meter_serial``."""
    order = _byte_order(byte_order)
    chosen_map = _register_map(register_map)
    if field_name is not None:
        try:
            chosen_map.field(field_name)
        except RegisterMapError as error:
            raise InvalidInput(str(error), code="invalid_field") from error
    if not 1 <= port <= 65535:
        raise InvalidInput(f"port {port} is outside 1..65535", code="invalid_port")
    if not 0 <= unit_id <= 255:
        raise InvalidInput(
            f"unit id {unit_id} is outside 0..255; most devices use 1..247",
            code="invalid_unit_id",
        )
    if per_pulse is not None and per_pulse <= 0:
        raise InvalidInput(
            f"volume or energy per pulse {per_pulse} must be more than zero",
            code="invalid_per_pulse",
        )
    if chosen_map.kind is MapKind.COUNTER and per_pulse is None and chosen_map.per_pulse is None:
        raise InvalidInput(
            f"register map {register_map!r} counts pulses; give the volume or energy per pulse",
            code="missing_per_pulse",
        )
    register = session.scalar(
        select(Register)
        .join(Meter, Register.meter_id == Meter.id)
        .where(Meter.serial == meter_serial, Register.code == register_code)
    )
    if register is None:
        raise NotFound(
            f"meter {meter_serial!r} has no register {register_code!r}; check the serial and "
            "the register code",
            code="register_not_found",
        )
    if session.scalar(select(ModbusDevice.id).where(ModbusDevice.name == name)) is not None:
        raise Conflict(f"a Modbus device named {name!r} already exists; choose another name")

    device = ModbusDevice(
        name=name,
        host=host,
        port=port,
        unit_id=unit_id,
        register_map=chosen_map.name,
        byte_order=order.value,
        register_id=register.id,
        field_name=field_name,
        per_pulse=per_pulse,
        enabled=True,
        consecutive_failures=0,
    )
    session.add(device)
    session.flush()
    record(
        session,
        actor=actor,
        action="modbus.add_device",
        outcome="added",
        target=f"modbus_device:{device.id}",
        arguments={
            "name": name,
            "host": host,
            "port": port,
            "unit_id": unit_id,
            "register_map": chosen_map.name,
            "byte_order": order.value,
            "meter": meter_serial,
            "register": register_code,
            "per_pulse": None if per_pulse is None else str(per_pulse),
            "field": field_name,
        },
    )
    return device


def set_enabled(session: Session, *, name: str, enabled: bool, actor: str) -> ModbusDevice:
    """Enable or disable polling of the device ``name``; a disabled device keeps its state."""
    device = session.scalar(select(ModbusDevice).where(ModbusDevice.name == name))
    if device is None:
        raise NotFound(
            f"Modbus device {name!r} not found; `upm modbus list` shows the devices",
            code="modbus_device_not_found",
        )
    device.enabled = enabled
    record(
        session,
        actor=actor,
        action="modbus.enable" if enabled else "modbus.disable",
        outcome="enabled" if enabled else "disabled",
        target=f"modbus_device:{device.id}",
        arguments={"name": name},
    )
    return device


def device_config(device: ModbusDevice) -> DeviceConfig:
    """Build the poller's configuration of a stored device."""
    register_map = _register_map(device.register_map)
    try:
        register_map.field(device.field_name or register_map.primary)
    except RegisterMapError as error:
        raise InvalidInput(str(error), code="invalid_field") from error
    return DeviceConfig(
        name=device.name,
        host=device.host,
        port=device.port,
        unit_id=device.unit_id,
        register_map=register_map,
        byte_order=_byte_order(device.byte_order),
    )


def poll_options(settings: Settings) -> PollOptions:
    return PollOptions(
        timeout=settings.modbus_timeout_seconds,
        retries=settings.modbus_retries,
        backoff=settings.modbus_backoff_seconds,
        concurrency=settings.modbus_concurrency,
    )


def poll_enabled_devices(
    session: Session,
    settings: Settings,
    *,
    names: Sequence[str] = (),
    clock: Callable[[], dt.datetime] | None = None,
) -> list[DeviceOutcome]:
    """Poll the enabled devices (or only ``names``) and store their responses.

    The poll itself runs before anything is written, and every device's wait is bounded
    by ``modbus_timeout_seconds`` times its attempts plus the backoff between them.
    """
    query = select(ModbusDevice).where(ModbusDevice.enabled.is_(True)).order_by(ModbusDevice.id)
    if names:
        query = query.where(ModbusDevice.name.in_(names))
    devices = list(session.scalars(query))
    if not devices:
        return []

    configs = {}
    results: dict[str, PollResult] = {}
    for device in devices:
        try:
            configs[device.name] = device_config(device)
        except InvalidInput as error:
            # A map removed or renamed since the device was added fails this device only.
            results[device.name] = PollResult(device.name, responded_at=None, error=error.message)
    options = poll_options(settings)
    polled = (
        poll_devices_blocking(list(configs.values()), options)
        if clock is None
        else poll_devices_blocking(list(configs.values()), options, clock)
    )
    results.update((result.device, result) for result in polled)

    outcomes = []
    register_ids: set[int] = set()
    interval_spans: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for device in devices:
        result = results[device.name]
        outcome = store_poll_result(
            session,
            device,
            result,
            zone=settings.zone,
            unreachable_after=settings.modbus_unreachable_after,
        )
        outcomes.append(outcome)
        if outcome.read_stored:
            register_ids.add(device.register_id)
        if outcome.interval_stored and outcome.interval_start is not None:
            interval_spans[device.register_id] = (outcome.interval_start, outcome.interval_start)
    if register_ids or interval_spans:
        reads_stored(
            session,
            register_ids=sorted(register_ids),
            interval_register_ids=sorted(interval_spans),
            interval_spans=interval_spans,
        )
    return outcomes


def _record_failure(
    device: ModbusDevice, result: PollResult, unreachable_after: int
) -> DeviceOutcome:
    device.consecutive_failures += 1
    device.last_error = result.error
    if device.consecutive_failures >= unreachable_after and device.unreachable_since is None:
        device.unreachable_since = utcnow()
        raise_alert(
            MODBUS_UNREACHABLE,
            f"Modbus device {device.name} at {device.host}:{device.port} failed "
            f"{device.consecutive_failures} polls in a row: {result.error}. Its register gets "
            "no reads until it responds; check its power, network and unit id.",
        )
    return DeviceOutcome(device=device.name, responded=False, error=result.error)


def _record_response(device: ModbusDevice) -> None:
    if device.unreachable_since is not None:
        raise_alert(
            MODBUS_RESPONDING,
            f"Modbus device {device.name} at {device.host}:{device.port} responds again; it "
            f"was unreachable from {device.unreachable_since:%Y-%m-%d %H:%M} UTC.",
        )
        device.unreachable_since = None
    device.consecutive_failures = 0
    device.last_error = None


def _keep_rejected(
    session: Session,
    device: ModbusDevice,
    polled_at: dt.datetime,
    reading: FieldReading,
    reason: str,
) -> None:
    exists = session.scalar(
        select(ModbusRejectedValue.id).where(
            ModbusRejectedValue.device_id == device.id,
            ModbusRejectedValue.polled_at == polled_at,
            ModbusRejectedValue.field_name == reading.name,
        )
    )
    if exists is None:
        session.add(
            ModbusRejectedValue(
                device_id=device.id,
                polled_at=polled_at,
                field_name=reading.name,
                raw=" ".join(f"0x{word:04X}" for word in reading.raw),
                reason=reason,
            )
        )
    log.warning("modbus device %s rejected %s: %s", device.name, reading.name, reason)


def _reject_feeding_value(
    session: Session,
    device: ModbusDevice,
    polled_at: dt.datetime,
    reading: FieldReading,
    reason: str,
    outcome: DeviceOutcome,
) -> DeviceOutcome:
    """Keep the feeding field's value for review instead of storing it as a read."""
    _keep_rejected(session, device, polled_at, reading, reason)
    outcome.rejected.append(reason)
    outcome.error = reason
    device.last_error = reason
    return outcome


def _store_read(
    session: Session, register_id: int, polled_at: dt.datetime, value: Decimal, zone: ZoneInfo
) -> bool:
    key = read_key(polled_at.date(), polled_at)
    claimed = session.scalar(
        select(Read.id).where(Read.register_id == register_id, Read.read_key == key)
    )
    if claimed is not None:
        return False
    session.add(
        Read(
            register_id=register_id,
            read_key=key,
            read_date=polled_at.astimezone(zone).date(),
            read_at=polled_at,
            value=value,
            source=READ_SOURCE,
            status=ReadStatus.PENDING,
        )
    )
    return True


def _previous_total(session: Session, register_id: int, before: dt.datetime) -> Decimal | None:
    return session.scalar(
        select(Read.value)
        .where(Read.register_id == register_id, Read.read_at < before)
        .order_by(Read.read_at.desc())
        .limit(1)
    )


def store_poll_result(
    session: Session,
    device: ModbusDevice,
    result: PollResult,
    *,
    zone: ZoneInfo,
    unreachable_after: int,
) -> DeviceOutcome:
    """Store one device's poll result: its read, counter consumption, or failure."""
    if not result.ok or result.responded_at is None:
        return _record_failure(device, result, unreachable_after)
    _record_response(device)

    polled_at = result.responded_at
    outcome = DeviceOutcome(device=device.name, responded=True)
    if device.last_success_at is not None and polled_at <= device.last_success_at:
        return outcome

    register_map = _register_map(device.register_map)
    feeding = register_map.field(device.field_name or register_map.primary)
    for reading in result.readings.values():
        if reading.error is not None:
            _keep_rejected(session, device, polled_at, reading, reading.error)
            outcome.rejected.append(reading.error)

    reading = result.readings[feeding.name]
    device.last_success_at = polled_at
    if reading.value is None:
        outcome.error = reading.error
        device.last_error = reading.error
        return outcome

    if feeding.counter:
        return _store_counter(session, device, register_map, reading, polled_at, zone, outcome)

    if feeding.total:
        previous = _previous_total(session, device.register_id, polled_at)
        try:
            check_plausible(feeding.name, reading.value, total=True, previous_total=previous)
        except PlausibilityError as error:
            return _reject_feeding_value(session, device, polled_at, reading, str(error), outcome)
    outcome.value = reading.value
    outcome.read_stored = _store_read(session, device.register_id, polled_at, reading.value, zone)
    return outcome


def _store_counter(
    session: Session,
    device: ModbusDevice,
    register_map: RegisterMap,
    reading: FieldReading,
    polled_at: dt.datetime,
    zone: ZoneInfo,
    outcome: DeviceOutcome,
) -> DeviceOutcome:
    """Unwrap the counter against the last raw value and store the total and the interval."""
    assert reading.value is not None
    feeding = register_map.field(device.field_name or register_map.primary)
    assert feeding.data_type is not None
    raw = int(reading.value)
    per_pulse = device.per_pulse or register_map.per_pulse or Decimal(1)
    previous_raw, previous_at = device.last_raw, device.last_raw_at
    device.last_raw = raw
    device.last_raw_at = polled_at

    if previous_raw is None or previous_at is None:
        # The first sample sets the baseline: the register starts at the counter's value.
        if device.counter_total is None:
            device.counter_total = raw * per_pulse
    else:
        try:
            step = unwrap_counter(
                previous_raw, raw, feeding.data_type.modulus, feeding.max_wrap_step
            )
        except PlausibilityError as error:
            # A reset or exchanged counter: keep the value for review and start again from
            # it, so later polls are not all rejected against the old baseline.
            return _reject_feeding_value(session, device, polled_at, reading, str(error), outcome)
        consumption = step.counts * per_pulse
        device.counter_total = (device.counter_total or Decimal(0)) + consumption
        outcome.consumption = consumption
        outcome.rollover = step.rollover
        register = session.get(Register, device.register_id)
        if register is not None and register.interval:
            outcome.interval_stored = _store_interval(
                session, device.register_id, previous_at, polled_at, consumption, step.rollover
            )
            outcome.interval_start = previous_at

    outcome.value = device.counter_total
    outcome.read_stored = _store_read(
        session, device.register_id, polled_at, device.counter_total, zone
    )
    return outcome


def _store_interval(
    session: Session,
    register_id: int,
    start_at: dt.datetime,
    end_at: dt.datetime,
    consumption: Decimal,
    rollover: bool,
) -> bool:
    if session.get(IntervalRead, (register_id, start_at)) is not None:
        return False
    session.add(
        IntervalRead(
            register_id=register_id,
            start_at=start_at,
            seconds=int((end_at - start_at).total_seconds()),
            value=consumption,
            quality=ROLLOVER if rollover else None,
        )
    )
    return True
