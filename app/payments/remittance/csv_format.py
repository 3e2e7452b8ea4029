"""Parse the payment CSV that upm defines for banks and clerks (docs/payment-files.md).

Each data row becomes one `RemittanceItem` or one or more `LineError`s, so a bad row
never stops the rest of the file. A header problem (an unknown, repeated or missing
column) is one error for the whole file, and then no row is read.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

from app.payments.remittance._text import decode, split_lines
from app.payments.remittance.model import LineError, RemittanceFile, RemittanceItem
from app.payments.remittance.scanline import ScanLineError, parse_scan_line

__all__ = ["COLUMNS", "parse_payment_csv"]

COLUMNS = (
    "account_number",
    "scan_line",
    "amount",
    "paid_on",
    "check_number",
    "payer_name",
    "reference",
)
REQUIRED_COLUMNS = ("amount", "paid_on")
ACCOUNT_COLUMNS = ("account_number", "scan_line")
# The largest amount a NUMERIC(12,2) ledger column stores.
MAX_AMOUNT = Decimal("9999999999.99")

# Dollars: digits, or digits grouped by commas in threes, then at most two decimals.
_AMOUNT = re.compile(r"\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_TOO_MANY_DECIMALS = re.compile(r"\$?[\d,]*\.\d{3,}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXAMPLE_HEADER = "account_number,amount,paid_on"


def parse_payment_csv(data: str | bytes) -> RemittanceFile:
    """Parse a payment CSV file, as docs/payment-files.md describes its columns and rules."""
    text = decode(data)
    lines = split_lines(text)
    rows = _read_rows(text)
    if not rows:
        return _file_error(
            0 if not lines else 1,
            "csv_empty",
            "the file has no header row; start it with a header such as "
            f"'{_EXAMPLE_HEADER}' and add one row per payment",
        )

    header_line, _, header = rows[0]
    columns = [name.strip().lower() for name in header]
    header_error = _header_error(columns)
    if header_error is not None:
        return _file_error(header_line, *header_error)

    items: list[RemittanceItem] = []
    errors: list[LineError] = []
    for line_number, end_line, fields in rows[1:]:
        raw = "\n".join(lines[line_number - 1 : end_line])
        outcome = _parse_row(line_number, fields, columns, raw)
        if isinstance(outcome, RemittanceItem):
            items.append(outcome)
        else:
            errors.extend(outcome)
    return RemittanceFile(format="csv", items=tuple(items), errors=tuple(errors), control=None)


def _read_rows(text: str) -> list[tuple[int, int, list[str]]]:
    """Return each non-blank row with its first and last physical line numbers.

    A quoted field may hold a line break, so a row can span several lines.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, int, list[str]]] = []
    previous_end = 0
    for fields in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if any(field.strip() for field in fields):
            rows.append((start, reader.line_num, fields))
    return rows


def _file_error(line_number: int, code: str, message: str) -> RemittanceFile:
    return RemittanceFile(
        format="csv",
        items=(),
        errors=(LineError(line_number, code, message),),
        control=None,
    )


def _header_error(columns: list[str]) -> tuple[str, str] | None:
    """Return the code and message for a header that cannot be read, or None."""
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        return (
            "csv_unknown_column",
            f"the header has unknown column(s) {listed}; rename them to one of "
            f"{', '.join(COLUMNS)}, or remove them",
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        return (
            "csv_repeated_column",
            f"the header repeats column(s) {', '.join(repeated)}; keep one of each",
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if not any(name in columns for name in ACCOUNT_COLUMNS):
        missing.append("account_number or scan_line")
    if missing:
        return (
            "csv_missing_column",
            f"the header lacks the required column(s) {', '.join(missing)}; add them, "
            f"e.g. '{_EXAMPLE_HEADER}'",
        )
    return None


def _parse_row(
    line_number: int, fields: list[str], columns: list[str], raw: str
) -> RemittanceItem | list[LineError]:
    """Return the row's item, or one error for each problem found in it."""
    if len(fields) != len(columns):
        return [
            LineError(
                line_number,
                "csv_field_count",
                f"the row has {len(fields)} values but the header has {len(columns)} "
                f"columns ({', '.join(columns)}); add or remove values so they line up",
            )
        ]
    row = {name: value.strip() for name, value in zip(columns, fields, strict=True)}
    problems: list[tuple[str, str]] = []

    amount = _parse_amount(row["amount"], problems)
    paid_on = _parse_date(row["paid_on"], problems)
    account_number = row.get("account_number") or None
    scan_line_text = row.get("scan_line") or None
    scan_line = None
    # A row with neither is still money received, such as a check that came without
    # its stub: it becomes an item with no reference, and the importer queues it in
    # suspense for a clerk.
    if scan_line_text is not None:
        try:
            scan_line = parse_scan_line(scan_line_text)
        except ScanLineError as error:
            problems.append(("csv_invalid_scan_line", str(error)))
    if scan_line is not None and account_number is not None:
        if account_number.replace(" ", "").replace("-", "") != scan_line.account_number:
            problems.append(
                (
                    "csv_account_mismatch",
                    f"account_number {account_number} does not match account "
                    f"{scan_line.account_number} in the scan line; correct one of them, "
                    "or leave account_number empty",
                )
            )

    if problems:
        return [LineError(line_number, code, message) for code, message in problems]
    assert amount is not None
    assert paid_on is not None
    return RemittanceItem(
        line_number=line_number,
        amount=amount,
        raw=raw,
        account_reference=account_number or (scan_line.account_number if scan_line else None),
        scan_line=scan_line.digits if scan_line else None,
        check_number=row.get("check_number") or None,
        payer_name=row.get("payer_name") or None,
        paid_on=paid_on,
        deposit_reference=row.get("reference") or None,
    )


def _parse_amount(text: str, problems: list[tuple[str, str]]) -> Decimal | None:
    if not text:
        problems.append(
            ("csv_invalid_amount", "amount is empty; enter the dollars paid, e.g. 88.12")
        )
        return None
    match = _AMOUNT.fullmatch(text)
    if match is None:
        problems.append(("csv_invalid_amount", _amount_message(text)))
        return None
    whole = match.group(1).replace(",", "")
    cents = (match.group(2) or "").ljust(2, "0")
    amount = Decimal(f"{whole}.{cents}")
    if amount == 0:
        problems.append(
            ("csv_invalid_amount", f"amount {text!r} is zero; a payment must be more than 0")
        )
        return None
    if amount > MAX_AMOUNT:
        problems.append(
            (
                "csv_invalid_amount",
                f"amount {text!r} is more than 9,999,999,999.99, the largest the ledger "
                "stores; check the value",
            )
        )
        return None
    return amount


def _amount_message(text: str) -> str:
    """Explain why an amount was rejected, for the common mistakes first."""
    if text.lstrip("$").startswith(("-", "(")):
        return (
            f"amount {text!r} is negative; a payment is more than 0, so enter refunds "
            "and returned payments as adjustments instead"
        )
    if _TOO_MANY_DECIMALS.fullmatch(text):
        return (
            f"amount {text!r} has more than two decimals; enter dollars and cents, "
            "e.g. 88.12, and round the value in the spreadsheet before saving the file"
        )
    return (
        f"amount {text!r} is not a dollar amount; write digits with at most two decimals, "
        'e.g. 88.12 or "1,234.50" (quoted when it has a thousands separator)'
    )


def _parse_date(text: str, problems: list[tuple[str, str]]) -> date | None:
    if not text:
        problems.append(("csv_invalid_date", "paid_on is empty; enter the date paid as YYYY-MM-DD"))
        return None
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            problems.append(
                (
                    "csv_invalid_date",
                    f"paid_on {text!r} is not a real date; check the month and the day",
                )
            )
            return None
    problems.append(
        (
            "csv_invalid_date",
            f"paid_on {text!r} is not a date in YYYY-MM-DD form; write it like 2026-11-30",
        )
    )
    return None
