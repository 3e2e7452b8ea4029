"""Polling real Modbus TCP servers on 127.0.0.1: byte orders, SunSpec, timeouts, failures.

Each test serves registers with pymodbus' own server (``metering.modbus.simulator``), so
the client, the framing and the exception responses are the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from metering.modbus.decode import ByteOrder, DataType
from metering.modbus.maps import RegisterMap, load_map, parse_map
from metering.modbus.poller import DeviceConfig, PollOptions, PollResult, poll_devices_blocking
from metering.modbus.simulator import RegisterServer, encode_value
from metering.modbus.sunspec import load_model

#: One signed float32 at holding register 100, served in each of the four byte orders.
PROFILE_MAP = parse_map(
    {
        "name": "byte-order-profile",
        "kind": "registers",
        "table": "holding",
        "fields": [
            {
                "name": "value",
                "address": 100,
                "type": "float32",
                "min": "-1000000",
                "max": "1000000",
            }
        ],
    }
)
PROFILE_UNITS = {
    1: (ByteOrder.ABCD, [0x4640, 0xE6AE], Decimal("12345.67")),
    2: (ByteOrder.CDAB, [0xE6AE, 0x4640], Decimal("12345.67")),
    3: (ByteOrder.BADC, [0x8EBF, 0x7B14], Decimal("-1.11")),
    4: (ByteOrder.DCBA, [0xDA77, 0xFB41], Decimal("31.4335")),
}
FAST = PollOptions(timeout=0.5, retries=2, backoff=0.05, concurrency=4)


def config(
    name: str,
    port: int,
    register_map: RegisterMap,
    order: ByteOrder = ByteOrder.ABCD,
    unit: int = 1,
) -> DeviceConfig:
    return DeviceConfig(name, "127.0.0.1", port, unit, register_map, order)


@pytest.fixture
def profile_server() -> Iterator[RegisterServer]:
    units = {unit: {100: words[0], 101: words[1]} for unit, (_, words, _) in PROFILE_UNITS.items()}
    with RegisterServer(units) as server:
        yield server


def test_each_byte_order_decodes(profile_server: RegisterServer) -> None:
    devices = [
        config(f"unit-{unit}", profile_server.port, PROFILE_MAP, order, unit)
        for unit, (order, _, _) in PROFILE_UNITS.items()
    ]
    results = poll_devices_blocking(devices, FAST)
    for result, (order, _, expected) in zip(results, PROFILE_UNITS.values(), strict=True):
        assert result.ok, result.error
        value = result.readings["value"].value
        assert value is not None, f"{order}: {result.readings['value'].error}"
        assert abs(value - expected) <= Decimal("0.0001"), order


def test_wrong_byte_order_rejected(profile_server: RegisterServer) -> None:
    # The BADC device read as ABCD decodes to about -4.7e-30.
    result = poll_devices_blocking(
        [config("badc", profile_server.port, PROFILE_MAP, ByteOrder.ABCD, 3)]
    )
    reading = result[0].readings["value"]
    assert result[0].ok
    assert reading.value is None
    assert reading.error is not None
    assert "implausibly small" in reading.error
    assert "0x8EBF 0x7B14" in reading.error


@pytest.mark.parametrize("unit", [1, 4])
def test_word_order_mixup_rejected(profile_server: RegisterServer, unit: int) -> None:
    order = ByteOrder.CDAB if unit == 1 else ByteOrder.ABCD
    result = poll_devices_blocking([config("mixup", profile_server.port, PROFILE_MAP, order, unit)])
    reading = result[0].readings["value"]
    assert reading.value is None
    assert reading.error is not None
    assert "maximum" in reading.error or "minimum" in reading.error


def test_sdm120_map_reads_input_registers() -> None:
    image = dict.fromkeys(range(0x4C), 0)
    with RegisterServer({1: image}) as server:
        server.set_registers(0x48, encode_value(12345.67, DataType.FLOAT32, ByteOrder.ABCD), 1)
        server.set_registers(0x00, encode_value(230.1, DataType.FLOAT32, ByteOrder.ABCD), 1)
        result = poll_devices_blocking([config("sdm", server.port, load_map("eastron-sdm120"))])
    readings = result[0].readings
    assert readings["import_energy_kwh"].value == Decimal("12345.67")
    assert readings["voltage_v"].value == Decimal("230.10")
    assert readings["export_energy_kwh"].value == Decimal(0)


# -- SunSpec model 203 ----------------------------------------------------------------------


def sunspec_image(base: int, points: dict[str, int]) -> dict[int, int]:
    """Build a SunSpec register image: marker, Common model, model 203, end marker.

    ``points`` gives raw register values of model 203 points by name (one register each,
    or two for acc32, high word first).
    """
    common = load_model(1)
    meter = load_model(203)
    image = {base: 0x5375, base + 1: 0x6E53}
    address = base + 2
    common_block = [0] * common.length
    common_block[0], common_block[1] = 1, common.length - 2
    meter_block = [0] * meter.length
    meter_block[0], meter_block[1] = 203, meter.length - 2
    for name, raw in points.items():
        point = meter.points[name]
        words = raw.to_bytes(2 * point.size, "big", signed=raw < 0)
        for index in range(point.size):
            meter_block[point.offset + index] = int.from_bytes(words[2 * index : 2 * index + 2])
    for word in common_block + meter_block + [0xFFFF, 0]:
        image[address] = word
        address += 1
    return image


#: Hand-chosen raw values and their scale factors. Expected, by hand:
#: TotWhImp 1234567 * 10**1 = 12345670 Wh; W -1500 * 10**-1 = -150.0 W;
#: Hz 5998 * 10**-2 = 59.98 Hz; PhVphA 2405 * 10**-1 = 240.5 V.
SUNSPEC_POINTS = {
    "TotWhImp": 1_234_567,
    "TotWh_SF": 1,
    "W": -1500,
    "W_SF": -1,
    "Hz": 5998,
    "Hz_SF": -2,
    "PhVphA": 2405,
    "V_SF": -1,
}


@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_sunspec_203_scaled_exactly(base: int) -> None:
    with RegisterServer({1: sunspec_image(base, SUNSPEC_POINTS)}) as server:
        result = poll_devices_blocking([config("sunspec", server.port, load_map("sunspec-203"))])
    assert result[0].ok, result[0].error
    readings = result[0].readings
    assert readings["TotWhImp"].value == Decimal("12345670")
    assert readings["W"].value == Decimal("-150.0")
    assert readings["Hz"].value == Decimal("59.98")
    assert readings["PhVphA"].value == Decimal("240.5")


def test_sunspec_unaccumulated_total_is_rejected() -> None:
    # TotWhExp is left 0, which SunSpec defines as "not accumulated" for an acc32.
    with RegisterServer({1: sunspec_image(40000, SUNSPEC_POINTS)}) as server:
        result = poll_devices_blocking([config("sunspec", server.port, load_map("sunspec-203"))])
    reading = result[0].readings["TotWhExp"]
    assert reading.value is None
    assert reading.error == "TotWhExp is not implemented by the device"


def test_sunspec_missing_marker_fails_the_device() -> None:
    with RegisterServer({1: {40000: 0, 40001: 0}}) as server:
        result = poll_devices_blocking([config("plain", server.port, load_map("sunspec-203"))])
    assert not result[0].ok
    assert result[0].error is not None
    assert "no SunSpec marker 'SunS' at 40000, 0, 50000" in result[0].error
    assert result[0].attempts == 1


# -- failures, timeouts and retries ----------------------------------------------------------

COUNTER_MAP = load_map("pulse-counter-uint16")


def failed(result: PollResult) -> str:
    assert not result.ok
    assert result.error is not None
    return result.error


def test_slow_device_times_out_after_bounded_attempts() -> None:
    with RegisterServer({1: {0: 7}}) as server:
        server.set_delay(5.0)
        started = time.monotonic()
        result = poll_devices_blocking([config("slow", server.port, COUNTER_MAP)], FAST)[0]
        elapsed = time.monotonic() - started
    assert failed(result) == "timed out after 0.5 s"
    assert result.attempts == 3
    # Three attempts of 0.5 s and waits of 0.05 s and 0.1 s: never the device's 5 s.
    assert elapsed < 4.0


def test_exception_response_not_retried() -> None:
    with RegisterServer({1: {0: 7}}) as server:
        server.set_busy(True)
        result = poll_devices_blocking([config("busy", server.port, COUNTER_MAP)], FAST)[0]
    assert "with a Modbus exception" in failed(result)
    assert result.attempts == 1


def test_refused_connection_fails_after_retries() -> None:
    server = RegisterServer({1: {0: 7}}).start()
    port = server.port
    server.stop()
    result = poll_devices_blocking([config("gone", port, COUNTER_MAP)], FAST)[0]
    assert failed(result).startswith("no response")
    assert result.attempts == 3


def test_dead_device_does_not_hold_up_others() -> None:
    options = PollOptions(timeout=0.5, retries=2, backoff=0.05, concurrency=1)
    with (
        RegisterServer({1: {0: 1}}) as hung,
        RegisterServer({1: {0: 2}}) as first,
        RegisterServer({1: {0: 3}}) as second,
    ):
        hung.set_delay(30.0)
        devices = [
            config("hung", hung.port, COUNTER_MAP),
            config("first", first.port, COUNTER_MAP),
            config("second", second.port, COUNTER_MAP),
        ]
        started = time.monotonic()
        results = poll_devices_blocking(devices, options)
        elapsed = time.monotonic() - started
    assert [result.device for result in results] == ["hung", "first", "second"]
    assert failed(results[0]) == "timed out after 0.5 s"
    assert results[1].readings["pulses"].value == Decimal(2)
    assert results[2].readings["pulses"].value == Decimal(3)
    assert elapsed < 10.0
