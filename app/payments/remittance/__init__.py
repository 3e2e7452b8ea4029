"""Parsers for the payment files a utility receives, with one common output model.

Pure: standard library only, no database and no web. Each parser takes the file's
text or bytes and returns a `RemittanceFile` of `RemittanceItem`s and `LineError`s.
The caller matches items to accounts and posts them. docs/payment-files.md describes
the formats.
"""

from app.payments.remittance.bai2 import (
    PAYMENT_TYPES,
    Bai2Account,
    Bai2File,
    Bai2FileHeader,
    Bai2Group,
    Bai2Summary,
    Bai2Transaction,
    FundsAvailability,
    PaymentType,
    parse_bai2,
)
from app.payments.remittance.csv_format import COLUMNS, parse_payment_csv
from app.payments.remittance.detect import detect_format, parse_remittance
from app.payments.remittance.lockbox import parse_lockbox
from app.payments.remittance.model import (
    ControlTotals,
    FormatName,
    LineError,
    RemittanceFile,
    RemittanceItem,
    Severity,
)
from app.payments.remittance.scanline import (
    ScanLine,
    ScanLineError,
    damm_check_digit,
    find_scan_line,
    format_scan_line,
    is_account_number,
    parse_scan_line,
)

__all__ = [
    "COLUMNS",
    "PAYMENT_TYPES",
    "Bai2Account",
    "Bai2File",
    "Bai2FileHeader",
    "Bai2Group",
    "Bai2Summary",
    "Bai2Transaction",
    "ControlTotals",
    "FormatName",
    "FundsAvailability",
    "LineError",
    "PaymentType",
    "RemittanceFile",
    "RemittanceItem",
    "ScanLine",
    "ScanLineError",
    "Severity",
    "damm_check_digit",
    "detect_format",
    "find_scan_line",
    "format_scan_line",
    "is_account_number",
    "parse_bai2",
    "parse_lockbox",
    "parse_payment_csv",
    "parse_remittance",
    "parse_scan_line",
]
