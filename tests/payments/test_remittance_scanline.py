"""Scan line: round trip, the check digit's error detection, and clear rejections."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.payments.remittance.scanline import (
    SCAN_LINE_DIGITS,
    ScanLineError,
    damm_check_digit,
    find_scan_line,
    format_scan_line,
    is_account_number,
    parse_scan_line,
)

ACCOUNT = "100000017"


def luhn_complete(base: str) -> str:
    """Append the Luhn check digit to eight digits, the way account numbers are issued."""
    for check in "0123456789":
        if is_account_number(base + check):
            return base + check
    raise AssertionError(f"no Luhn check digit for {base}")


accounts = st.integers(min_value=10_000_000, max_value=99_999_999).map(
    lambda base: luhn_complete(str(base))
)
bill_ids = st.integers(min_value=1, max_value=9_999_999_999)
amounts = st.integers(min_value=0, max_value=999_999_999).map(lambda cents: Decimal(cents) / 100)


def test_format_prints_four_groups():
    line = format_scan_line(ACCOUNT, 1234, Decimal("88.12"))

    assert line == "100000017 0000001234 000008812 6"


def test_parse_reads_each_field():
    scan_line = parse_scan_line("100000017 0000001234 000008812 6")

    assert scan_line.account_number == ACCOUNT
    assert scan_line.bill_id == 1234
    assert scan_line.amount_due == Decimal("88.12")
    assert scan_line.check_digit == "6"
    assert scan_line.digits == "10000001700000012340000088126"
    assert len(scan_line.digits) == SCAN_LINE_DIGITS


def test_parse_ignores_spaces_and_tabs():
    scan_line = parse_scan_line("  1000 00017\t000000 1234 0000 08812 6 ")

    assert scan_line.bill_id == 1234


def test_zero_amount_due_round_trips():
    line = format_scan_line(ACCOUNT, 7, Decimal("0"))

    assert parse_scan_line(line).amount_due == Decimal("0.00")


@given(account=accounts, bill_id=bill_ids, amount=amounts)
def test_round_trip(account: str, bill_id: int, amount: Decimal):
    scan_line = parse_scan_line(format_scan_line(account, bill_id, amount))

    assert scan_line.account_number == account
    assert scan_line.bill_id == bill_id
    assert scan_line.amount_due == amount


@given(account=accounts, bill_id=bill_ids, amount=amounts)
def test_every_single_digit_change_is_caught(account: str, bill_id: int, amount: Decimal):
    digits = parse_scan_line(format_scan_line(account, bill_id, amount)).digits
    for position, original in enumerate(digits):
        for replacement in "0123456789":
            if replacement == original:
                continue
            changed = digits[:position] + replacement + digits[position + 1 :]
            with pytest.raises(ScanLineError) as caught:
                parse_scan_line(changed)
            assert caught.value.code == "scan_line_check_digit", (position, replacement)


@given(account=accounts, bill_id=bill_ids, amount=amounts)
def test_every_adjacent_swap_is_caught(account: str, bill_id: int, amount: Decimal):
    digits = parse_scan_line(format_scan_line(account, bill_id, amount)).digits
    for position in range(len(digits) - 1):
        first, second = digits[position], digits[position + 1]
        if first == second:
            continue
        swapped = digits[:position] + second + first + digits[position + 2 :]
        with pytest.raises(ScanLineError) as caught:
            parse_scan_line(swapped)
        assert caught.value.code == "scan_line_check_digit", position


def test_swap_of_09_and_90_is_caught():
    # Luhn misses exactly this swap; the reason the scan line uses Damm's algorithm.
    body_09 = "1000000170000000009000000001"
    body_90 = "1000000170000000090000000001"

    assert damm_check_digit(body_09) != damm_check_digit(body_90)


def test_damm_known_value():
    assert damm_check_digit("572") == "4"


def test_damm_table_detects_all_single_and_adjacent_errors():
    # Every interim digit is reached by some one-digit prefix, so checking all prefixes
    # of length one covers every row of the table.
    for prefix in "0123456789":
        for x in "0123456789":
            for y in "0123456789":
                if x == y:
                    continue
                assert damm_check_digit(prefix + x) != damm_check_digit(prefix + y)
                assert damm_check_digit(prefix + x + y) != damm_check_digit(prefix + y + x)


def test_wrong_check_digit_names_the_line():
    with pytest.raises(ScanLineError) as caught:
        parse_scan_line("100000017 0000001234 000008812 7")

    assert caught.value.code == "scan_line_check_digit"
    assert "100000017 0000001234 000008812 7" in str(caught.value)
    assert "key the line again" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("100000017 0000001234 000008812", "scan_line_length"),
        ("100000017 0000001234 000008812 66", "scan_line_length"),
        ("", "scan_line_length"),
        ("100000017-0000001234-000008812-6", "scan_line_characters"),
        ("10000001O 0000001234 000008812 6", "scan_line_characters"),
    ],
)
def test_malformed_text_is_rejected(text: str, code: str):
    with pytest.raises(ScanLineError) as caught:
        parse_scan_line(text)

    assert caught.value.code == code


def test_account_failing_luhn_is_rejected():
    body = "100000018" + "0000001234" + "000008812"
    text = body + damm_check_digit(body)

    with pytest.raises(ScanLineError) as caught:
        parse_scan_line(text)

    assert caught.value.code == "scan_line_account_number"


def test_bill_number_zero_is_rejected():
    body = ACCOUNT + "0000000000" + "000008812"

    with pytest.raises(ScanLineError) as caught:
        parse_scan_line(body + damm_check_digit(body))

    assert caught.value.code == "scan_line_bill_id"


@pytest.mark.parametrize(
    ("account", "bill_id", "amount", "code"),
    [
        ("100000018", 1, Decimal("1.00"), "scan_line_account_number"),
        ("10000001", 1, Decimal("1.00"), "scan_line_account_number"),
        (ACCOUNT, 0, Decimal("1.00"), "scan_line_bill_id"),
        (ACCOUNT, 10_000_000_000, Decimal("1.00"), "scan_line_bill_id"),
        (ACCOUNT, 1, Decimal("-0.01"), "scan_line_amount"),
        (ACCOUNT, 1, Decimal("1.005"), "scan_line_amount"),
        (ACCOUNT, 1, Decimal("10000000.00"), "scan_line_amount"),
    ],
)
def test_format_rejects_what_does_not_fit(account: str, bill_id: int, amount: Decimal, code: str):
    with pytest.raises(ScanLineError) as caught:
        format_scan_line(account, bill_id, amount)

    assert caught.value.code == code


def test_largest_amount_fits():
    line = format_scan_line(ACCOUNT, 9_999_999_999, Decimal("9999999.99"))

    assert parse_scan_line(line).amount_due == Decimal("9999999.99")


def test_find_scan_line_in_free_text():
    digits = parse_scan_line(format_scan_line(ACCOUNT, 55, Decimal("12.34"))).digits

    found = find_scan_line(f"PAYMENT REF {digits} THANK YOU")

    assert found is not None
    assert found.bill_id == 55
    assert find_scan_line("REF 12345678901234567890123456789") is None
    assert find_scan_line(None) is None
