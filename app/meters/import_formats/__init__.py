"""Storing each meter read file format; ``app.meters.imports`` picks the module."""
