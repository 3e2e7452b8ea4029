"""``upm sim modbus-meter``: serve the simulated Modbus meter until Ctrl+C."""

from __future__ import annotations

import time

import typer

from app.demo.modbus_meter import COUNTER_UNIT, ENERGY_UNIT, start_simulated_meter


def modbus_meter_command(
    port: int = typer.Option(
        5020, min=0, max=65535, help="TCP port on 127.0.0.1; 0 takes a free port."
    ),
) -> None:
    """Serve a simulated SDM120-like energy meter and a pulse counter on 127.0.0.1."""
    try:
        meter = start_simulated_meter(port)
    except RuntimeError as error:
        typer.echo(f"could not start the simulated meter on port {port}: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"simulated Modbus meter on 127.0.0.1:{meter.port}: unit {ENERGY_UNIT} is an "
        f"SDM120-like energy meter (map eastron-sdm120, order ABCD), unit {COUNTER_UNIT} a "
        "uint16 pulse counter that wraps about two minutes after the start "
        "(map pulse-counter-uint16). Press Ctrl+C to stop."
    )
    typer.echo(
        f"  upm modbus add SIM-E1 --host 127.0.0.1 --port {meter.port} --unit {ENERGY_UNIT} "
        "--map eastron-sdm120 --order ABCD --meter <serial>"
    )
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        meter.stop()
