"""The Modbus poll service against simulated meters on 127.0.0.1, on SQLite and PostgreSQL.

The pulse-counter case: meter PC-0001 has a uint16 counter at 1 Wh per pulse, read at
10:00, 10:15, 10:30 and 10:45 local time as 65530, 65535, 3 and 10. The intervals are
5, 4 and 7 Wh (16 Wh in all), and the 10:15-10:30 interval is flagged rollover because
the counter wrapped past 65535 in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import alerts
from app.audit.models import AuditEvent
from app.errors import Conflict, InvalidInput, NotFound
from app.meters.models import IntervalRead, Read, ReadStatus, Register
from app.modbus import service
from app.modbus.models import ModbusDevice, ModbusRejectedValue
from app.modbus.service import add_device, poll_enabled_devices, store_poll_result
from app.settings import get_settings
from metering.modbus.decode import ByteOrder, DataType
from metering.modbus.poller import FieldReading, PollResult
from metering.modbus.simulator import RegisterServer, encode_value
from tests.app.factories import City

CHICAGO = ZoneInfo("America/Chicago")
SDM_IMPORT = 0x48


def local(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 7, 1, hour, minute, tzinfo=CHICAGO)


def fixed_clock(instant: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: instant


@pytest.fixture
def fast_settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and no retries, so a silent device fails each poll in 0.3 s."""
    monkeypatch.setenv("UPM_MODBUS_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("UPM_MODBUS_RETRIES", "0")
    monkeypatch.setenv("UPM_MODBUS_UNREACHABLE_AFTER", "2")
    monkeypatch.setenv("UPM_TIMEZONE", "America/Chicago")
    get_settings.cache_clear()


@pytest.fixture
def raised_alerts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    captured: list[tuple[str, str]] = []
    monkeypatch.setattr(alerts, "_sinks", [lambda kind, text: captured.append((kind, text))])
    return captured


@pytest.fixture
def hook_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record each call of the after-store hook and the statuses it found, then run it."""
    calls: list[dict[str, Any]] = []
    real_hook = service.reads_stored

    def recording_hook(
        session: Session,
        *,
        register_ids: Collection[int] = (),
        interval_register_ids: Collection[int] = (),
        interval_spans: Mapping[int, tuple[dt.datetime, dt.datetime]] | None = None,
    ) -> None:
        statuses = set(session.scalars(select(Read.status)))
        calls.append(
            {
                "register_ids": list(register_ids),
                "interval_register_ids": list(interval_register_ids),
                "interval_spans": dict(interval_spans or {}),
                "statuses": statuses,
            }
        )
        real_hook(
            session,
            register_ids=register_ids,
            interval_register_ids=interval_register_ids,
            interval_spans=interval_spans,
        )

    monkeypatch.setattr(service, "reads_stored", recording_hook)
    return calls


@pytest.fixture
def counter_server() -> Iterator[RegisterServer]:
    with RegisterServer({1: {0: 0}}) as server:
        yield server


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def counter_device(
    session: Session, port: int, interval: bool = True, city: City | None = None
) -> tuple[Register, ModbusDevice]:
    city = city or City(session)
    _account, premise = city.account()
    register = city.meter(premise, "PC-0001", "electric", "Wh", interval=interval, dials=None)
    device = add_device(
        session,
        name="PC-0001",
        host="127.0.0.1",
        port=port,
        unit_id=1,
        register_map="pulse-counter-uint16",
        byte_order="ABCD",
        meter_serial="PC-0001",
        register_code="1",
        per_pulse=Decimal(1),
        actor="test",
    )
    return register, device


def poll_at(session: Session, instant: dt.datetime) -> list[service.DeviceOutcome]:
    outcomes = poll_enabled_devices(session, get_settings(), clock=fixed_clock(instant))
    session.flush()
    return outcomes


# -- the wrapping pulse counter ------------------------------------------------------------


def test_counter_rollover_intervals(
    session: Session,
    fast_settings: None,
    counter_server: RegisterServer,
    hook_calls: list[dict[str, Any]],
) -> None:
    register, _device = counter_device(session, counter_server.port)
    samples = [
        (local(10, 0), 65530),
        (local(10, 15), 65535),
        (local(10, 30), 3),
        (local(10, 45), 10),
    ]
    for instant, raw in samples:
        counter_server.set_registers(0, [raw], unit=1)
        (outcome,) = poll_at(session, instant)
        assert outcome.responded, outcome.error
        assert outcome.read_stored

    intervals = session.scalars(select(IntervalRead).order_by(IntervalRead.start_at)).all()
    assert [interval.value for interval in intervals] == [Decimal(5), Decimal(4), Decimal(7)]
    assert [interval.quality for interval in intervals] == [None, "rollover", None]
    assert [interval.start_at for interval in intervals] == [
        local(10, 0),
        local(10, 15),
        local(10, 30),
    ]
    assert all(interval.seconds == 900 for interval in intervals)
    assert sum(interval.value for interval in intervals) == Decimal(16)

    reads = session.scalars(select(Read).order_by(Read.read_at)).all()
    assert [read.value for read in reads] == [
        Decimal(65530),
        Decimal(65535),
        Decimal(65539),
        Decimal(65546),
    ]
    assert all(read.source == "modbus" for read in reads)
    assert all(read.register_id == register.id for read in reads)
    assert reads[0].read_at == local(10, 0)
    assert reads[0].read_date == dt.date(2026, 7, 1)

    # The hook ran after each poll, and saw the new reads still pending.
    assert len(hook_calls) == 4
    assert hook_calls[1]["register_ids"] == [register.id]
    assert hook_calls[1]["interval_register_ids"] == [register.id]
    # The second poll stored the interval that starts at the first poll.
    assert hook_calls[1]["interval_spans"] == {register.id: (reads[0].read_at, reads[0].read_at)}
    assert ReadStatus.PENDING in hook_calls[1]["statuses"]


def test_counter_without_interval_register(
    session: Session, fast_settings: None, counter_server: RegisterServer
) -> None:
    counter_device(session, counter_server.port, interval=False)
    counter_server.set_registers(0, [65535], unit=1)
    poll_at(session, local(10, 0))
    counter_server.set_registers(0, [3], unit=1)
    (outcome,) = poll_at(session, local(10, 15))
    assert outcome.consumption == Decimal(4)
    assert outcome.rollover
    assert count(session, IntervalRead) == 0
    assert count(session, Read) == 2


def test_counter_reset_is_kept_for_review(
    session: Session, fast_settings: None, counter_server: RegisterServer
) -> None:
    _register, device = counter_device(session, counter_server.port)
    counter_server.set_registers(0, [40000], unit=1)
    poll_at(session, local(10, 0))
    counter_server.set_registers(0, [30000], unit=1)
    (outcome,) = poll_at(session, local(10, 15))
    assert outcome.error is not None
    assert "counter went backwards from 40000 to 30000" in outcome.error
    assert count(session, IntervalRead) == 0
    rejected = session.scalars(select(ModbusRejectedValue)).one()
    assert rejected.raw == "0x7530"
    assert rejected.field_name == "pulses"

    # Later polls count from the new value instead of being rejected too.
    counter_server.set_registers(0, [30010], unit=1)
    (outcome,) = poll_at(session, local(10, 30))
    assert outcome.consumption == Decimal(10)
    assert device.last_raw == 30010


# -- idempotency ---------------------------------------------------------------------------


def test_same_poll_twice_adds_nothing(
    session: Session, fast_settings: None, counter_server: RegisterServer
) -> None:
    _register, device = counter_device(session, counter_server.port)
    counter_server.set_registers(0, [65530], unit=1)
    poll_at(session, local(10, 0))
    counter_server.set_registers(0, [3], unit=1)
    poll_at(session, local(10, 15))
    total = device.counter_total

    # The same instant again: the response is no newer than the one stored.
    (outcome,) = poll_at(session, local(10, 15))
    assert not outcome.read_stored
    assert count(session, Read) == 2
    assert count(session, IntervalRead) == 1
    assert device.counter_total == total


def test_stored_result_replayed_adds_nothing(session: Session, fast_settings: None) -> None:
    _register, device = counter_device(session, 1)
    result = PollResult(
        device="PC-0001",
        responded_at=local(10, 0),
        readings={"pulses": FieldReading("pulses", Decimal(12), (12,))},
    )
    first = store_poll_result(session, device, result, zone=CHICAGO, unreachable_after=3)
    second = store_poll_result(session, device, result, zone=CHICAGO, unreachable_after=3)
    session.flush()
    assert first.read_stored
    assert not second.read_stored
    assert count(session, Read) == 1
    assert device.counter_total == Decimal(12)


# -- float32 energy meters -----------------------------------------------------------------


@pytest.fixture
def sdm_server() -> Iterator[RegisterServer]:
    with RegisterServer({1: dict.fromkeys(range(0x4C), 0)}) as server:
        yield server


def sdm_device(
    session: Session, port: int, order: str = "ABCD", city: City | None = None
) -> tuple[Register, ModbusDevice]:
    city = city or City(session)
    _account, premise = city.account()
    register = city.meter(premise, "E-0001", "electric", "kWh")
    device = add_device(
        session,
        name="E-0001",
        host="127.0.0.1",
        port=port,
        unit_id=1,
        register_map="eastron-sdm120",
        byte_order=order,
        meter_serial="E-0001",
        register_code="1",
        actor="test",
    )
    return register, device


def test_energy_total_stored_as_read(
    session: Session, fast_settings: None, sdm_server: RegisterServer
) -> None:
    register, _device = sdm_device(session, sdm_server.port)
    sdm_server.set_registers(SDM_IMPORT, [0x4640, 0xE6AE], unit=1)
    (outcome,) = poll_at(session, local(23, 30))
    read = session.scalars(select(Read)).one()
    assert outcome.value == Decimal("12345.67")
    assert read.value == Decimal("12345.67")
    assert read.register_id == register.id
    # 23:30 in Chicago is 04:30 UTC the next day; the read date stays local.
    assert read.read_at == dt.datetime(2026, 7, 2, 4, 30, tzinfo=dt.UTC)
    assert read.read_date == dt.date(2026, 7, 1)


def test_wrong_byte_order_kept_for_review(
    session: Session, fast_settings: None, sdm_server: RegisterServer
) -> None:
    # The device sends -1.11 byte-swapped (BADC) but was added as ABCD.
    _register, device = sdm_device(session, sdm_server.port, order="ABCD")
    sdm_server.set_registers(SDM_IMPORT, [0x8EBF, 0x7B14], unit=1)
    (outcome,) = poll_at(session, local(10, 0))
    assert outcome.responded
    assert not outcome.read_stored
    assert count(session, Read) == 0
    rejected = session.scalars(select(ModbusRejectedValue)).one()
    assert rejected.raw == "0x8EBF 0x7B14"
    assert "implausibly small" in rejected.reason
    assert device.last_error == rejected.reason


def test_total_going_backwards_rejected(
    session: Session, fast_settings: None, sdm_server: RegisterServer
) -> None:
    sdm_device(session, sdm_server.port)
    sdm_server.set_registers(SDM_IMPORT, encode_value(100.5, DataType.FLOAT32, ByteOrder.ABCD), 1)
    poll_at(session, local(10, 0))
    sdm_server.set_registers(SDM_IMPORT, encode_value(99.5, DataType.FLOAT32, ByteOrder.ABCD), 1)
    (outcome,) = poll_at(session, local(10, 15))
    assert outcome.error is not None
    assert "went backwards from 100.5" in outcome.error
    assert count(session, Read) == 1
    assert count(session, ModbusRejectedValue) == 1


# -- devices that stop responding ------------------------------------------------------------


def test_unreachable_device_alerts_once(
    session: Session,
    fast_settings: None,
    raised_alerts: list[tuple[str, str]],
) -> None:
    city = City(session)
    _account, premise = city.account()
    for serial in ("PC-A", "PC-B", "PC-C"):
        city.meter(premise, serial, "water", "gal", interval=True, dials=None)
    with (
        RegisterServer({1: {0: 100}}) as first,
        RegisterServer({1: {0: 200}}) as silent,
        RegisterServer({1: {0: 300}}) as third,
    ):
        for serial, server in (("PC-A", first), ("PC-B", silent), ("PC-C", third)):
            add_device(
                session,
                name=serial,
                host="127.0.0.1",
                port=server.port,
                unit_id=1,
                register_map="pulse-counter-uint16",
                byte_order="ABCD",
                meter_serial=serial,
                register_code="1",
                per_pulse=Decimal("7.48"),
                actor="test",
            )
        silent.set_delay(10.0)
        device = session.scalars(select(ModbusDevice).where(ModbusDevice.name == "PC-B")).one()

        outcomes = poll_at(session, local(10, 0))
        assert [outcome.responded for outcome in outcomes] == [True, False, True]
        assert outcomes[1].error == "timed out after 0.3 s"
        assert device.consecutive_failures == 1
        assert device.unreachable_since is None
        assert raised_alerts == []

        poll_at(session, local(10, 15))
        assert device.consecutive_failures == 2
        assert device.unreachable_since is not None
        assert [kind for kind, _text in raised_alerts] == [alerts.MODBUS_UNREACHABLE]
        assert "PC-B" in raised_alerts[0][1]
        assert "failed 2 polls in a row" in raised_alerts[0][1]

        outcomes = poll_at(session, local(10, 30))
        assert [outcome.responded for outcome in outcomes] == [True, False, True]
        assert len(raised_alerts) == 1

        silent.set_delay(0)
        outcomes = poll_at(session, local(10, 45))
        assert all(outcome.responded for outcome in outcomes)
        assert device.consecutive_failures == 0
        assert device.unreachable_since is None
        assert [kind for kind, _text in raised_alerts] == [
            alerts.MODBUS_UNREACHABLE,
            alerts.MODBUS_RESPONDING,
        ]

    # PC-A and PC-C were stored at every poll (4 reads, 3 intervals of 0 gal each) and
    # PC-B only at 10:45, where its first read sets the counter's baseline.
    assert count(session, Read) == 4 + 4 + 1
    assert count(session, IntervalRead) == 3 + 3


# -- adding devices ----------------------------------------------------------------------------


def test_add_device_is_audited(session: Session, fast_settings: None) -> None:
    _register, device = counter_device(session, 5020)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "modbus.add_device")
    ).one()
    assert event.actor == "test"
    assert event.target == f"modbus_device:{device.id}"
    assert event.arguments["byte_order"] == "ABCD"
    assert event.arguments["per_pulse"] == "1"


def add(session: Session, **changes: Any) -> ModbusDevice:
    arguments: dict[str, Any] = {
        "name": "X-1",
        "host": "127.0.0.1",
        "port": 502,
        "unit_id": 1,
        "register_map": "eastron-sdm120",
        "byte_order": "ABCD",
        "meter_serial": "E-0001",
        "register_code": "1",
        "actor": "test",
    }
    arguments.update(changes)
    return add_device(session, **arguments)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"byte_order": "BE"}, InvalidInput, "byte order 'BE' is not one of ABCD"),
        ({"register_map": "sdm999"}, InvalidInput, "register map 'sdm999' not found"),
        ({"field_name": "kvarh"}, InvalidInput, "has no field 'kvarh'"),
        ({"port": 0}, InvalidInput, "port 0 is outside 1..65535"),
        ({"unit_id": 300}, InvalidInput, "unit id 300 is outside 0..255"),
        ({"per_pulse": Decimal(0)}, InvalidInput, "per pulse 0 must be more than zero"),
        ({"meter_serial": "NOPE"}, NotFound, "meter 'NOPE' has no register '1'"),
        ({"name": "E-0001"}, Conflict, "named 'E-0001' already exists"),
    ],
)
def test_add_device_rejects_bad_input(
    session: Session,
    fast_settings: None,
    changes: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    sdm_device(session, 502)
    with pytest.raises(error, match=message):
        add(session, **changes)


def test_missing_map_fails_only_its_device(
    session: Session, fast_settings: None, counter_server: RegisterServer
) -> None:
    city = City(session)
    _register, device = counter_device(session, counter_server.port, city=city)
    _energy_register, broken = sdm_device(session, counter_server.port, city=city)
    broken.register_map = "retired-map"
    counter_server.set_registers(0, [42], unit=1)
    outcomes = poll_at(session, local(10, 0))
    assert [outcome.responded for outcome in outcomes] == [True, False]
    assert outcomes[1].error is not None
    assert "register map 'retired-map' not found" in outcomes[1].error
    assert broken.consecutive_failures == 1
    assert device.last_raw == 42
