"""A Modbus TCP server on 127.0.0.1 that serves a register image, for tests and the demo.

The server runs pymodbus' ``ModbusTcpServer`` in an event loop of its own thread, so
synchronous code (a test, a CLI command) can start it, change registers while it runs,
make it respond late, and stop it. Each unit id has its own register image, and unit 0
responds for every id not listed. Holding and input registers share a unit's image: a read
of either table at an address returns the same word. Only addresses present in the
image when the server starts can be read or changed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimDataType
from pymodbus.simulator import SimData, SimDevice

from metering.modbus.decode import ByteOrder, DataType, encode_registers

__all__ = ["RegisterServer", "encode_value"]

#: Seconds ``RegisterServer.start`` waits for the server to listen.
START_TIMEOUT = 10.0


def encode_value(value: int | float, data_type: DataType, order: ByteOrder) -> list[int]:
    """Return the wire registers of one value, as a device with ``order`` sends them."""
    return encode_registers(value, data_type, order)


def _runs(addresses: Iterable[int]) -> list[tuple[int, int]]:
    """Group sorted addresses into (first address, count) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for address in sorted(addresses):
        if runs and runs[-1][0] + runs[-1][1] == address:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((address, 1))
    return runs


class RegisterServer:
    """Simulated Modbus devices on 127.0.0.1: ``units`` maps a unit id to its register image.

    ``before_read`` is called with the unit id before each response, in the
    server's thread, so a simulated meter can advance its registers with time.
    """

    def __init__(
        self,
        units: Mapping[int, Mapping[int, int]],
        *,
        port: int = 0,
        before_read: Callable[[int], None] | None = None,
    ) -> None:
        if not units or not all(units.values()):
            raise ValueError("every simulated unit needs at least one register address")
        self._images = {unit: dict(image) for unit, image in units.items()}
        self._lock = threading.Lock()
        self._requested_port = port
        self._before_read = before_read
        self._delay = 0.0
        self._busy = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0
        self.requests = 0

    # -- changing the device's responses --------------------------------------------

    def set_registers(self, address: int, words: Sequence[int], unit: int = 0) -> None:
        """Set consecutive registers of ``unit`` from ``address``; they must be in its image."""
        image = self._images[unit]
        with self._lock:
            for offset, word in enumerate(words):
                if address + offset not in image:
                    raise KeyError(f"register {address + offset} is not in unit {unit}'s image")
                if not 0 <= word <= 0xFFFF:
                    raise ValueError(f"register value {word} is outside 0..65535")
                image[address + offset] = word

    def set_delay(self, seconds: float) -> None:
        """Delay every response by ``seconds`` (a slow or hung device)."""
        self._delay = seconds

    def set_busy(self, busy: bool) -> None:
        """Respond to every request with the Modbus exception "device busy" while ``busy``."""
        self._busy = busy

    async def _action(
        self,
        unit: int,
        _function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        _set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if self._delay:
            await asyncio.sleep(self._delay)
        if self._busy:
            return ExcCodes.DEVICE_BUSY
        if self._before_read is not None:
            self._before_read(unit)
        image = self._images[unit]
        with self._lock:
            for wire_address in range(address, address + count):
                current_registers[wire_address - start_address] = image.get(wire_address, 0)
        return None

    # -- running ---------------------------------------------------------------------

    def _devices(self) -> list[SimDevice]:
        devices = []
        for unit, image in self._images.items():
            blocks = [
                SimData(
                    address=first,
                    values=[image[first + offset] for offset in range(count)],
                    datatype=SimDataType.REGISTERS,
                )
                for first, count in _runs(image)
            ]
            devices.append(SimDevice(id=unit, simdata=blocks, action=partial(self._action, unit)))
        return devices

    async def _serve(self) -> None:
        self._server = ModbusTcpServer(self._devices(), address=("127.0.0.1", self._requested_port))
        await self._server.serve_forever(background=True)
        transport = self._server.transport
        sockets = getattr(transport, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # noqa: BLE001 - reported to start() in the caller's thread
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    def start(self) -> RegisterServer:
        """Start serving in a background thread and return once the port is bound."""
        self._thread = threading.Thread(target=self._run, name="modbus-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"simulated Modbus server did not start in {START_TIMEOUT} s")
        if self._error is not None:
            raise RuntimeError(f"simulated Modbus server failed to start: {self._error}")
        return self

    def stop(self) -> None:
        """Stop the server and its thread; the port refuses connections afterwards."""
        loop, server = self._loop, self._server
        if loop is None or server is None or not loop.is_running():
            return
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT)

    def __enter__(self) -> RegisterServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
