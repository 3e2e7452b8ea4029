"""Parse BAI lockbox transmission files: one payment item per check.

The format has fixed-width records, one per line. The first character is the record type:

    1  header            priority, destination, origin, processing date YYMMDD and time
    2  service record    reference code, service type, record size, blocking factor
    5  batch header      batch number, lockbox number, deposit date YYMMDD
    6  check detail      batch, item, amount in cents, payer routing and account
                         numbers, check number, check date MMDDYY, remitter, payee
    4  overflow          batch and item of the check it continues, sequence number,
                         "9" on the last overflow, then free text (the invoice number)
    7  batch total       batch, lockbox, deposit date, check count, amount in cents
    8  lockbox total     lockbox, deposit date, check count, amount in cents
    9  trailer           number of records in the file, this one included

The column positions are those of `_DETAIL` and the other layouts below. Banks trim
trailing spaces, so short lines are padded with spaces before they are read.

A check (6) with a malformed field, or with a malformed overflow (4), is rejected
whole: nothing from it becomes an item. Totals that disagree with the checks are
errors, but the checks are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time

from app.payments.remittance._text import (
    cents_to_dollars,
    decode,
    format_dollars,
    mask_last4,
    split_lines,
)
from app.payments.remittance.model import (
    ControlTotals,
    LineError,
    RemittanceFile,
    RemittanceItem,
)
from app.payments.remittance.scanline import find_scan_line

__all__ = ["parse_lockbox"]

RECORD_WIDTH = 104

# Column slices (0-based, end exclusive) of each record layout.
_HEADER_DATE = slice(23, 29)
_HEADER_TIME = slice(29, 33)
_BATCH_NUMBER = slice(1, 4)
_ITEM_NUMBER = slice(4, 7)
_LOCKBOX_NUMBER = slice(7, 14)
_DEPOSIT_DATE = slice(14, 20)
_DETAIL = {
    "amount": slice(7, 17),
    "routing": slice(17, 26),
    "account": slice(26, 36),
    "check_number": slice(36, 46),
    "check_date": slice(46, 52),
    "remitter": slice(52, 82),
    "payee": slice(82, 102),
}
_OVERFLOW_SEQUENCE = slice(8, 10)
_OVERFLOW_LAST_FLAG = slice(10, 11)
_OVERFLOW_TEXT = slice(11, RECORD_WIDTH)
_BATCH_TOTAL_COUNT = slice(20, 23)
_BATCH_TOTAL_AMOUNT = slice(23, 33)
_LOCKBOX_TOTAL_COUNT = slice(20, 24)
_LOCKBOX_TOTAL_AMOUNT = slice(24, 34)
_TRAILER_COUNT = slice(1, 7)

_DIGITS = re.compile(r"\d+")
_REJECTED_CHECK = (
    "nothing from this check was imported; enter it by hand from the check image or "
    "ask the bank to send the file again"
)
_CHECK_WITH_FILE = "check the file with the bank before posting it"


@dataclass
class _Batch:
    line_number: int
    number: str
    lockbox_number: str
    deposit_date: date | None
    items: list[RemittanceItem] = field(default_factory=list)
    rejected: int = 0


@dataclass
class _PendingCheck:
    """A check detail waiting for its overflow records."""

    line_number: int
    batch_number: str
    item_number: str
    values: dict[str, str]
    amount_cents: int
    check_date: date | None
    raw_lines: list[str]
    overflow_texts: list[str] = field(default_factory=list)
    last_overflow_seen: bool = False
    rejected: bool = False


def parse_lockbox(data: str | bytes) -> RemittanceFile:
    """Parse a lockbox file with the layout and rules of the module docstring."""
    lines = split_lines(decode(data))
    parser = _Parser()
    for index, line in enumerate(lines):
        if line.strip():
            parser.feed(index + 1, line.ljust(RECORD_WIDTH))
    return parser.finish(last_line=max(len(lines), 1))


class _Parser:
    def __init__(self) -> None:
        self.items: list[RemittanceItem] = []
        self.errors: list[LineError] = []
        self.record_count = 0
        self.processing_date: date | None = None
        self.batch: _Batch | None = None
        self.pending: _PendingCheck | None = None
        # Checks kept and rejected since the last lockbox total record.
        self.lockbox_items: list[RemittanceItem] = []
        self.lockbox_rejected = 0
        self.control_amount: int | None = None
        self.control_count: int | None = None
        self.trailer_count: int | None = None
        self.trailer_line: int | None = None

    def feed(self, line_number: int, line: str) -> None:
        self.record_count += 1
        kind = line[0]
        if self.trailer_line is not None:
            self._error(
                line_number,
                "lockbox_after_trailer",
                f"record type {kind!r} comes after the trailer on line {self.trailer_line}, "
                "so it was skipped; ask the bank whether two files were joined",
            )
            return
        if kind == "4":
            self._overflow(line_number, line)
            return
        self._finish_pending()
        if kind == "1":
            self._header(line_number, line)
        elif kind == "2":
            pass  # The service record describes the transmission; nothing in it is needed.
        elif kind == "5":
            self._batch_header(line_number, line)
        elif kind == "6":
            self._detail(line_number, line)
        elif kind == "7":
            self._batch_total(line_number, line)
        elif kind == "8":
            self._lockbox_total(line_number, line)
        elif kind == "9":
            self._trailer(line_number, line)
        else:
            self._error(
                line_number,
                "lockbox_unknown_record",
                f"record type {kind!r} is not a lockbox record type (1, 2, 4, 5, 6, 7, 8 "
                "or 9), so the line was skipped; ask the bank whether the file is damaged",
            )

    def finish(self, last_line: int) -> RemittanceFile:
        self._finish_pending()
        if self.batch is not None:
            self._error(
                last_line,
                "lockbox_missing_total",
                f"batch {self.batch.number} from line {self.batch.line_number} has no batch "
                f"total record (7), so its total could not be checked; {_CHECK_WITH_FILE}",
            )
        if self.trailer_line is None:
            self._error(
                last_line,
                "lockbox_missing_trailer",
                "the file ends without a trailer record (9), so it may be cut short; ask "
                "the bank to send the file again",
            )
        control = ControlTotals(
            amount=cents_to_dollars(self.control_amount)
            if self.control_amount is not None
            else None,
            item_count=self.control_count,
            record_count=self.trailer_count,
        )
        return RemittanceFile(
            format="lockbox",
            items=tuple(self.items),
            errors=tuple(sorted(self.errors, key=lambda error: error.line_number)),
            control=control,
        )

    def _error(self, line_number: int, code: str, message: str) -> None:
        self.errors.append(LineError(line_number, code, message))

    # 1
    def _header(self, line_number: int, line: str) -> None:
        if self.record_count != 1:
            self._error(
                line_number,
                "lockbox_out_of_order",
                "a header record (1) appears inside the file, so it was skipped; ask the "
                "bank whether two files were joined",
            )
            return
        text = line[_HEADER_DATE]
        self.processing_date = _yymmdd(text)
        if self.processing_date is None or _hhmm(line[_HEADER_TIME]) is None:
            self._error(
                line_number,
                "lockbox_invalid_date",
                f"header processing date and time {line[_HEADER_DATE.start : _HEADER_TIME.stop]!r} "
                "are not YYMMDD and HHMM; deposit dates are read from the batch headers",
            )

    # 5
    def _batch_header(self, line_number: int, line: str) -> None:
        if self.batch is not None:
            self._close_batch_without_total(line_number)
        deposit_text = line[_DEPOSIT_DATE]
        deposit_date = _yymmdd(deposit_text)
        if deposit_date is None:
            self._error(
                line_number,
                "lockbox_invalid_date",
                f"batch deposit date {deposit_text!r} is not a date in YYMMDD form, so its "
                "checks use the processing date of the file header",
            )
        self.batch = _Batch(
            line_number=line_number,
            number=line[_BATCH_NUMBER],
            lockbox_number=line[_LOCKBOX_NUMBER].strip(),
            deposit_date=deposit_date,
        )

    # 6
    def _detail(self, line_number: int, line: str) -> None:
        if self.batch is None:
            self._error(
                line_number,
                "lockbox_out_of_order",
                f"check detail (6) comes outside a batch (5 to 7); {_REJECTED_CHECK}",
            )
            self.lockbox_rejected += 1
            return
        values = {name: line[columns] for name, columns in _DETAIL.items()}
        problems = _detail_problems(line[_BATCH_NUMBER], line[_ITEM_NUMBER], values)
        check_date = _mmddyy(values["check_date"])
        if values["check_date"].strip("0 ") and check_date is None:
            problems.append(
                (
                    "lockbox_invalid_date",
                    f"check date {values['check_date']!r} is not a date in MMDDYY form",
                )
            )
        if problems:
            for code, problem in problems:
                self._error(line_number, code, f"{problem}; {_REJECTED_CHECK}")
            self.batch.rejected += 1
            self.lockbox_rejected += 1
            return
        self.pending = _PendingCheck(
            line_number=line_number,
            batch_number=line[_BATCH_NUMBER],
            item_number=line[_ITEM_NUMBER],
            values=values,
            amount_cents=int(values["amount"]),
            check_date=check_date,
            raw_lines=[_mask_account_columns(line).rstrip()],
        )

    # 4
    def _overflow(self, line_number: int, line: str) -> None:
        pending = self.pending
        batch_number, item_number = line[_BATCH_NUMBER], line[_ITEM_NUMBER]
        if pending is None or (batch_number, item_number) != (
            pending.batch_number,
            pending.item_number,
        ):
            self._error(
                line_number,
                "lockbox_orphan_overflow",
                f"overflow record for batch {batch_number!r} item {item_number!r} does not "
                "follow that check, so its text was not attached to any payment; "
                f"{_CHECK_WITH_FILE}",
            )
            return
        pending.raw_lines.append(line.rstrip())
        sequence, flag = line[_OVERFLOW_SEQUENCE], line[_OVERFLOW_LAST_FLAG]
        problem = None
        if not _DIGITS.fullmatch(sequence):
            problem = f"overflow sequence number {sequence!r} is not two digits"
        elif flag not in ("0", "9"):
            problem = f"overflow last-record flag {flag!r} is not 0 or 9"
        elif pending.last_overflow_seen:
            problem = "overflow record follows the one marked last (9) for this check"
        if problem is not None:
            self._error(
                line_number,
                "lockbox_invalid_overflow",
                f"{problem}, so the check on line {pending.line_number} is incomplete; "
                f"{_REJECTED_CHECK}",
            )
            pending.rejected = True
            return
        pending.last_overflow_seen = flag == "9"
        text = line[_OVERFLOW_TEXT].strip()
        if text:
            pending.overflow_texts.append(text)

    def _finish_pending(self) -> None:
        pending, batch = self.pending, self.batch
        self.pending = None
        if pending is None or batch is None:
            return
        if pending.rejected:
            batch.rejected += 1
            self.lockbox_rejected += 1
            return
        item = _item(pending, batch, self.processing_date)
        batch.items.append(item)
        self.lockbox_items.append(item)
        self.items.append(item)

    # 7
    def _batch_total(self, line_number: int, line: str) -> None:
        batch = self.batch
        if batch is None:
            self._error(
                line_number,
                "lockbox_out_of_order",
                "batch total (7) has no batch header (5) before it, so it was skipped; "
                "ask the bank whether the file is damaged",
            )
            return
        self._check_totals(
            line_number,
            f"batch {batch.number} total",
            line[_BATCH_TOTAL_COUNT],
            line[_BATCH_TOTAL_AMOUNT],
            batch.items,
            batch.rejected,
            "lockbox_batch_total_mismatch",
        )
        self.batch = None

    # 8
    def _lockbox_total(self, line_number: int, line: str) -> None:
        if self.batch is not None:
            self._close_batch_without_total(line_number)
        count, amount = self._check_totals(
            line_number,
            f"lockbox {line[_LOCKBOX_NUMBER].strip()} total",
            line[_LOCKBOX_TOTAL_COUNT],
            line[_LOCKBOX_TOTAL_AMOUNT],
            self.lockbox_items,
            self.lockbox_rejected,
            "lockbox_total_mismatch",
        )
        if count is not None:
            self.control_count = (self.control_count or 0) + count
        if amount is not None:
            self.control_amount = (self.control_amount or 0) + amount
        self.lockbox_items = []
        self.lockbox_rejected = 0

    # 9
    def _trailer(self, line_number: int, line: str) -> None:
        self.trailer_line = line_number
        text = line[_TRAILER_COUNT]
        if not _DIGITS.fullmatch(text):
            self._error(
                line_number,
                "lockbox_invalid_total",
                f"trailer record count {text!r} is not a number, so the record count "
                f"could not be checked; {_CHECK_WITH_FILE}",
            )
            return
        self.trailer_count = int(text)
        if self.trailer_count != self.record_count:
            self._error(
                line_number,
                "lockbox_record_count_mismatch",
                f"trailer counts {self.trailer_count} records, but the file has "
                f"{self.record_count}; {_CHECK_WITH_FILE}",
            )

    def _check_totals(
        self,
        line_number: int,
        label: str,
        count_text: str,
        amount_text: str,
        items: list[RemittanceItem],
        rejected: int,
        code: str,
    ) -> tuple[int | None, int | None]:
        """Compare a total record with the checks it covers, and return its count and cents."""
        if not _DIGITS.fullmatch(count_text) or not _DIGITS.fullmatch(amount_text):
            self._error(
                line_number,
                "lockbox_invalid_total",
                f"{label} has count {count_text!r} and amount {amount_text!r}, which are "
                f"not both numbers, so it could not be checked; {_CHECK_WITH_FILE}",
            )
            return None, None
        count, cents = int(count_text), int(amount_text)
        kept_count = len(items)
        kept_total = sum((item.amount for item in items), start=cents_to_dollars(0))
        if count != kept_count or cents_to_dollars(cents) != kept_total:
            note = f", and {rejected} rejected check(s) are not in that sum" if rejected else ""
            self._error(
                line_number,
                code,
                f"{label} says {count} check(s) for {format_dollars(cents_to_dollars(cents))}, "
                f"but the file has {kept_count} check(s) for {format_dollars(kept_total)}"
                f"{note}; {_CHECK_WITH_FILE}",
            )
        return count, cents

    def _close_batch_without_total(self, line_number: int) -> None:
        batch = self.batch
        if batch is None:
            return
        self._error(
            line_number,
            "lockbox_missing_total",
            f"batch {batch.number} from line {batch.line_number} has no batch total record "
            f"(7), so its total could not be checked; {_CHECK_WITH_FILE}",
        )
        self.batch = None


def _detail_problems(
    batch_number: str, item_number: str, values: dict[str, str]
) -> list[tuple[str, str]]:
    """List the error code and message of each malformed field of a check detail."""
    problems: list[tuple[str, str]] = []
    if not _DIGITS.fullmatch(batch_number) or not _DIGITS.fullmatch(item_number):
        problems.append(
            (
                "lockbox_invalid_number",
                f"batch number {batch_number!r} and item number {item_number!r} must be digits",
            )
        )
    amount = values["amount"]
    if not _DIGITS.fullmatch(amount):
        problems.append(
            ("lockbox_invalid_amount", f"check amount {amount!r} is not a whole number of cents")
        )
    elif int(amount) == 0:
        problems.append(("lockbox_invalid_amount", "check amount is zero"))
    for name, label in (("routing", "routing number"), ("account", "account number")):
        text = values[name].strip()
        if text and not _DIGITS.fullmatch(text):
            # The value is not repeated, because it may be a bank account number.
            problems.append(
                ("lockbox_invalid_bank_number", f"payer {label} has characters other than digits")
            )
    return problems


def _item(pending: _PendingCheck, batch: _Batch, processing_date: date | None) -> RemittanceItem:
    values = pending.values
    check_number = values["check_number"].strip().lstrip("0") or None
    memo = " ".join(pending.overflow_texts) or None
    scan_line = find_scan_line(memo)
    if scan_line is not None:
        account_reference: str | None = scan_line.account_number
    else:
        account_reference = memo.split()[0] if memo else None
    return RemittanceItem(
        line_number=pending.line_number,
        amount=cents_to_dollars(pending.amount_cents),
        raw="\n".join(pending.raw_lines),
        account_reference=account_reference,
        scan_line=scan_line.digits if scan_line else None,
        check_number=check_number,
        payer_name=values["remitter"].strip() or None,
        paid_on=batch.deposit_date or processing_date,
        check_date=pending.check_date,
        payer_routing=mask_last4(values["routing"]),
        payer_account=mask_last4(values["account"]),
        deposit_reference=f"lockbox {batch.lockbox_number} batch {pending.batch_number}",
        memo=memo,
    )


def _mask_account_columns(line: str) -> str:
    """Hide all but the last four digits of the payer account number, keeping the width."""
    columns = _DETAIL["account"]
    account = line[columns]
    digits = account.strip()
    masked = ("*" * max(len(digits) - 4, 0) + digits[-4:]).rjust(len(account))
    return line[: columns.start] + masked + line[columns.stop :]


def _yymmdd(text: str) -> date | None:
    if not _DIGITS.fullmatch(text) or len(text) != 6:
        return None
    return _date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def _mmddyy(text: str) -> date | None:
    if not _DIGITS.fullmatch(text) or len(text) != 6:
        return None
    return _date(2000 + int(text[4:6]), int(text[:2]), int(text[2:4]))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _hhmm(text: str) -> time | None:
    if not _DIGITS.fullmatch(text) or len(text) != 4:
        return None
    try:
        return time(int(text[:2]), int(text[2:]))
    except ValueError:
        return None
