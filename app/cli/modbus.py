"""``upm modbus …``: add Modbus meters, list them, poll them now, list register maps."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table
from sqlalchemy import select

from app.audit.service import cli_actor, record
from app.cli.common import clear_errors, console, count_of, err_console
from app.db import session_scope
from app.errors import InvalidInput
from app.settings import get_settings

modbus_app = typer.Typer(
    help="Modbus meters: add, enable or disable devices, list them, poll them now, list "
    "register maps.",
    no_args_is_help=True,
)


def _per_pulse(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise InvalidInput(
            f"per-pulse value {text!r} is not a number such as 0.001", code="invalid_per_pulse"
        ) from error


@modbus_app.command("add")
def add_command(
    name: str = typer.Argument(..., help="A unique name for the device, such as PC-0001."),
    host: str = typer.Option(..., help="Host name or IP address of the Modbus TCP device."),
    meter: str = typer.Option(..., help="Serial of the meter whose register the device feeds."),
    register_map: str = typer.Option(
        ..., "--map", help="Register map name; `upm modbus maps` lists them."
    ),
    byte_order: str = typer.Option(
        ...,
        "--order",
        help="Byte order of 32-bit values: ABCD (big-endian), CDAB (word-swapped), BADC "
        "(byte-swapped) or DCBA (little-endian), as the device's manual states.",
    ),
    port: int = typer.Option(502, help="TCP port of the device."),
    unit: int = typer.Option(1, help="Modbus unit id (slave address) of the device."),
    register: str = typer.Option("1", help="Code of the meter register the device feeds."),
    per_pulse: str | None = typer.Option(
        None,
        help="Volume or energy per pulse, in the register's unit (pulse counter maps).",
    ),
    field: str | None = typer.Option(
        None, help="Map field that feeds the register; the map's primary field by default."
    ),
) -> None:
    """Add a Modbus device; it is polled with the others from the next poll on."""
    from app.modbus.service import add_device

    with clear_errors(), session_scope() as session:
        device = add_device(
            session,
            name=name,
            host=host,
            port=port,
            unit_id=unit,
            register_map=register_map,
            byte_order=byte_order,
            meter_serial=meter,
            register_code=register,
            per_pulse=_per_pulse(per_pulse),
            field_name=field,
            actor=cli_actor(),
        )
        console.print(
            f"added Modbus device {device.name} ({device.register_map}, {device.byte_order}) "
            f"at {device.host}:{device.port} unit {device.unit_id}, feeding meter {meter} "
            f"register {register}"
        )


@modbus_app.command("enable")
def enable_command(name: str = typer.Argument(..., help="Name of the device.")) -> None:
    """Poll the device again from the next poll on."""
    _set_enabled(name, enabled=True)


@modbus_app.command("disable")
def disable_command(name: str = typer.Argument(..., help="Name of the device.")) -> None:
    """Stop polling the device, such as while it is replaced; its reads stay on file."""
    _set_enabled(name, enabled=False)


def _set_enabled(name: str, *, enabled: bool) -> None:
    from app.modbus.service import set_enabled

    with clear_errors(), session_scope() as session:
        set_enabled(session, name=name, enabled=enabled, actor=cli_actor())
    console.print(f"Modbus device {name} is {'enabled' if enabled else 'disabled'}")


@modbus_app.command("list")
def list_command() -> None:
    """List the Modbus devices with their last response and failures."""
    from app.meters.models import Meter, Register
    from app.modbus.models import ModbusDevice

    with clear_errors(), session_scope() as session:
        rows = session.execute(
            select(ModbusDevice, Meter.serial, Register.code)
            .join(Register, ModbusDevice.register_id == Register.id)
            .join(Meter, Register.meter_id == Meter.id)
            .order_by(ModbusDevice.name)
        ).all()
        table = Table(
            "name",
            "address",
            "map",
            "order",
            "feeds",
            "enabled",
            "last response",
            "failures",
            "unreachable since",
            title="Modbus devices",
        )
        for device, serial, code in rows:
            table.add_row(
                device.name,
                f"{device.host}:{device.port} unit {device.unit_id}",
                device.register_map,
                device.byte_order,
                f"{serial} register {code}",
                "yes" if device.enabled else "no",
                f"{device.last_success_at:%Y-%m-%d %H:%M:%S}Z" if device.last_success_at else "",
                str(device.consecutive_failures),
                f"{device.unreachable_since:%Y-%m-%d %H:%M}Z" if device.unreachable_since else "",
            )
    console.print(table)
    if not rows:
        console.print("no Modbus devices; add one with `upm modbus add`")


@modbus_app.command("poll")
def poll_command(
    names: list[str] = typer.Argument(
        None, help="Names of the devices to poll; every enabled device when omitted."
    ),
) -> None:
    """Poll the enabled devices now and store their reads, as the scheduled task does."""
    from app.modbus.service import poll_enabled_devices

    with clear_errors(), session_scope() as session:
        outcomes = poll_enabled_devices(session, get_settings(), names=names or ())
        record(
            session,
            actor=cli_actor(),
            action="modbus.poll",
            outcome="polled",
            arguments={"names": names or []},
            detail=f"{len(outcomes)} devices, "
            f"{sum(not outcome.responded for outcome in outcomes)} did not respond",
        )
    table = Table("device", "value", "consumption", "stored", "problem", title="Modbus poll")
    for outcome in outcomes:
        consumption = "" if outcome.consumption is None else str(outcome.consumption)
        if outcome.rollover:
            consumption += " (rollover)"
        problem = outcome.error or "; ".join(outcome.rejected)
        table.add_row(
            outcome.device,
            "" if outcome.value is None else str(outcome.value),
            consumption,
            "yes" if outcome.read_stored else "no",
            problem,
        )
    console.print(table)
    failed = [outcome for outcome in outcomes if not outcome.responded]
    rejected = sum(len(outcome.rejected) for outcome in outcomes)
    if not outcomes:
        err_console.print("no enabled Modbus devices matched; `upm modbus list` shows them")
    if failed:
        err_console.print(f"{count_of(len(failed), 'device')} did not respond")
    if rejected:
        # A rejected value is kept, not stored as a read, so a scheduled poll must notice.
        err_console.print(
            f"{count_of(rejected, 'value')} rejected and kept in modbus_rejected_values; "
            "check each device's byte order and register map (docs/modbus.md)"
        )
    if failed or rejected:
        raise typer.Exit(1)


@modbus_app.command("maps")
def maps_command() -> None:
    """List the register maps a device can name with --map."""
    from metering.modbus.maps import available_maps, load_map

    table = Table("map", "kind", "table", "fields", "description", title="Register maps")
    for name in available_maps():
        register_map = load_map(name)
        table.add_row(
            name,
            register_map.kind,
            register_map.table,
            ", ".join(field.name for field in register_map.fields),
            register_map.description,
        )
    console.print(table)
