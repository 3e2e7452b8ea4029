"""A simulated Modbus meter for the demo and for trying ``upm modbus`` by hand.

One Modbus TCP server on 127.0.0.1 serves two devices:

- unit 1, an SDM120-like energy meter (map ``eastron-sdm120``, byte order ABCD): import
  energy grows at a steady 1.2 kW from 12,345.67 kWh, voltage 230.0 V, 50.0 Hz;
- unit 2, a uint16 pulse counter (map ``pulse-counter-uint16``) counting one pulse a
  second from 65,400, so it wraps past 65,535 a little over two minutes after the start.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from metering.modbus.decode import ByteOrder, DataType
from metering.modbus.simulator import RegisterServer, encode_value

ENERGY_UNIT = 1
COUNTER_UNIT = 2
START_ENERGY_KWH = Decimal("12345.67")
POWER_KW = Decimal("1.2")
START_PULSES = 65400
PULSES_PER_SECOND = 1

# Input register addresses of the SDM120 map (metering/modbus/maps/eastron-sdm120.json).
_VOLTAGE = 0x0000
_POWER = 0x000C
_FREQUENCY = 0x0046
_IMPORT = 0x0048
_EXPORT = 0x004A


def _float_words(value: Decimal) -> list[int]:
    return encode_value(float(value), DataType.FLOAT32, ByteOrder.ABCD)


@dataclass
class SimulatedMeter:
    """A running simulated meter, listening on 127.0.0.1 at ``port``."""

    server: RegisterServer
    started: float

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()


def start_simulated_meter(port: int = 0) -> SimulatedMeter:
    """Start the simulated meter on 127.0.0.1 (``port`` 0 takes a free port) and return it."""
    energy_image = dict.fromkeys(range(0, _EXPORT + 2), 0)
    counter_image = {0: START_PULSES}
    started = time.monotonic()
    lock = threading.Lock()
    server: RegisterServer | None = None

    def advance(unit: int) -> None:
        assert server is not None
        elapsed = Decimal(str(time.monotonic() - started))
        with lock:
            if unit == COUNTER_UNIT:
                pulses = (START_PULSES + int(elapsed) * PULSES_PER_SECOND) % 65536
                server.set_registers(0, [pulses], unit=COUNTER_UNIT)
            else:
                energy = START_ENERGY_KWH + POWER_KW * elapsed / 3600
                server.set_registers(_IMPORT, _float_words(energy), unit=ENERGY_UNIT)

    server = RegisterServer(
        {ENERGY_UNIT: energy_image, COUNTER_UNIT: counter_image},
        port=port,
        before_read=advance,
    )
    server.set_registers(_VOLTAGE, _float_words(Decimal("230.0")), unit=ENERGY_UNIT)
    server.set_registers(_POWER, _float_words(POWER_KW * 1000), unit=ENERGY_UNIT)
    server.set_registers(_FREQUENCY, _float_words(Decimal("50.0")), unit=ENERGY_UNIT)
    server.set_registers(_IMPORT, _float_words(START_ENERGY_KWH), unit=ENERGY_UNIT)
    server.start()
    return SimulatedMeter(server=server, started=started)
