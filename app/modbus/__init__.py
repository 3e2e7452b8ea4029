"""Modbus meters polled on a schedule: devices, the poll service, its task and commands."""
