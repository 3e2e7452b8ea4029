"""Parse BAI2 (BTRS) bank statement files into typed transactions and payment items.

`parse_bai2` returns a `Bai2File`: every group, account, balance summary and
transaction of the statement, plus one `RemittanceItem` for each credit transaction
whose type code is in `PAYMENT_TYPES`. Amounts in BAI2 are integer cents, and the
parser scales them to dollars with two decimals. A currency without two decimal places
is read wrongly, which is one reason only US dollar credits become items.

A transaction (16) that cannot be read is rejected whole, with one error per problem.
Trailers (49, 98, 99) are checked against the records they close, and each
disagreement is an error, but the items are kept so a person can decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Literal

from app.payments.remittance._text import (
    cents_to_dollars,
    decode,
    format_dollars,
    split_lines,
)
from app.payments.remittance.bai2_fields import (
    Problems,
    read_cents,
    read_count,
    read_date,
    read_summaries,
    read_time,
    read_transaction,
)
from app.payments.remittance.bai2_model import (
    PAYMENT_TYPES,
    Bai2Account,
    Bai2File,
    Bai2FileHeader,
    Bai2Group,
    Bai2Summary,
    Bai2Transaction,
    FundsAvailability,
    PaymentType,
)
from app.payments.remittance.bai2_records import FieldReader, Record, split_records
from app.payments.remittance.model import ControlTotals, LineError, RemittanceItem
from app.payments.remittance.scanline import ScanLine, find_scan_line, is_account_number

__all__ = [
    "PAYMENT_TYPES",
    "Bai2Account",
    "Bai2File",
    "Bai2FileHeader",
    "Bai2Group",
    "Bai2Summary",
    "Bai2Transaction",
    "FundsAvailability",
    "PaymentType",
    "parse_bai2",
]

# Group status 1 is an update. 2 (deletion), 3 (correction) and 4 (test only) repeat or
# replace data sent before, so their transactions would post payments twice.
_POSTABLE_GROUP_STATUSES = frozenset({"", "1"})
_POSTABLE_CURRENCIES = frozenset({"", "USD"})
_ACCOUNT_TOKEN = re.compile(r"(?<!\d)\d{9}(?!\d)")
_CHECK_WITH_BANK = "check the file with the bank before posting it"


def parse_bai2(data: str | bytes) -> Bai2File:
    """Parse a BAI2 file. The module docstring lists what is kept and what is reported."""
    lines = split_lines(decode(data))
    records, errors = split_records(lines)
    parser = _Parser(errors, last_line=max(len(lines), 1))
    for record in records:
        parser.feed(record)
    return parser.finish()


@dataclass
class _AccountBuilder:
    line_number: int
    account_number: str
    currency: str | None
    summaries: tuple[Bai2Summary, ...]
    computed_total: int
    record_count: int
    transactions: list[Bai2Transaction] = field(default_factory=list)
    rejected: int = 0

    def build(self, control_total: Decimal | None, record_count: int | None) -> Bai2Account:
        return Bai2Account(
            line_number=self.line_number,
            account_number=self.account_number,
            currency=self.currency,
            summaries=self.summaries,
            transactions=tuple(self.transactions),
            control_total=control_total,
            record_count=record_count,
        )


@dataclass
class _GroupBuilder:
    line_number: int
    ultimate_receiver_id: str | None
    originator_id: str | None
    status: str
    as_of_date: date | None
    as_of_time: time | None
    currency: str | None
    as_of_date_modifier: str | None
    record_count: int
    accounts: list[Bai2Account] = field(default_factory=list)
    # Each account's total as its trailer states it, or as computed when it has none.
    account_totals: int = 0

    def build(
        self, control_total: Decimal | None, account_count: int | None, record_count: int | None
    ) -> Bai2Group:
        return Bai2Group(
            line_number=self.line_number,
            ultimate_receiver_id=self.ultimate_receiver_id,
            originator_id=self.originator_id,
            status=self.status,
            as_of_date=self.as_of_date,
            as_of_time=self.as_of_time,
            currency=self.currency,
            as_of_date_modifier=self.as_of_date_modifier,
            accounts=tuple(self.accounts),
            control_total=control_total,
            account_count=account_count,
            record_count=record_count,
        )


class _Parser:
    """Walk the records in order, keeping the open group and account."""

    def __init__(self, errors: list[LineError], last_line: int) -> None:
        self.errors = errors
        self.last_line = last_line
        self.header: Bai2FileHeader | None = None
        self.groups: list[Bai2Group] = []
        self.items: list[RemittanceItem] = []
        self.group: _GroupBuilder | None = None
        self.account: _AccountBuilder | None = None
        self.file_records = 0
        self.group_totals = 0
        self.trailer: ControlTotals | None = None
        self.trailer_line: int | None = None
        self.handlers: dict[str, Callable[[Record], None]] = {
            "01": self._file_header,
            "02": self._group_header,
            "03": self._account_identifier,
            "16": self._transaction,
            "49": self._account_trailer,
            "98": self._group_trailer,
            "99": self._file_trailer,
        }

    def feed(self, record: Record) -> None:
        if self.trailer_line is not None:
            self._error(
                record.line_number,
                "bai2_after_file_trailer",
                f"record {record.code} comes after the file trailer on line "
                f"{self.trailer_line}, so it was skipped; ask the bank whether two files "
                "were joined",
            )
            return

        # Count the record in the open group and account before its handler runs. A 02
        # or 03 that closes one left without a trailer adds to a count nobody checks,
        # and then starts its own count.
        self.file_records += record.physical_count
        if self.group is not None:
            self.group.record_count += record.physical_count
        if self.account is not None:
            self.account.record_count += record.physical_count
        self.handlers[record.code](record)

    def finish(self) -> Bai2File:
        if self.trailer_line is None:
            self._close_account_without_trailer(self.last_line)
            self._close_group_without_trailer(self.last_line)
            self._error(
                self.last_line,
                "bai2_missing_trailer",
                "the file ends without a file trailer (99), so it may be cut short; "
                "ask the bank to send the file again",
            )
        return Bai2File(
            format="bai2",
            items=tuple(self.items),
            errors=tuple(sorted(self.errors, key=lambda error: error.line_number)),
            control=self.trailer,
            header=self.header,
            groups=tuple(self.groups),
        )

    def _error(self, line_number: int, code: str, message: str, warning: bool = False) -> None:
        severity: Literal["error", "warning"] = "warning" if warning else "error"
        self.errors.append(LineError(line_number, code, message, severity))

    def _report(self, record: Record, problems: Problems, consequence: str) -> None:
        for code, message in problems.entries:
            self._error(record.line_number, code, f"{message}; {consequence}")

    # 01
    def _file_header(self, record: Record) -> None:
        if self.header is not None or self.groups or self.group is not None:
            self._error(
                record.line_number,
                "bai2_out_of_order",
                "a second file header (01) appears inside the file, so it was skipped; "
                "ask the bank whether two files were joined",
            )
            return
        reader = FieldReader(record.segments)
        problems = Problems()

        sender_id = reader.next_or_blank()
        receiver_id = reader.next_or_blank()
        created_on = read_date(reader.next_or_blank(), "file creation date", problems)
        created_at = read_time(reader.next_or_blank(), "file creation time", problems)
        file_id = reader.next_or_blank()
        record_length = read_count(reader.next_or_blank(), "physical record length", problems)
        block_size = read_count(reader.next_or_blank(), "block size", problems)
        version = reader.next_or_blank()
        self._report(record, problems, "the header was read without it")

        if version != "2":
            self._error(
                record.line_number,
                "bai2_version",
                f"the file header gives version {version!r}, not 2; it was read as BAI2 "
                "version 2, so check its totals with the bank statement",
                warning=True,
            )

        self.header = Bai2FileHeader(
            line_number=record.line_number,
            sender_id=sender_id,
            receiver_id=receiver_id,
            created_on=created_on,
            created_at=created_at,
            file_id=file_id,
            physical_record_length=record_length,
            block_size=block_size,
            version=version,
        )

    # 02
    def _group_header(self, record: Record) -> None:
        self._close_account_without_trailer(record.line_number)
        self._close_group_without_trailer(record.line_number)

        reader = FieldReader(record.segments)
        problems = Problems()
        ultimate_receiver_id = reader.next_or_blank() or None
        originator_id = reader.next_or_blank() or None
        status = reader.next_or_blank()
        as_of_date = read_date(reader.next_or_blank(), "as-of date", problems)
        as_of_time = read_time(reader.next_or_blank(), "as-of time", problems)
        currency = reader.next_or_blank().upper() or None
        modifier = reader.next_or_blank() or None
        self._report(record, problems, "the group was read without it")

        self.group = _GroupBuilder(
            line_number=record.line_number,
            ultimate_receiver_id=ultimate_receiver_id,
            originator_id=originator_id,
            status=status,
            as_of_date=as_of_date,
            as_of_time=as_of_time,
            currency=currency,
            as_of_date_modifier=modifier,
            record_count=record.physical_count,
        )

        if status not in _POSTABLE_GROUP_STATUSES:
            self._error(
                record.line_number,
                "bai2_group_status",
                f"group status {status!r} is not 1 (update), so its transactions were "
                "kept but not turned into payment items; post them by hand if the bank "
                "confirms they are new",
                warning=True,
            )

    # 03
    def _account_identifier(self, record: Record) -> None:
        self._close_account_without_trailer(record.line_number)
        if self.group is None:
            self._error(
                record.line_number,
                "bai2_out_of_order",
                "account identifier (03) comes before any group header (02); it was read "
                "with no as-of date, so ask the bank whether the file is damaged",
            )
            self.group = _GroupBuilder(
                line_number=record.line_number,
                ultimate_receiver_id=None,
                originator_id=None,
                status="",
                as_of_date=None,
                as_of_time=None,
                currency=None,
                as_of_date_modifier=None,
                record_count=record.physical_count,
            )
        reader = FieldReader(record.segments)
        problems = Problems()
        account_number = reader.next_or_blank()
        if not account_number:
            problems.add("bai2_missing_account", "the account number is empty")
        currency = reader.next_or_blank().upper() or None
        summaries, computed = read_summaries(reader, problems)
        self._report(record, problems, "the account's balances were read without it")
        self.account = _AccountBuilder(
            line_number=record.line_number,
            account_number=account_number,
            currency=currency,
            summaries=summaries,
            computed_total=computed,
            record_count=record.physical_count,
        )

    # 16
    def _transaction(self, record: Record) -> None:
        account = self.account
        group = self.group
        if account is None or group is None:
            self._error(
                record.line_number,
                "bai2_out_of_order",
                "transaction (16) comes outside an account (03 to 49), so it was not "
                "imported; ask the bank to correct the file",
            )
            return
        problems = Problems()
        transaction = read_transaction(
            record,
            account.account_number,
            account.currency or group.currency,
            group.as_of_date,
            problems,
        )
        if transaction is None:
            account.rejected += 1
            self._report(record, problems, "nothing from this transaction was imported")
            return
        account.transactions.append(transaction)
        account.computed_total += int(transaction.amount.scaleb(2))
        item = self._item_for(transaction, group)
        if item is not None:
            self.items.append(item)

    def _item_for(
        self, transaction: Bai2Transaction, group: _GroupBuilder
    ) -> RemittanceItem | None:
        if (
            transaction.type_code not in PAYMENT_TYPES
            or group.status not in _POSTABLE_GROUP_STATUSES
        ):
            return None
        currency = transaction.currency or ""
        if currency not in _POSTABLE_CURRENCIES:
            self._error(
                transaction.line_number,
                "bai2_currency",
                f"payment type {transaction.type_code} is in {currency}, but upm posts US "
                "dollars only, so it was not turned into a payment item",
                warning=True,
            )
            return None
        if transaction.amount <= 0:
            return None
        scan_line = _find_scan_line(transaction)
        return RemittanceItem(
            line_number=transaction.line_number,
            amount=transaction.amount,
            raw=transaction.raw,
            account_reference=_account_reference(transaction, scan_line),
            scan_line=scan_line.digits if scan_line else None,
            paid_on=transaction.as_of_date,
            deposit_reference=transaction.bank_reference,
            memo=transaction.text,
            type_code=transaction.type_code,
        )

    # 49
    def _account_trailer(self, record: Record) -> None:
        account = self.account
        if account is None:
            self._error(
                record.line_number,
                "bai2_out_of_order",
                "account trailer (49) has no account identifier (03) before it, so it was "
                "skipped; ask the bank whether the file is damaged",
            )
            return
        reader = FieldReader(record.segments)
        problems = Problems()
        total_cents = read_cents(reader.next_or_blank(), "account control total", problems)
        count = read_count(reader.next_or_blank(), "account record count", problems)
        self._report(record, problems, "the account's totals could not be checked")

        label = f"account {account.account_number} trailer"
        rejected = (
            f", and {account.rejected} rejected transaction(s) are not in that sum"
            if account.rejected
            else ""
        )
        self._check_total(
            record.line_number,
            "bai2_account_total_mismatch",
            f"{label} total",
            total_cents,
            "the sum of its amounts",
            account.computed_total,
            rejected,
        )
        self._check_count(
            record.line_number,
            "bai2_account_count_mismatch",
            f"{label} counts {count} records",
            count,
            "the account has",
            account.record_count,
            " (03 to 49, with 88 continuations)",
        )
        self._close_account(total_cents, count)

    # 98
    def _group_trailer(self, record: Record) -> None:
        self._close_account_without_trailer(record.line_number)
        group = self.group
        if group is None:
            self._error(
                record.line_number,
                "bai2_out_of_order",
                "group trailer (98) has no group header (02) before it, so it was "
                "skipped; ask the bank whether the file is damaged",
            )
            return
        reader = FieldReader(record.segments)
        problems = Problems()
        total_cents = read_cents(reader.next_or_blank(), "group control total", problems)
        account_count = read_count(reader.next_or_blank(), "group account count", problems)
        record_count = read_count(reader.next_or_blank(), "group record count", problems)
        self._report(record, problems, "the group's totals could not be checked")

        line_number = record.line_number
        self._check_total(
            line_number,
            "bai2_group_total_mismatch",
            "group trailer total",
            total_cents,
            "the sum of its account totals",
            group.account_totals,
        )
        self._check_count(
            line_number,
            "bai2_group_count_mismatch",
            f"group trailer counts {account_count} accounts",
            account_count,
            "the group has",
            len(group.accounts),
        )
        self._check_count(
            line_number,
            "bai2_group_count_mismatch",
            f"group trailer counts {record_count} records",
            record_count,
            "the group has",
            group.record_count,
            " (02 to 98, with 88 continuations)",
        )
        self._close_group(total_cents, account_count, record_count)

    # 99
    def _file_trailer(self, record: Record) -> None:
        self._close_account_without_trailer(record.line_number)
        self._close_group_without_trailer(record.line_number)
        reader = FieldReader(record.segments)
        problems = Problems()
        total_cents = read_cents(reader.next_or_blank(), "file control total", problems)
        group_count = read_count(reader.next_or_blank(), "file group count", problems)
        record_count = read_count(reader.next_or_blank(), "file record count", problems)
        self._report(record, problems, "the file's totals could not be checked")

        line_number = record.line_number
        self._check_total(
            line_number,
            "bai2_file_total_mismatch",
            "file trailer total",
            total_cents,
            "the sum of its group totals",
            self.group_totals,
        )
        self._check_count(
            line_number,
            "bai2_file_count_mismatch",
            f"file trailer counts {group_count} groups",
            group_count,
            "the file has",
            len(self.groups),
        )
        self._check_count(
            line_number,
            "bai2_file_count_mismatch",
            f"file trailer counts {record_count} records",
            record_count,
            "the file has",
            self.file_records,
            " (01 to 99, with 88 continuations)",
        )
        self.trailer = ControlTotals(
            amount=cents_to_dollars(total_cents) if total_cents is not None else None,
            record_count=record_count,
            group_count=group_count,
        )
        self.trailer_line = record.line_number

    def _check_total(
        self,
        line_number: int,
        code: str,
        label: str,
        stated_cents: int | None,
        sum_label: str,
        sum_cents: int,
        note: str = "",
    ) -> None:
        """Report a trailer total that differs from the sum it controls."""
        if stated_cents is None or stated_cents == sum_cents:
            return
        self._error(
            line_number,
            code,
            f"{label} {format_dollars(cents_to_dollars(stated_cents))} does not match "
            f"{sum_label} {format_dollars(cents_to_dollars(sum_cents))}{note}; "
            f"{_CHECK_WITH_BANK}",
        )

    def _check_count(
        self,
        line_number: int,
        code: str,
        label: str,
        stated: int | None,
        owner: str,
        actual: int,
        detail: str = "",
    ) -> None:
        """Report a trailer count that differs from what was counted."""
        if stated is None or stated == actual:
            return
        self._error(line_number, code, f"{label}, but {owner} {actual}{detail}; {_CHECK_WITH_BANK}")

    def _close_account(self, total_cents: int | None, count: int | None) -> None:
        account = self.account
        if account is None:
            return
        control_total = cents_to_dollars(total_cents) if total_cents is not None else None
        if self.group is not None:
            self.group.accounts.append(account.build(control_total, count))
            self.group.account_totals += (
                total_cents if total_cents is not None else account.computed_total
            )
        self.account = None

    def _close_account_without_trailer(self, line_number: int) -> None:
        account = self.account
        if account is None:
            return
        self._error(
            line_number,
            "bai2_missing_trailer",
            f"account {account.account_number} from line {account.line_number} has no "
            "account trailer (49), so its totals could not be checked; ask the bank to "
            "correct the file",
        )
        self._close_account(None, None)

    def _close_group(
        self, total_cents: int | None, account_count: int | None, record_count: int | None
    ) -> None:
        group = self.group
        if group is None:
            return
        control_total = cents_to_dollars(total_cents) if total_cents is not None else None
        self.groups.append(group.build(control_total, account_count, record_count))
        self.group_totals += total_cents if total_cents is not None else group.account_totals
        self.group = None

    def _close_group_without_trailer(self, line_number: int) -> None:
        group = self.group
        if group is None:
            return
        self._error(
            line_number,
            "bai2_missing_trailer",
            f"group from line {group.line_number} has no group trailer (98), so its "
            "totals could not be checked; ask the bank to correct the file",
        )
        self._close_group(None, None, None)


def _find_scan_line(transaction: Bai2Transaction) -> ScanLine | None:
    """Return the first valid scan line in the customer reference or the text."""
    return find_scan_line(transaction.customer_reference) or find_scan_line(transaction.text)


def _account_reference(transaction: Bai2Transaction, scan_line: ScanLine | None) -> str | None:
    """Prefer the customer reference, then a scan line's account, then an account number.

    An account number in the text counts only when it passes the Luhn check our account
    numbers carry, so that trace and reference numbers of nine digits are not taken.
    """
    reference = transaction.customer_reference
    if reference and not (scan_line and reference.replace(" ", "") == scan_line.digits):
        return reference
    if scan_line is not None:
        return scan_line.account_number
    for match in _ACCOUNT_TOKEN.finditer(transaction.text or ""):
        if is_account_number(match.group()):
            return match.group()
    return None
