"""Lockbox parser against the FundersClub sample and hand-built files with mistakes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from app.payments.remittance.lockbox import parse_lockbox
from app.payments.remittance.model import RemittanceFile

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "payments"
    / "lockbox"
    / "fundersclub-bai-lockbox_test_lockbox.bai"
)

HEADER = "100ABCDEFGHIJ00999999912611301800"
SERVICE = "2ABCDEFGHIJ0099999991000000000040008000801"
BATCH_HEADER = "50010000022222261130ABCDEFGHIJ0099999991"


def detail(item: str, amount: str, check: str = "0000000180", account: str = "0012345555") -> str:
    """A check detail record of batch 001; `amount` is the 10-character cents field."""
    return (
        f"6001{item}{amount}055002707{account}{check}112826"
        f"{'JANE Q PAYER':<30}{'RIVERBEND UTILITIES':<20}"
    )


def overflow(item: str, text: str, last: str = "9") -> str:
    return f"4001{item}601{last}{text}"


def batch_total(count: int, cents: int) -> str:
    return f"70010000022222261130{count:03d}{cents:010d}"


def lockbox_total(count: int, cents: int) -> str:
    return f"80000000022222261130{count:04d}{cents:010d}"


def build(*body: str) -> str:
    records = [HEADER, SERVICE, BATCH_HEADER, *body]
    return "\n".join([*records, f"9{len(records) + 1:06d}"]) + "\n"


def error_codes(parsed: RemittanceFile) -> list[tuple[int, str]]:
    return [(error.line_number, error.code) for error in parsed.errors]


def test_sample_has_one_check():
    parsed = parse_lockbox(SAMPLE.read_bytes())
    (item,) = parsed.items

    assert parsed.errors == ()
    assert item.line_number == 4
    assert item.payer_name == "BOB E SMITH"
    assert item.check_number == "180"
    assert item.check_date == date(2016, 5, 16)
    assert item.amount == Decimal("7000.00")


def test_sample_invoice_comes_from_overflow():
    # Record 4 "40010016019CE554": batch 001, item 001, continues a type 6 record,
    # sequence 01, last flag 9, then the text "CE554".
    (item,) = parse_lockbox(SAMPLE.read_bytes()).items

    assert item.account_reference == "CE554"
    assert item.memo == "CE554"


def test_sample_deposit_date_and_reference():
    (item,) = parse_lockbox(SAMPLE.read_bytes()).items

    assert item.paid_on == date(2016, 5, 23)
    assert item.deposit_reference == "lockbox 0022222 batch 001"


def test_sample_bank_numbers_are_masked():
    (item,) = parse_lockbox(SAMPLE.read_bytes()).items

    assert item.payer_routing == "****2707"
    assert item.payer_account == "****5555"
    assert "0012345555" not in item.raw
    assert "******5555" in item.raw
    assert item.raw.endswith("\n40010016019CE554")


def test_sample_control_totals():
    control = parse_lockbox(SAMPLE.read_bytes()).control

    assert control is not None
    assert control.amount == Decimal("7000.00")
    assert control.item_count == 1
    assert control.record_count == 8


def test_built_file_parses_cleanly():
    text = build(
        detail("001", "0000008812"),
        overflow("001", "100000017"),
        batch_total(1, 8812),
        lockbox_total(1, 8812),
    )

    parsed = parse_lockbox(text)

    assert parsed.errors == ()
    assert parsed.items[0].account_reference == "100000017"
    assert parsed.items[0].paid_on == date(2026, 11, 30)
    assert parsed.items[0].check_date == date(2026, 11, 28)


def test_batch_total_mismatch_keeps_the_checks():
    text = build(
        detail("001", "0000008812"),
        detail("002", "0000002500"),
        batch_total(3, 20000),
        lockbox_total(2, 11312),
    )

    parsed = parse_lockbox(text)

    assert [item.amount for item in parsed.items] == [Decimal("88.12"), Decimal("25.00")]
    assert error_codes(parsed) == [(6, "lockbox_batch_total_mismatch")]
    message = parsed.errors[0].message
    assert "says 3 check(s) for 200.00" in message
    assert "the file has 2 check(s) for 113.12" in message


def test_malformed_amount_keeps_nothing_from_the_check():
    text = build(
        detail("001", "00000O8812", check="0000000777"),
        overflow("001", "INV-BAD"),
        detail("002", "0000002500"),
        overflow("002", "INV-GOOD"),
        batch_total(2, 11312),
        lockbox_total(2, 11312),
    )

    parsed = parse_lockbox(text)

    assert [item.account_reference for item in parsed.items] == ["INV-GOOD"]
    assert all("INV-BAD" not in item.raw for item in parsed.items)
    assert all(item.check_number != "777" for item in parsed.items)
    assert (4, "lockbox_invalid_amount") in error_codes(parsed)
    assert "'00000O8812'" in parsed.errors[0].message


def test_rejected_check_is_named_in_batch_mismatch():
    text = build(
        detail("001", "00000O8812"),
        detail("002", "0000002500"),
        batch_total(2, 11312),
        lockbox_total(2, 11312),
    )

    parsed = parse_lockbox(text)
    mismatch = next(e for e in parsed.errors if e.code == "lockbox_batch_total_mismatch")

    assert "1 rejected check(s) are not in that sum" in mismatch.message


def test_zero_amount_is_rejected():
    parsed = parse_lockbox(build(detail("001", "0000000000"), batch_total(0, 0)))

    assert parsed.items == ()
    assert (4, "lockbox_invalid_amount") in error_codes(parsed)


def test_bad_overflow_rejects_its_check():
    text = build(
        detail("001", "0000008812"),
        overflow("001", "INV-1", last="X"),
        batch_total(1, 8812),
    )

    parsed = parse_lockbox(text)

    assert parsed.items == ()
    assert (5, "lockbox_invalid_overflow") in error_codes(parsed)


def test_overflow_for_another_check_is_reported():
    text = build(
        detail("001", "0000008812"),
        overflow("002", "INV-2"),
        batch_total(1, 8812),
    )

    parsed = parse_lockbox(text)

    assert len(parsed.items) == 1
    assert parsed.items[0].account_reference is None
    assert error_codes(parsed) == [(5, "lockbox_orphan_overflow")]


def test_several_overflows_join_in_order():
    text = build(
        detail("001", "0000008812"),
        overflow("001", "INV-1", last="0"),
        overflow("001", "INV-2"),
        batch_total(1, 8812),
    )

    (item,) = parse_lockbox(text).items

    assert item.account_reference == "INV-1"
    assert item.memo == "INV-1 INV-2"


def test_scan_line_in_overflow():
    text = build(
        detail("001", "0000008812"),
        overflow("001", "10000001700000012340000088126"),
        batch_total(1, 8812),
    )

    (item,) = parse_lockbox(text).items

    assert item.scan_line == "10000001700000012340000088126"
    assert item.account_reference == "100000017"


def test_letters_in_payer_account_do_not_echo_it():
    parsed = parse_lockbox(build(detail("001", "0000008812", account="00123X5555")))

    assert parsed.items == ()
    assert "00123X5555" not in " ".join(error.message for error in parsed.errors)


def test_record_count_mismatch():
    text = build(detail("001", "0000008812"), batch_total(1, 8812)).replace("9000006", "9000009")

    parsed = parse_lockbox(text)

    assert error_codes(parsed) == [(6, "lockbox_record_count_mismatch")]
    assert parsed.control is not None
    assert parsed.control.record_count == 9


def test_missing_trailer_and_batch_total():
    text = "\n".join([HEADER, SERVICE, BATCH_HEADER, detail("001", "0000008812")])

    parsed = parse_lockbox(text)

    assert len(parsed.items) == 1
    assert [code for _, code in error_codes(parsed)] == [
        "lockbox_missing_total",
        "lockbox_missing_trailer",
    ]


def test_unknown_record_type():
    parsed = parse_lockbox(build(detail("001", "0000008812"), "3XYZ", batch_total(1, 8812)))

    assert len(parsed.items) == 1
    assert (5, "lockbox_unknown_record") in error_codes(parsed)


def test_check_outside_a_batch_is_rejected():
    text = "\n".join([HEADER, SERVICE, detail("001", "0000008812"), "9000004"])

    parsed = parse_lockbox(text)

    assert parsed.items == ()
    assert error_codes(parsed) == [(3, "lockbox_out_of_order")]
