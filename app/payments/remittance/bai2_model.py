"""The typed content of a BAI2 bank statement file, and the credit types that are payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Literal

from app.payments.remittance.model import RemittanceFile


@dataclass(frozen=True)
class PaymentType:
    """A BAI credit type code that upm reads as money paid in."""

    name: str
    # True when the amount totals several payments, such as a lockbox deposit. Such an
    # item reconciles a deposit, so it should not be posted to one customer account.
    deposit_total: bool = False


# Names as in the type code table of the BAI "Cash Management Balance Reporting
# Specifications", version 2. Other credits (interest, transfers between our own
# accounts, loan proceeds) are not payments and stay transactions only.
PAYMENT_TYPES: dict[str, PaymentType] = {
    "115": PaymentType("Lockbox Deposit", deposit_total=True),
    "142": PaymentType("ACH Credit Received"),
    "165": PaymentType("Preauthorized ACH Credit"),
    "166": PaymentType("ACH Settlement", deposit_total=True),
    "169": PaymentType("Miscellaneous ACH Credit"),
    "175": PaymentType("Check Deposit Package", deposit_total=True),
    "195": PaymentType("Incoming Money Transfer"),
}


@dataclass(frozen=True)
class FundsAvailability:
    """The availability of an amount's funds, from the funds type field and its extras.

    `type` is "0" (immediate), "1" (one day), "2" (two or more days), "Z" (unknown),
    "" (not given), "V" (value dated: `value_date`, `value_time`), "S" (distributed:
    `immediate`, `one_day`, `two_or_more_days`) or "D" (distributed:
    `distributions`, pairs of days and amount).
    """

    type: str = ""
    value_date: date | None = None
    value_time: time | None = None
    immediate: Decimal | None = None
    one_day: Decimal | None = None
    two_or_more_days: Decimal | None = None
    distributions: tuple[tuple[int, Decimal], ...] = ()


@dataclass(frozen=True)
class Bai2Summary:
    """A balance or activity summary from an account identifier (03) record."""

    type_code: str
    amount: Decimal | None
    item_count: int | None
    funds: FundsAvailability


@dataclass(frozen=True)
class Bai2Transaction:
    """A transaction detail (16) record with its continuation text."""

    line_number: int
    account_number: str
    currency: str | None
    as_of_date: date | None
    type_code: str
    amount: Decimal
    funds: FundsAvailability
    bank_reference: str | None
    customer_reference: str | None
    # The text parts joined with single spaces. Banks disagree on whether a
    # continuation starts a new line or continues a word, so `text_parts` keeps them.
    text: str | None
    text_parts: tuple[str, ...]
    raw: str

    @property
    def direction(self) -> Literal["credit", "debit"] | None:
        """Credit or debit by the BAI type code ranges, or None for a status code."""
        code = int(self.type_code)
        if 100 <= code <= 399 or 920 <= code <= 959:
            return "credit"
        if 400 <= code <= 699 or 960 <= code <= 999:
            return "debit"
        return None


@dataclass(frozen=True)
class Bai2Account:
    """An account identifier (03), its transactions and its trailer (49)."""

    line_number: int
    account_number: str
    currency: str | None
    summaries: tuple[Bai2Summary, ...]
    transactions: tuple[Bai2Transaction, ...]
    control_total: Decimal | None
    record_count: int | None


@dataclass(frozen=True)
class Bai2Group:
    """A group header (02), its accounts and its trailer (98).

    `status` is "1" update, "2" deletion, "3" correction or "4" test only.
    """

    line_number: int
    ultimate_receiver_id: str | None
    originator_id: str | None
    status: str
    as_of_date: date | None
    as_of_time: time | None
    currency: str | None
    as_of_date_modifier: str | None
    accounts: tuple[Bai2Account, ...]
    control_total: Decimal | None
    account_count: int | None
    record_count: int | None


@dataclass(frozen=True)
class Bai2FileHeader:
    """The file header (01). Times of 2400 or 9999 mean end of day, read as `time.max`."""

    line_number: int
    sender_id: str
    receiver_id: str
    created_on: date | None
    created_at: time | None
    file_id: str
    physical_record_length: int | None
    block_size: int | None
    version: str


@dataclass(frozen=True)
class Bai2File(RemittanceFile):
    """A parsed BAI2 file: the remittance result plus the whole statement."""

    header: Bai2FileHeader | None = None
    groups: tuple[Bai2Group, ...] = ()

    @property
    def transactions(self) -> tuple[Bai2Transaction, ...]:
        """Every transaction in file order, credits and debits."""
        return tuple(
            transaction
            for group in self.groups
            for account in group.accounts
            for transaction in account.transactions
        )
