"""Payment CSV: good files, each kind of bad row, header problems and encodings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.payments.remittance.csv_format import parse_payment_csv
from app.payments.remittance.model import RemittanceFile

HEADER = "account_number,scan_line,amount,paid_on,check_number,payer_name,reference"
SCAN_LINE = "100000017 0000001234 000008812 6"


def error_codes(parsed: RemittanceFile) -> list[tuple[int, str]]:
    return [(error.line_number, error.code) for error in parsed.errors]


def test_good_file():
    text = "\n".join(
        [
            HEADER,
            "100000017,,88.12,2026-11-30,1001,Ann Lee,DEP-7",
            f',{SCAN_LINE},"1,234.50",2026-12-01,,,',
            "200000015,,5,2026-12-02,,,",
        ]
    )

    parsed = parse_payment_csv(text)

    assert parsed.format == "csv"
    assert parsed.errors == ()
    assert parsed.control is None
    first, second, third = parsed.items
    assert first.line_number == 2
    assert first.amount == Decimal("88.12")
    assert first.account_reference == "100000017"
    assert first.paid_on == date(2026, 11, 30)
    assert first.check_number == "1001"
    assert first.payer_name == "Ann Lee"
    assert first.deposit_reference == "DEP-7"
    assert first.raw == "100000017,,88.12,2026-11-30,1001,Ann Lee,DEP-7"
    assert second.amount == Decimal("1234.50")
    assert second.scan_line == "10000001700000012340000088126"
    assert second.account_reference == "100000017"
    assert third.amount == Decimal("5.00")


def test_minimal_columns_in_any_order():
    parsed = parse_payment_csv("Paid_On , AMOUNT,account_number\n2026-11-30,12.5,100000017\n")

    assert parsed.errors == ()
    assert parsed.items[0].amount == Decimal("12.50")


def test_bad_rows_are_reported_and_good_rows_kept():
    text = "\n".join(
        [
            HEADER,
            "100000017,,88.12,2026-11-30,,,",
            "100000017,,88.1x,2026-11-30,,,",
            ",,10.00,2026-11-30,,,",
            "100000017,,10.00,11/30/2026,,,",
            ",100000017 0000001234 000008812 7,10.00,2026-11-30,,,",
            "200000015,,20.00,2026-11-30,,,",
        ]
    )

    parsed = parse_payment_csv(text)

    # Line 4 names no account: it is kept as an item for the suspense queue.
    assert [item.line_number for item in parsed.items] == [2, 4, 7]
    assert parsed.items[1].account_reference is None
    assert parsed.items[1].scan_line is None
    assert error_codes(parsed) == [
        (3, "csv_invalid_amount"),
        (5, "csv_invalid_date"),
        (6, "csv_invalid_scan_line"),
    ]


def test_error_messages_name_the_value_and_the_fix():
    text = "\n".join(
        [
            HEADER,
            "100000017,,88.1x,2026-11-30,,,",
            "100000017,,10.00,11/30/2026,,,",
            ",100000017 0000001234 000008812 7,10.00,2026-11-30,,,",
        ]
    )

    amount, paid_on, scan_line = (error.message for error in parse_payment_csv(text).errors)

    assert "'88.1x'" in amount
    assert "e.g. 88.12" in amount
    assert "'11/30/2026'" in paid_on
    assert "YYYY-MM-DD" in paid_on
    assert "fails its check digit" in scan_line


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        ("88.123", "more than two decimals"),
        ("-5.00", "negative"),
        ("(5.00)", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("1e3", "not a dollar amount"),
        ("12,34", "not a dollar amount"),
        ("", "empty"),
        ("10000000000.00", "largest the ledger"),
    ],
)
def test_rejected_amounts(amount: str, fragment: str):
    parsed = parse_payment_csv(f'account_number,amount,paid_on\n100000017,"{amount}",2026-11-30\n')

    assert parsed.items == ()
    assert error_codes(parsed) == [(2, "csv_invalid_amount")]
    assert fragment in parsed.errors[0].message


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("88.12", "88.12"),
        ("88.1", "88.10"),
        ("88", "88.00"),
        ("1,234,567.89", "1234567.89"),
        ("$45.00", "45.00"),
        ("0.01", "0.01"),
    ],
)
def test_accepted_amounts(amount: str, expected: str):
    parsed = parse_payment_csv(f'account_number,amount,paid_on\n100000017,"{amount}",2026-11-30\n')

    assert parsed.errors == ()
    assert parsed.items[0].amount == Decimal(expected)
    assert str(parsed.items[0].amount) == expected


def test_impossible_date():
    parsed = parse_payment_csv("account_number,amount,paid_on\n100000017,1.00,2026-02-30\n")

    assert error_codes(parsed) == [(2, "csv_invalid_date")]
    assert "not a real date" in parsed.errors[0].message


def test_every_problem_in_a_row_is_reported():
    parsed = parse_payment_csv("account_number,amount,paid_on\n,abc,yesterday\n")

    assert error_codes(parsed) == [
        (2, "csv_invalid_amount"),
        (2, "csv_invalid_date"),
    ]


def test_scan_line_must_match_account_number():
    parsed = parse_payment_csv(
        f"account_number,scan_line,amount,paid_on\n200000015,{SCAN_LINE},1.00,2026-11-30\n"
    )

    assert error_codes(parsed) == [(2, "csv_account_mismatch")]


def test_unknown_column_is_one_error_naming_it():
    parsed = parse_payment_csv(
        "account_number,amount,paid_on,memo,Notes\n100000017,1.00,2026-11-30,x,y\n"
    )

    assert parsed.items == ()
    assert error_codes(parsed) == [(1, "csv_unknown_column")]
    assert "'memo', 'notes'" in parsed.errors[0].message


def test_missing_required_columns_is_one_error():
    parsed = parse_payment_csv("payer_name,check_number\nAnn,12\nBob,13\n")

    assert parsed.items == ()
    assert error_codes(parsed) == [(1, "csv_missing_column")]
    assert "amount, paid_on, account_number or scan_line" in parsed.errors[0].message


def test_repeated_column():
    parsed = parse_payment_csv("amount,paid_on,amount,account_number\n")

    assert error_codes(parsed) == [(1, "csv_repeated_column")]


def test_empty_file():
    parsed = parse_payment_csv("")

    assert parsed.items == ()
    assert error_codes(parsed) == [(0, "csv_empty")]


def test_blank_lines_only():
    parsed = parse_payment_csv("\n \n,,\n")

    assert error_codes(parsed) == [(1, "csv_empty")]


def test_header_only_has_no_items_and_no_errors():
    parsed = parse_payment_csv("account_number,amount,paid_on\n")

    assert parsed.items == ()
    assert parsed.errors == ()


def test_utf8_byte_order_mark():
    data = "\ufeffaccount_number,amount,paid_on,payer_name\n100000017,1.00,2026-11-30,José\n"

    parsed = parse_payment_csv(data.encode("utf-8"))

    assert parsed.errors == ()
    assert parsed.items[0].payer_name == "José"


def test_crlf_line_endings():
    data = b"account_number,amount,paid_on\r\n100000017,1.00,2026-11-30\r\n\r\nx,bad,2026-11-30\r\n"

    parsed = parse_payment_csv(data)

    assert parsed.items[0].raw == "100000017,1.00,2026-11-30"
    assert error_codes(parsed) == [(4, "csv_invalid_amount")]


def test_quoted_line_break_keeps_line_numbers():
    text = (
        "account_number,amount,paid_on,payer_name\n"
        '100000017,1.00,2026-11-30,"Ann\nLee"\n'
        "100000017,bad,2026-11-30,Bob\n"
    )

    parsed = parse_payment_csv(text)

    assert parsed.items[0].raw == '100000017,1.00,2026-11-30,"Ann\nLee"'
    assert error_codes(parsed) == [(4, "csv_invalid_amount")]


def test_wrong_field_count():
    parsed = parse_payment_csv("account_number,amount,paid_on\n100000017,1,234.50,2026-11-30\n")

    assert error_codes(parsed) == [(2, "csv_field_count")]
    assert "4 values but the header has 3 columns" in parsed.errors[0].message


def test_latin1_bytes_still_parse():
    data = "account_number,amount,paid_on,payer_name\n100000017,1.00,2026-11-30,José\n"

    parsed = parse_payment_csv(data.encode("latin-1"))

    assert parsed.items[0].payer_name == "José"


def test_documented_example_parses():
    docs = Path(__file__).resolve().parents[2] / "docs" / "payment-files.md"
    example = docs.read_text().split("```csv\n", 1)[1].split("```", 1)[0]

    parsed = parse_payment_csv(example)

    assert parsed.errors == ()
    assert [item.amount for item in parsed.items] == [
        Decimal("88.12"),
        Decimal("1234.50"),
        Decimal("45.00"),
    ]
    assert parsed.items[1].account_reference == "100000025"
