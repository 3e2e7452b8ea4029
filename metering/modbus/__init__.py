"""Modbus meters: register maps, decoding to Decimal, counter wraps, SunSpec and the poller.

Everything here is pure except ``poller`` (a Modbus TCP client) and ``simulator`` (a
Modbus TCP server for tests and the demo). Nothing here imports ``app``.
"""
