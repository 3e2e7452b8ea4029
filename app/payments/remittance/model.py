"""The output of every remittance parser: payment items, line errors and control totals.

Amounts are `Decimal` dollars with two decimal places. The bank formats carry integer
cents, and the parsers scale them exactly, never through a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

Severity = Literal["error", "warning"]
# "unknown" is the format of the result for a file that no parser recognizes.
FormatName = Literal["bai2", "lockbox", "csv", "unknown"]


@dataclass(frozen=True)
class LineError:
    """A problem found in a file, at the physical line (1-based) where its record starts.

    Severity "error" means a record was rejected and nothing from it became an item, or
    the file disagrees with itself (a control total, a count, a missing trailer) and
    should be checked before its items are posted. Severity "warning" means the parser
    accepted something outside the format and lost nothing, or skipped a record on
    purpose (a transaction in another currency). Line 0 means the file as a whole
    when it has no lines at all.
    """

    line_number: int
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.message}"


@dataclass(frozen=True)
class RemittanceItem:
    """One payment read from a file, ready to be matched to a customer account.

    `account_reference` is what the payer wrote as the account or invoice number, and it
    is not checked against our accounts here. `payer_routing` and `payer_account` are masked
    to their last four digits, because a full bank account number is never kept.
    """

    line_number: int
    amount: Decimal
    raw: str
    account_reference: str | None = None
    scan_line: str | None = None
    check_number: str | None = None
    payer_name: str | None = None
    # The date the bank or clerk received the payment (BAI2 as-of date, lockbox
    # deposit date, the CSV paid_on column).
    paid_on: date | None = None
    # The date written on a check (lockbox files only).
    check_date: date | None = None
    payer_routing: str | None = None
    payer_account: str | None = None
    # The bank's reference for the deposit or batch the payment came in.
    deposit_reference: str | None = None
    memo: str | None = None
    # The BAI type code of the transaction (BAI2 files only), e.g. "115" for a lockbox
    # deposit, which totals many checks rather than paying one account.
    type_code: str | None = None


@dataclass(frozen=True)
class ControlTotals:
    """The totals and counts a file states about itself, as written in its trailers.

    BAI2: `amount` is the file trailer's control total (the sum of every balance and
    transaction amount, not only payments), `group_count` and `record_count` come from
    the same trailer, and `item_count` is None. Lockbox: `amount` and `item_count` sum
    the lockbox total records, `record_count` is the trailer's count, and `group_count`
    is None. A field is None when the file does not state it.
    """

    amount: Decimal | None = None
    item_count: int | None = None
    record_count: int | None = None
    group_count: int | None = None


@dataclass(frozen=True)
class RemittanceFile:
    """The result of parsing one file: the good items, every problem, and its totals."""

    format: FormatName
    items: tuple[RemittanceItem, ...]
    errors: tuple[LineError, ...]
    control: ControlTotals | None

    @property
    def has_errors(self) -> bool:
        """Check for a problem of severity "error", since warnings alone do not count."""
        return any(error.severity == "error" for error in self.errors)
