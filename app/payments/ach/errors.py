"""Errors raised while reading or writing NACHA files."""

from __future__ import annotations


class AchError(ValueError):
    """Base class of the NACHA errors, with a ``code`` that programs can rely on."""

    code = "ach_error"


class AchFormatError(AchError):
    """A record of an input file is malformed.

    ``line_number`` is the 1-based physical line, ``record_type`` the record's first
    character and ``field`` the field name from ``records.py`` (None for the whole line).
    """

    code = "ach_format_error"

    def __init__(
        self, message: str, *, line_number: int, record_type: str, field: str | None
    ) -> None:
        super().__init__(message)
        self.line_number = line_number
        self.record_type = record_type
        self.field = field


class AchInputError(AchError):
    """A value passed to the writer cannot be written.

    ``batch_number`` and ``entry_number`` are 1-based positions in the caller's input
    (None for the originator's settings) and ``field`` the attribute that is wrong.
    """

    code = "ach_input_error"

    def __init__(
        self,
        message: str,
        *,
        field: str,
        batch_number: int | None = None,
        entry_number: int | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.batch_number = batch_number
        self.entry_number = entry_number
