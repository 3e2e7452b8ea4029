"""Clean and check the text values that the writer puts into fixed-width fields."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from app.payments.ach.errors import AchInputError
from app.payments.ach.routing import aba_check_digit

# A function that builds the error for a field: fail(field, problem).
Fail = Callable[[str, str], AchInputError]

# NACHA's alphanumeric set is the printable ASCII characters, space to tilde.
_PRINTABLE = frozenset(chr(code) for code in range(0x20, 0x7F))


def alphanumeric(value: str) -> str:
    """Upper-case ``value``, fold accents (É to E), and strip it.

    Tabs and other whitespace become spaces, and other characters outside printable
    ASCII are dropped.
    """
    if value.isascii() and value.isprintable():
        return value.upper().strip()
    folded = unicodedata.normalize("NFKD", value).upper()
    kept = (" " if char.isspace() else char for char in folded)
    return "".join(char for char in kept if char in _PRINTABLE).strip()


def fit(value: str, width: int) -> str:
    """Clean a name with ``alphanumeric`` and cut it to ``width`` characters."""
    return alphanumeric(value)[:width].rstrip()


def check_routing_number(value: str, fail: Fail, field: str) -> str:
    """Return ``value`` stripped if it is nine digits with a correct ABA check digit."""
    routing = value.strip() if isinstance(value, str) else ""
    if len(routing) != 9 or not (routing.isascii() and routing.isdigit()):
        raise fail(field, f"must be a 9-digit routing number, got {value!r}")
    expected = aba_check_digit(routing[:8])
    if int(routing[8]) != expected:
        raise fail(
            field,
            f"{routing} fails the ABA check: its last digit is {routing[8]} but the first "
            f"eight digits give check digit {expected}",
        )
    return routing


def check_account_number(value: str, fail: Fail, field: str) -> str:
    """Return the account number upper-cased if it is 1-17 printable characters, no spaces.

    The message shows only the last four characters, so an account number never reaches
    a log in full.
    """
    account = value.strip().upper() if isinstance(value, str) else ""
    masked = "*" * max(len(account) - 4, 0) + account[-4:]
    if not account:
        raise fail(field, "is empty")
    if len(account) > 17:
        raise fail(field, f"has {len(account)} characters, more than 17 ({masked})")
    if any(char not in _PRINTABLE or char == " " for char in account):
        raise fail(field, f"must contain only printable ASCII and no spaces ({masked})")
    return account
