"""``upm modbus add|list|poll|maps`` and the scheduled poll task, against the demo's meter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.demo.modbus_meter import (
    COUNTER_UNIT,
    ENERGY_UNIT,
    START_ENERGY_KWH,
    SimulatedMeter,
    start_simulated_meter,
)
from app.meters.models import Meter, Read, Register
from app.modbus.models import ModbusDevice, ModbusRejectedValue
from tests.cli.support import flat

Upm = Callable[..., Result]


@pytest.fixture
def simulated_meter() -> Iterator[SimulatedMeter]:
    meter = start_simulated_meter()
    yield meter
    meter.stop()


@pytest.fixture
def meters(session: Session) -> None:
    """An electric meter E-1 (kWh) and a water meter W-1 (gal, interval register)."""
    for serial, service, unit, interval in (
        ("E-1", "electric", "kWh", False),
        ("W-1", "water", "gal", True),
    ):
        meter = Meter(serial=serial, service=service)
        session.add(meter)
        session.flush()
        session.add(Register(meter_id=meter.id, code="1", unit=unit, interval=interval))
    session.commit()


def add_both(upm: Upm, port: int) -> None:
    energy = upm(
        "modbus", "add", "SIM-E", "--host", "127.0.0.1", "--port", str(port),
        "--unit", str(ENERGY_UNIT), "--map", "eastron-sdm120", "--order", "abcd",
        "--meter", "E-1",
    )  # fmt: skip
    assert energy.exit_code == 0, energy.output
    assert "added Modbus device SIM-E (eastron-sdm120, ABCD)" in flat(energy.output)
    counter = upm(
        "modbus", "add", "SIM-W", "--host", "127.0.0.1", "--port", str(port),
        "--unit", str(COUNTER_UNIT), "--map", "pulse-counter-uint16", "--order", "ABCD",
        "--meter", "W-1", "--per-pulse", "0.1",
    )  # fmt: skip
    assert counter.exit_code == 0, counter.output


def test_add_list_and_poll(
    upm: Upm, session: Session, meters: None, simulated_meter: SimulatedMeter
) -> None:
    add_both(upm, simulated_meter.port)

    listing = upm("modbus", "list")
    assert listing.exit_code == 0, listing.output
    assert f"127.0.0.1:{simulated_meter.port} unit 1" in flat(listing.output)
    assert "W-1 register 1" in flat(listing.output)

    poll = upm("modbus", "poll")
    assert poll.exit_code == 0, poll.output
    assert "SIM-E" in poll.output
    assert "SIM-W" in poll.output

    session.rollback()
    energy = session.scalars(
        select(Read).join(Register).join(Meter).where(Meter.serial == "E-1")
    ).one()
    # The simulated meter adds 1.2 kW from 12,345.67 kWh: well under 1 kWh in a test.
    assert START_ENERGY_KWH <= energy.value < START_ENERGY_KWH + 1
    assert energy.source == "modbus"
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["modbus.add_device", "modbus.add_device", "modbus.poll"]


def test_poll_reports_silent_device(
    upm: Upm, session: Session, meters: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_MODBUS_TIMEOUT_SECONDS", "0.2")
    monkeypatch.setenv("UPM_MODBUS_RETRIES", "0")
    meter = start_simulated_meter()
    port = meter.port
    meter.stop()
    add_both(upm, port)

    poll = upm("modbus", "poll", "SIM-E")
    assert poll.exit_code == 1
    assert "no response" in flat(poll.output)
    assert "1 device did not respond" in flat(poll.output)
    session.rollback()
    device = session.scalars(select(ModbusDevice).where(ModbusDevice.name == "SIM-E")).one()
    assert device.consecutive_failures == 1


def test_poll_with_rejected_value_fails(
    upm: Upm, session: Session, meters: None, simulated_meter: SimulatedMeter
) -> None:
    # The simulated SDM120 sends ABCD; read as CDAB, its float32 is not a plausible total.
    added = upm(
        "modbus", "add", "SIM-E", "--host", "127.0.0.1", "--port", str(simulated_meter.port),
        "--unit", str(ENERGY_UNIT), "--map", "eastron-sdm120", "--order", "cdab",
        "--meter", "E-1",
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    poll = upm("modbus", "poll", "SIM-E")

    assert poll.exit_code == 1
    session.rollback()
    rejected = session.scalars(select(ModbusRejectedValue)).all()
    assert rejected
    assert f"{len(rejected)} values rejected and kept in modbus_rejected_values" in flat(
        poll.output
    )
    assert session.scalars(select(Read)).all() == []


def test_add_rejects_unknown_order(upm: Upm, meters: None) -> None:
    result = upm(
        "modbus", "add", "X", "--host", "127.0.0.1", "--map", "eastron-sdm120",
        "--order", "big", "--meter", "E-1",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "byte order 'big' is not one of ABCD, CDAB, BADC, DCBA" in flat(result.output)


def test_maps_lists_shipped_maps(upm: Upm) -> None:
    result = upm("modbus", "maps")
    assert result.exit_code == 0, result.output
    for name in ("eastron-sdm120", "eastron-sdm630", "pulse-counter-uint16", "sunspec-203"):
        assert name in result.output


def test_task_polls_enabled_devices(
    upm: Upm, session: Session, meters: None, simulated_meter: SimulatedMeter
) -> None:
    from app.modbus.tasks import poll_devices_task

    add_both(upm, simulated_meter.port)
    summary = poll_devices_task.delay().get()
    assert summary["devices"] == 2
    assert summary["reads_stored"] == 2
    assert summary["failed"] == []
    session.rollback()
    water = session.scalars(
        select(Read).join(Register).join(Meter).where(Meter.serial == "W-1")
    ).one()
    # The counter starts at 65,400 pulses of 0.1 gal and counts one a second.
    assert Decimal("6540.0") <= water.value < Decimal("6560.0")


def test_disable_skips_device(
    upm: Upm, session: Session, meters: None, simulated_meter: SimulatedMeter
) -> None:
    add_both(upm, simulated_meter.port)
    disabled = upm("modbus", "disable", "SIM-W")
    assert disabled.exit_code == 0, disabled.output
    assert "Modbus device SIM-W is disabled" in disabled.output

    poll = upm("modbus", "poll")
    assert poll.exit_code == 0, poll.output
    assert "SIM-E" in poll.output
    assert "SIM-W" not in poll.output

    enabled = upm("modbus", "enable", "SIM-W")
    assert enabled.exit_code == 0, enabled.output
    session.rollback()
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["modbus.disable", "modbus.poll", "modbus.enable"]


def test_disable_unknown_device(upm: Upm, meters: None) -> None:
    result = upm("modbus", "disable", "NOPE")
    assert result.exit_code == 2
    assert "Modbus device 'NOPE' not found" in flat(result.output)
