"""The OCR scan line printed on bill stubs: format it for printing and parse it back.

A scan line is 29 digits, printed in four groups separated by spaces:

    account number   9 digits, 8 digits and a Luhn check digit (app.accounts.numbers)
    bill number     10 digits, the bill's id padded with zeros
    amount due       9 digits, cents padded with zeros (at most 9,999,999.99)
    check digit      1 digit, the Damm check digit of the 28 digits before it

Damm's algorithm is a mod-10 check over a quasigroup table. Unlike Luhn, which misses
the swap of 09 and 90, it detects every single-digit error and every swap of two
adjacent digits, and a whole line checks when running it over all 29 digits gives 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.payments.remittance._text import cents_to_dollars

__all__ = [
    "SCAN_LINE_DIGITS",
    "ScanLine",
    "ScanLineError",
    "damm_check_digit",
    "find_scan_line",
    "format_scan_line",
    "is_account_number",
    "parse_scan_line",
]

ACCOUNT_DIGITS = 9
BILL_DIGITS = 10
AMOUNT_DIGITS = 9
SCAN_LINE_DIGITS = ACCOUNT_DIGITS + BILL_DIGITS + AMOUNT_DIGITS + 1
MAX_AMOUNT_CENTS = 10**AMOUNT_DIGITS - 1
MAX_BILL_ID = 10**BILL_DIGITS - 1

# The weakly totally anti-symmetric quasigroup of order 10 published with Damm's
# algorithm: row is the interim digit, column the next input digit. The tests check
# that it is a Latin square with zeros on the diagonal and anti-symmetric.
_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

_WHITESPACE = re.compile(r"\s+")
_SCAN_LINE_RUN = re.compile(rf"(?<!\d)\d{{{SCAN_LINE_DIGITS}}}(?!\d)")


class ScanLineError(ValueError):
    """An invalid scan line or part of one, with a stable `code` and a message naming the fix."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ScanLine:
    """The fields of a valid scan line."""

    account_number: str
    bill_id: int
    amount_due: Decimal
    check_digit: str

    @property
    def digits(self) -> str:
        """The 29 digits without spaces."""
        cents = int(self.amount_due.scaleb(2))
        return (
            f"{self.account_number}{self.bill_id:0{BILL_DIGITS}d}"
            f"{cents:0{AMOUNT_DIGITS}d}{self.check_digit}"
        )

    @property
    def text(self) -> str:
        """The line as printed, in four groups separated by spaces."""
        digits = self.digits
        account_end = ACCOUNT_DIGITS
        bill_end = account_end + BILL_DIGITS
        amount_end = bill_end + AMOUNT_DIGITS
        return " ".join(
            (
                digits[:account_end],
                digits[account_end:bill_end],
                digits[bill_end:amount_end],
                digits[amount_end:],
            )
        )


def damm_check_digit(digits: str) -> str:
    """Return the Damm check digit of a string of decimal digits ("572" gives "4")."""
    interim = 0
    for character in digits:
        interim = _DAMM_TABLE[interim][int(character)]
    return str(interim)


def is_account_number(text: str) -> bool:
    """Check that `text` is nine digits whose last is the Luhn check digit of the other eight."""
    if len(text) != ACCOUNT_DIGITS or not text.isascii() or not text.isdigit():
        return False
    total = 0
    for position, character in enumerate(reversed(text)):
        digit = int(character)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def format_scan_line(account_number: str, bill_id: int, amount_due: Decimal) -> str:
    """Build the scan line for a bill stub, e.g. "100000017 0000001234 000008812 6".

    Raise `ScanLineError` when the account number is invalid, the bill id does not fit
    in ten digits, or the amount is negative, has fractions of a cent, or exceeds
    9,999,999.99.
    """
    if not is_account_number(account_number):
        raise ScanLineError(
            f"account number {account_number!r} is not 9 digits with a valid check digit; "
            "pass the account number as issued, e.g. 100000017",
            code="scan_line_account_number",
        )
    if not 0 < bill_id <= MAX_BILL_ID:
        raise ScanLineError(
            f"bill id {bill_id} does not fit the scan line; it must be from 1 to {MAX_BILL_ID}",
            code="scan_line_bill_id",
        )
    cents_value = amount_due.scaleb(2)
    if amount_due < 0 or cents_value != cents_value.to_integral_value():
        raise ScanLineError(
            f"amount due {amount_due} must be 0 or more in whole cents; "
            "round the bill total to the cent and print 0 for a credit balance",
            code="scan_line_amount",
        )
    cents = int(cents_value)
    if cents > MAX_AMOUNT_CENTS:
        raise ScanLineError(
            f"amount due {amount_due} exceeds 9,999,999.99, the maximum a scan line can "
            "contain; print the stub without a scan line",
            code="scan_line_amount",
        )
    body = f"{account_number}{bill_id:0{BILL_DIGITS}d}{cents:0{AMOUNT_DIGITS}d}"
    return ScanLine(
        account_number=account_number,
        bill_id=bill_id,
        amount_due=cents_to_dollars(cents),
        check_digit=damm_check_digit(body),
    ).text


def parse_scan_line(text: str) -> ScanLine:
    """Parse a scan line as keyed or read by OCR, ignoring spaces and other whitespace.

    Raise `ScanLineError` when it has characters other than digits, does not have 29
    digits, fails its check digit, or contains an account number or bill number that
    cannot be ours.
    """
    digits = _WHITESPACE.sub("", text)
    if digits and not (digits.isascii() and digits.isdigit()):
        raise ScanLineError(
            f"scan line {text!r} must contain only digits and spaces; "
            "key the line again exactly as printed on the stub",
            code="scan_line_characters",
        )
    if len(digits) != SCAN_LINE_DIGITS:
        raise ScanLineError(
            f"scan line {text!r} has {len(digits)} digits, but a scan line has "
            f"{SCAN_LINE_DIGITS}; key the whole line from the stub",
            code="scan_line_length",
        )
    if damm_check_digit(digits) != "0":
        raise ScanLineError(
            f"scan line {text!r} fails its check digit, so a digit was misread or "
            "mistyped; key the line again from the stub",
            code="scan_line_check_digit",
        )

    account_end = ACCOUNT_DIGITS
    bill_end = account_end + BILL_DIGITS
    amount_end = bill_end + AMOUNT_DIGITS
    account_number = digits[:account_end]
    if not is_account_number(account_number):
        raise ScanLineError(
            f"scan line {text!r} contains account number {account_number}, which fails "
            "its own check digit; the stub was not printed by upm, so enter the "
            "payment by account number",
            code="scan_line_account_number",
        )
    bill_id = int(digits[account_end:bill_end])
    if bill_id == 0:
        raise ScanLineError(
            f"scan line {text!r} has bill number 0, which no bill has; "
            "enter the payment by account number",
            code="scan_line_bill_id",
        )
    return ScanLine(
        account_number=account_number,
        bill_id=bill_id,
        amount_due=cents_to_dollars(int(digits[bill_end:amount_end])),
        check_digit=digits[amount_end:],
    )


def find_scan_line(text: str | None) -> ScanLine | None:
    """Return the first valid scan line written as 29 digits without spaces in free text."""
    for match in _SCAN_LINE_RUN.finditer(text or ""):
        try:
            return parse_scan_line(match.group())
        except ScanLineError:
            continue
    return None
