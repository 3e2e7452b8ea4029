"""Text and money helpers shared by the remittance parsers."""

from __future__ import annotations

import re
from decimal import Decimal

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def decode(data: str | bytes) -> str:
    """Return the file as text without a leading byte-order mark.

    Bytes are read as UTF-8. Bytes that are not valid UTF-8 are read as Latin-1, which
    maps every byte to one character, so a stray byte in a name never stops a parse.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    else:
        text = data
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    """Split on CRLF, CR or LF, so that index + 1 is the line number an editor shows."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def cents_to_dollars(cents: int) -> Decimal:
    """Return an integer number of cents as dollars with exactly two decimal places."""
    return Decimal(cents).scaleb(-2)


def format_dollars(amount: Decimal) -> str:
    """Format dollars for a message, e.g. 1,234.50."""
    return f"{amount:,.2f}"


def mask_last4(number: str) -> str | None:
    """Mask a bank routing or account number to its last four characters, e.g. ****5555."""
    compact = number.strip()
    if not compact:
        return None
    return "****" + compact[-4:]
