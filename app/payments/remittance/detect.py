"""Recognize a payment file's format by its first record, and parse it with the right parser."""

from __future__ import annotations

import csv
import re

from app.payments.remittance._text import decode, split_lines
from app.payments.remittance.bai2 import parse_bai2
from app.payments.remittance.csv_format import COLUMNS, parse_payment_csv
from app.payments.remittance.lockbox import parse_lockbox
from app.payments.remittance.model import FormatName, LineError, RemittanceFile

__all__ = ["detect_format", "parse_remittance"]

_BAI2_FILE_HEADER = re.compile(r"01,")
# Record type 1, priority, destination, origin, processing date YYMMDD and time HHMM,
# then only filler. A NACHA (ACH) file header starts the same way but goes on with its
# file id modifier and "094101", so the blank filler separates the two formats.
_LOCKBOX_HEADER = re.compile(r"1\d{2}.{10}\d{10}\d{6}\d{4}\s*")


def detect_format(data: str | bytes) -> FormatName | None:
    """Return "bai2", "lockbox" or "csv" from the first non-blank line, or None.

    A CSV is recognized by a header that names at least one column of the payment CSV.
    """
    first = next((line.strip() for line in split_lines(decode(data)) if line.strip()), None)
    if first is None:
        return None
    if _BAI2_FILE_HEADER.match(first):
        return "bai2"
    if _LOCKBOX_HEADER.fullmatch(first):
        return "lockbox"
    header = next(csv.reader([first]))
    if any(name.strip().lower() in COLUMNS for name in header):
        return "csv"
    return None


def parse_remittance(data: str | bytes) -> RemittanceFile:
    """Parse a payment file of any supported format.

    A file in no supported format gives a result with format "unknown", no items and
    one error.
    """
    file_format = detect_format(data)
    if file_format == "bai2":
        return parse_bai2(data)
    if file_format == "lockbox":
        return parse_lockbox(data)
    if file_format == "csv":
        return parse_payment_csv(data)
    line_number = 1 if split_lines(decode(data)) else 0
    return RemittanceFile(
        format="unknown",
        items=(),
        errors=(
            LineError(
                line_number,
                "unknown_format",
                "the file is not a BAI2 file (first record 01), a lockbox file (first "
                "record 1) or a payment CSV (a header naming amount, paid_on and "
                "account_number or scan_line); check that the right file was chosen",
            ),
        ),
        control=None,
    )
