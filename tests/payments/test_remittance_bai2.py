"""BAI2 parser against real sample files (tests/data/payments/bai2/SOURCES.md) and edge cases."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

from app.payments.remittance.bai2 import PAYMENT_TYPES, Bai2File, parse_bai2

DATA = Path(__file__).resolve().parents[1] / "data" / "payments" / "bai2"


def parse_sample(name: str) -> Bai2File:
    return parse_bai2((DATA / name).read_bytes())


def codes(parsed: Bai2File, severity: str = "error") -> list[str]:
    return [error.code for error in parsed.errors if error.severity == severity]


def test_svb_ach_credits_become_items():
    parsed = parse_sample("moj-bai2_svb_us_example.bai2")

    assert parsed.errors == ()
    assert [item.amount for item in parsed.items] == [Decimal("4901.96"), Decimal("9058.00")]
    assert [item.type_code for item in parsed.items] == ["142", "142"]
    assert [item.memo for item in parsed.items] == ["SOME PAYMENT ACH OFFSET"] * 2
    assert [item.paid_on for item in parsed.items] == [date(2022, 2, 1), date(2022, 2, 2)]
    assert [item.line_number for item in parsed.items] == [7, 16]
    assert parsed.items[0].deposit_reference == "172629"
    assert parsed.items[0].raw == "16,142,490196,,172629,/\n88,SOME PAYMENT ACH OFFSET"


def test_svb_file_control_total():
    parsed = parse_sample("moj-bai2_svb_us_example.bai2")

    assert parsed.control is not None
    assert parsed.control.amount == Decimal("2820301.96")
    assert parsed.control.group_count == 2
    assert parsed.control.record_count == 20
    assert len(parsed.groups) == 2


def test_svb_summary_after_trailing_empty_field():
    # The first 03 record ends ",,,/" (one empty field too many) before its 88s.
    parsed = parse_sample("moj-bai2_svb_us_example.bai2")
    summaries = parsed.groups[0].accounts[0].summaries

    assert [summary.type_code for summary in summaries] == (
        "010 015 040 045 072 074 100 400".split()
    )
    assert summaries[6].amount == Decimal("4901.96")
    assert summaries[6].item_count == 1


def test_citi_text_spans_continuations():
    parsed = parse_sample("moj-bai2_citi_example.bai2")
    (transaction,) = parsed.transactions

    assert parsed.errors == ()
    assert parsed.control is not None
    assert parsed.control.amount == Decimal("200.01")
    assert transaction.type_code == "191"
    assert transaction.amount == Decimal("0.01")
    assert transaction.funds.type == "V"
    assert transaction.funds.value_date == date(2015, 7, 15)
    assert transaction.bank_reference == "1234567890"
    assert transaction.customer_reference == "RP12312312312312"
    assert len(transaction.text_parts) == 7
    assert transaction.text_parts[0] == "FR:FP SIP INCOMING"
    assert transaction.text_parts[-1] == "BO:11111111 BO1:DOE JO"
    assert transaction.currency == "GBP"


def test_citi_internal_transfer_is_not_a_payment():
    parsed = parse_sample("moj-bai2_citi_example.bai2")

    assert "191" not in PAYMENT_TYPES
    assert parsed.items == ()


def test_natwest_colon_time_and_five_transactions():
    parsed = parse_sample("moj-bai2_nwb_example.bai2")

    assert parsed.errors == ()
    assert parsed.header is not None
    assert parsed.header.created_at == time(14, 59, 35)
    assert parsed.groups[0].as_of_time == time.max
    assert len(parsed.transactions) == 5
    assert parsed.control is not None
    assert parsed.control.amount == Decimal("1437.64")


def test_natwest_text_split_mid_word_keeps_parts():
    parsed = parse_sample("moj-bai2_nwb_example.bai2")
    last = parsed.transactions[-1]

    assert last.type_code == "399"
    assert last.direction == "credit"
    assert last.text_parts[0].endswith("INTERNATIONAL-5373 CLIE")
    assert last.text_parts[1] == "NT SECCY AC TFR"


def test_blank_account_trailer_amount():
    parsed = parse_sample("moj-bai2_account_trailer_amount_blank_example.bai2")
    accounts = parsed.groups[0].accounts

    assert parsed.errors == ()
    assert [account.account_number for account in accounts] == ["12345", "54321"]
    assert [account.control_total for account in accounts] == [None, None]
    assert [account.record_count for account in accounts] == [2, 2]


def test_sample1_two_accounts_seventeen_transactions():
    parsed = parse_sample("moov-bai2_sample1_cad-returned-cheques.bai2")

    assert parsed.errors == ()
    assert len(parsed.groups[0].accounts) == 2
    assert len(parsed.transactions) == 17
    assert parsed.control is not None
    assert parsed.control.amount == Decimal("12800.00")


def test_sample1_returned_cheques_are_debits():
    parsed = parse_sample("moov-bai2_sample1_cad-returned-cheques.bai2")
    returned = [t for t in parsed.transactions if t.type_code == "409"]

    assert returned[0].text == "RETURNED CHEQUE"
    assert returned[0].amount == Decimal("25.00")
    assert returned[2].text == "RTD CHQ SERVICE CHRG"
    assert {t.direction for t in returned} == {"debit"}
    assert parsed.items == ()


def test_sample2_lockbox_deposit_item():
    parsed = parse_sample("moov-bai2_sample2_spec-example_lockbox-115_continuations.bai2")
    lockbox = [item for item in parsed.items if item.memo == "LOCK BOX NO.68751"]

    assert len(lockbox) == 1
    assert lockbox[0].type_code == "115"
    assert lockbox[0].amount == Decimal("5000.00")
    assert lockbox[0].line_number == 10
    assert PAYMENT_TYPES["115"].deposit_total


def test_sample2_distributed_funds():
    parsed = parse_sample("moov-bai2_sample2_spec-example_lockbox-115_continuations.bai2")
    deposit = next(t for t in parsed.transactions if t.text == "LOCK BOX NO.68751")

    assert deposit.funds.type == "S"
    assert deposit.funds.immediate is None
    assert deposit.funds.one_day == Decimal("2000.00")
    assert deposit.funds.two_or_more_days == Decimal("3000.00")


def test_sample2_type_code_split_across_continuation():
    # "...,400,2000000,,,190/" then "88,500000,,,110,...": 190 is a type code and
    # 500000 its amount, not one field "190500000".
    parsed = parse_sample("moov-bai2_sample2_spec-example_lockbox-115_continuations.bai2")
    account = parsed.groups[0].accounts[1]
    by_code = {summary.type_code: summary for summary in account.summaries}

    assert account.account_number == "9876543210"
    assert by_code["190"].amount == Decimal("5000.00")
    assert by_code["110"].amount == Decimal("10000.00")
    assert by_code["040"].amount == Decimal("-15000.00")
    assert "190500000" not in by_code


def test_sample2_distribution_pairs():
    parsed = parse_sample("moov-bai2_sample2_spec-example_lockbox-115_continuations.bai2")
    account = parsed.groups[2].accounts[0]
    summary = next(s for s in account.summaries if s.type_code == "110")

    assert summary.item_count == 15
    assert summary.funds.type == "D"
    assert summary.funds.distributions == (
        (0, Decimal("200000.00")),
        (1, Decimal("300000.00")),
        (3, Decimal("200000.00")),
    )


def test_sample2_correction_group_not_posted():
    parsed = parse_sample("moov-bai2_sample2_spec-example_lockbox-115_continuations.bai2")

    assert codes(parsed) == []
    assert codes(parsed, "warning") == ["bai2_group_status"]
    assert parsed.groups[3].status == "3"
    assert [item.type_code for item in parsed.items] == ["115", "115", "195"]
    assert parsed.control is not None
    assert parsed.control.amount == Decimal("3454500.00")


def test_sample3_several_records_per_line():
    parsed = parse_sample("moov-bai2_sample3_multiple-records-per-line.bai2")
    on_line_3 = [t for t in parsed.transactions if t.line_number == 3]

    assert [t.amount for t in on_line_3] == [Decimal("25.00"), Decimal("5.00")]
    assert on_line_3[1].text == "TRANSFER   MSPBNA BANK        PPD"
    assert sum(len(group.accounts) for group in parsed.groups) == 15
    assert parsed.control is not None
    assert parsed.control.amount == Decimal("25084.40")
    assert parsed.control.record_count == 74


def test_sample3_counts_agree_with_wrapped_line():
    parsed = parse_sample("moov-bai2_sample3_multiple-records-per-line.bai2")
    wrapped = next(t for t in parsed.transactions if t.line_number == 18)

    assert codes(parsed) == []
    assert [(e.line_number, e.code) for e in parsed.errors] == [(19, "bai2_no_record_code")]
    assert "111111111111111" in wrapped.text_parts[1]


def test_sample5_items_survive_wrong_trailer_counts():
    parsed = parse_sample("moov-bai2_sample5-issue113_ach-returns-detail.bai2")
    errors = {(error.line_number, error.code) for error in parsed.errors}

    assert parsed.has_errors
    assert (22, "bai2_account_count_mismatch") in errors
    assert (124, "bai2_file_count_mismatch") in errors
    assert [(item.type_code, item.amount) for item in parsed.items] == [
        ("195", Decimal("11.25")),
        ("195", Decimal("500.50")),
        ("175", Decimal("5.27")),
        ("165", Decimal("50.00")),
        ("195", Decimal("37979996.24")),
    ]


def test_sample5_slash_inside_reference_is_kept():
    parsed = parse_sample("moov-bai2_sample5-issue113_ach-returns-detail.bai2")
    collection = next(item for item in parsed.items if item.type_code == "165")

    assert collection.account_reference == "AB/GS/DDFILEAB0001/DDBAB0001"
    assert collection.deposit_reference == "SPB2321284264201"
    assert collection.memo is not None
    assert collection.memo.startswith("ACH Debit Collection,Entry Description: BILL PMT; -,")


def test_sample5_tagged_account_numbers_are_masked():
    parsed = parse_sample("moov-bai2_sample5-issue113_ach-returns-detail.bai2")
    wire = parsed.items[0]

    assert "8348572423" not in wire.raw
    assert wire.memo is not None
    assert "8348572423" not in wire.memo
    assert "DACT: ****2423" in wire.memo


def test_sample5_colon_record_code_as_text():
    parsed = parse_sample("moov-bai2_sample5-issue113_ach-returns-detail.bai2")
    check_return = next(t for t in parsed.transactions if t.line_number == 62)

    assert check_return.text_parts[1] == "88:EREF: 07370568132"
    assert (63, "bai2_no_record_code") in {(e.line_number, e.code) for e in parsed.errors}


def statement(*records: str) -> str:
    """Wrap transaction records in one group and account with trailers that count them.

    The totals sum the amounts that are whole numbers, so a record with a malformed
    amount also shows up as a total mismatch.
    """
    amounts = 0
    count = 0
    for record in records:
        amount = record.split(",")[2] if record.startswith("16,") else ""
        if amount.isdigit():
            amounts += int(amount)
        count += 1
    account_records = count + 2
    return "\n".join(
        [
            "01,BANK,UTILITY,261130,0800,1,80,,2/",
            "02,UTILITY,BANK,1,261129,2400,USD,2/",
            "03,55501234,USD/",
            *records,
            f"49,{amounts},{account_records}/",
            f"98,{amounts},1,{account_records + 2}/",
            f"99,{amounts},1,{account_records + 4}/",
        ]
    )


def test_statement_helper_builds_a_clean_file():
    parsed = parse_bai2(statement("16,142,1000,,REF1,100000017,/"))

    assert parsed.errors == ()
    assert parsed.items[0].account_reference == "100000017"


def test_malformed_amount_rejects_the_whole_transaction():
    text = statement(
        "16,142,1000,,REF1,100000017,/",
        "16,142,12A4,,REF2,200000015,/",
        "88,SHOULD NOT APPEAR",
        "16,165,2500,,REF3,300000013,/",
    )

    parsed = parse_bai2(text)

    assert [item.deposit_reference for item in parsed.items] == ["REF1", "REF3"]
    assert ("bai2_invalid_amount", 5) in [(e.code, e.line_number) for e in parsed.errors]
    assert all("SHOULD NOT APPEAR" not in (item.memo or "") for item in parsed.items)
    assert all("REF2" not in item.raw for item in parsed.items)


def test_rejected_transaction_is_named_in_account_mismatch():
    # The bank's trailer counts the damaged amount as 1234 cents.
    text = statement("16,142,1000,,REF1,,/", "16,142,12A4,,REF2,,/").replace("49,1000,", "49,2234,")

    parsed = parse_bai2(text)
    mismatch = next(e for e in parsed.errors if e.code == "bai2_account_total_mismatch")

    assert "sum of its amounts 10.00, and 1 rejected transaction(s)" in mismatch.message


def test_invalid_funds_type_rejects_transaction():
    parsed = parse_bai2(statement("16,142,1000,Q,REF1,,/"))

    assert parsed.items == ()
    assert "bai2_invalid_funds_type" in codes(parsed)


def test_account_reference_from_text_when_no_customer_reference():
    parsed = parse_bai2(statement("16,142,1000,,REF1,,/", "88,PAYMENT FOR ACCT 100000017 THANKS"))

    assert parsed.items[0].account_reference == "100000017"


def test_non_luhn_digits_not_account_reference():
    parsed = parse_bai2(statement("16,142,1000,,REF1,,/", "88,TRACE 100000018"))

    assert parsed.items[0].account_reference is None


def test_scan_line_in_text():
    digits = "10000001700000012340000088126"
    parsed = parse_bai2(statement("16,142,8812,,REF1,,/", f"88,OCR {digits}"))
    item = parsed.items[0]

    assert item.scan_line == digits
    assert item.account_reference == "100000017"


def test_foreign_currency_payment_warns():
    text = statement("16,142,1000,,REF1,,/").replace("03,55501234,USD/", "03,55501234,CAD/")

    parsed = parse_bai2(text)

    assert parsed.items == ()
    assert codes(parsed, "warning") == ["bai2_currency"]
    assert len(parsed.transactions) == 1


def test_debits_and_other_credits_are_not_items():
    parsed = parse_bai2(statement("16,451,1000,,REF1,,/", "16,354,25,,REF2,,/"))

    assert parsed.items == ()
    assert [t.direction for t in parsed.transactions] == ["debit", "credit"]


def test_missing_file_trailer_is_reported():
    text = "\n".join(statement("16,142,1000,,REF1,,/").splitlines()[:-1])

    parsed = parse_bai2(text)

    assert codes(parsed) == ["bai2_missing_trailer"]
    assert len(parsed.items) == 1
    assert parsed.control is None


def test_missing_account_trailer_is_reported():
    lines = statement("16,142,1000,,REF1,,/").splitlines()
    del lines[4]

    parsed = parse_bai2("\n".join(lines))

    assert "bai2_missing_trailer" in codes(parsed)
    assert len(parsed.items) == 1


def test_transaction_outside_an_account_is_rejected():
    text = "\n".join(
        [
            "01,BANK,UTILITY,261130,0800,1,80,,2/",
            "02,UTILITY,BANK,1,261129,2400,USD,2/",
            "16,142,1000,,REF1,,/",
            "98,0,0,3/",
            "99,0,1,5/",
        ]
    )

    parsed = parse_bai2(text)

    assert parsed.items == ()
    assert [(e.line_number, e.code) for e in parsed.errors] == [(3, "bai2_out_of_order")]


def test_unknown_record_code_is_skipped():
    parsed = parse_bai2(statement("16,142,1000,,REF1,,/", "17,WHAT/"))

    assert "bai2_unknown_record" in codes(parsed)
    assert len(parsed.items) == 1


def test_crlf_and_bom_are_accepted():
    text = statement("16,142,1000,,REF1,,/").replace("\n", "\r\n")

    parsed = parse_bai2(b"\xef\xbb\xbf" + text.encode())

    assert parsed.errors == ()
    assert parsed.items[0].line_number == 4
