"""Read the moov-io/ach sample files and check the values listed in their SOURCES.md."""

from __future__ import annotations

import gzip
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from app.payments.ach import (
    CHANGE_CODES,
    RETURN_CODES,
    AchFile,
    AchFormatError,
    NocAddenda,
    OtherAddenda,
    ReturnAddenda,
    corrected_fields,
    read_ach,
    return_code,
    validate_ach,
)

NACHA = Path(__file__).resolve().parents[1] / "data" / "payments" / "nacha"
SINGLE = NACHA / "moov-ach_ppd-debit_single.ach"
TRIMMED = NACHA / "moov-ach_ppd-debit_trimmed-lines.ach"
BANK_EXAMPLE = NACHA / "moov-ach_20110805A_ppd-debit-48-entries_plus-iat.ach"
FISERV_RETURNS = NACHA / "moov-ach_issue702_fiserv-returns_R01-R03-R04_crlf.ach"
WEB_RETURNS = NACHA / "moov-ach_return-WEB_R01-R03.ach"
CONTESTED = NACHA / "moov-ach_contested-return_PPD_R07-R68-R71.ach"
DISHONORED = NACHA / "moov-ach_dishonored-return_R68.ach"
NOC = NACHA / "moov-ach_noc-cor_C01.ach"
LARGE = NACHA / "moov-ach_large_PPD-200-batches-100000-entries.ach.gz"


def test_single_debit_header_and_entry() -> None:
    ach = read_ach(SINGLE.read_bytes())

    assert ach.header.immediate_destination == "031300012"
    assert ach.header.immediate_origin == "0231380104"
    assert ach.header.creation_date == date(2019, 8, 16)
    assert ach.header.creation_time == time(10, 55)
    assert ach.header.file_id_modifier == "A"
    assert ach.header.immediate_destination_name == "Federal Reserve Bank"
    assert ach.header.immediate_origin_name == "My Bank Name"
    assert len(ach.batches) == 1

    header = ach.batches[0].header
    assert header.service_class_code == 225
    assert header.company_name == "Name on Account"
    assert header.company_id == "231380104"
    assert header.sec_code == "PPD"
    assert header.entry_description == "REG.SALARY"
    assert header.effective_date == date(2019, 8, 16)
    assert header.odfi_id == "12104288"
    assert header.batch_number == 1

    (entry,) = ach.batches[0].entries
    assert entry.transaction_code == 27
    assert entry.rdfi_id == "23138010"
    assert entry.check_digit == "4"
    assert entry.rdfi_routing == "231380104"
    assert entry.dfi_account_number == "123456789"
    assert entry.amount_cents == 200000000
    assert entry.amount == Decimal("2000000.00")
    assert entry.individual_name == "Debit Account"
    assert entry.trace_number == "121042880000001"
    assert entry.is_debit
    assert not entry.is_credit
    assert entry.addenda == ()


def test_single_debit_controls_balance() -> None:
    ach = read_ach(SINGLE.read_bytes())

    control = ach.batches[0].control
    assert control.entry_addenda_count == 1
    assert control.entry_hash == 23138010
    assert control.debit_total_cents == 200000000
    assert control.credit_total_cents == 0
    assert control.debit_total == Decimal("2000000.00")
    assert ach.control.batch_count == 1
    assert ach.control.block_count == 1
    assert ach.control.entry_hash == 23138010
    assert ach.control.debit_total_cents == 200000000
    assert ach.control.credit_total_cents == 0
    assert ach.record_count == 5
    assert ach.padding_count == 5
    assert validate_ach(ach) == []


def test_trimmed_lines_are_padded() -> None:
    data = TRIMMED.read_bytes()
    assert not data.endswith(b"\n")

    ach = read_ach(data)

    assert ach.header.immediate_origin_name == "My Bank Name"
    assert ach.header.reference_code == ""
    assert ach.batches[0].control.debit_total_cents == 100000000
    assert ach.control.debit_total_cents == 100000000
    assert ach.control.entry_hash == 23138010
    assert ach.physical_record_count == 10
    assert validate_ach(ach) == []


def test_str_input_reads_like_bytes() -> None:
    data = SINGLE.read_bytes()

    assert read_ach(data.decode("ascii")) == read_ach(data)


def test_crlf_reads_like_lf() -> None:
    data = FISERV_RETURNS.read_bytes()
    assert b"\r\n" in data

    assert read_ach(data) == read_ach(data.replace(b"\r\n", b"\n"))


def test_fiserv_returns_r04_r03_r01() -> None:
    ach = read_ach(FISERV_RETURNS.read_bytes())

    expected = [
        ("PPD", 21, 102, "R04"),
        ("WEB", 26, 101, "R03"),
        ("WEB", 26, 10001, "R01"),
    ]
    assert len(ach.batches) == 3
    for batch, (sec_code, transaction_code, cents, reason) in zip(
        ach.batches, expected, strict=True
    ):
        (entry,) = batch.entries
        (addenda,) = entry.addenda
        assert batch.header.sec_code == sec_code
        assert entry.transaction_code == transaction_code
        assert entry.amount_cents == cents
        assert isinstance(addenda, ReturnAddenda)
        assert addenda.return_reason_code == reason
        assert addenda.original_trace == "101206100000001"
        assert addenda.original_rdfi == "03110127"
        assert addenda.date_of_death is None
        assert addenda.addenda_information == "PSEUDORETN"
        assert addenda.trace_number == entry.trace_number
    assert ach.header.immediate_destination == "YYYYYYYYY"
    assert ach.control.debit_total_cents == 10102
    assert ach.control.credit_total_cents == 102
    assert validate_ach(ach) == []


def test_return_of_debit_counts_as_debit() -> None:
    ach = read_ach(FISERV_RETURNS.read_bytes())

    r03 = ach.batches[1]
    assert r03.entries[0].transaction_code == 26
    assert r03.entries[0].is_debit
    assert r03.control.debit_total_cents == 101
    assert r03.control.credit_total_cents == 0
    r04 = ach.batches[0]
    assert r04.entries[0].is_credit
    assert r04.control.credit_total_cents == 102


def test_web_returns_r01_r03() -> None:
    ach = read_ach(WEB_RETURNS.read_bytes())

    first, second = (batch.entries[0] for batch in ach.batches)
    assert (first.transaction_code, first.amount_cents) == (26, 12354)
    assert (second.transaction_code, second.amount_cents) == (21, 4565)
    assert first.returns[0].return_reason_code == "R01"
    assert first.returns[0].original_trace == "091400600000001"
    assert second.returns[0].return_reason_code == "R03"
    assert second.returns[0].original_trace == "091400600000003"
    assert ach.batches[0].header.effective_date == date(2000, 1, 1)
    assert ach.control.debit_total_cents == 12354
    assert ach.control.credit_total_cents == 4565
    assert validate_ach(ach) == []


def test_contested_chain_r07_r68_r71() -> None:
    ach = read_ach(CONTESTED.read_bytes())

    (entry,) = ach.batches[0].entries
    r07, r68, r71 = entry.returns
    assert [item.return_reason_code for item in entry.returns] == ["R07", "R68", "R71"]
    assert entry.transaction_code == 22
    assert entry.amount_cents == 100000000
    assert ach.control.credit_total_cents == 100000000
    assert ach.batches[0].header.effective_date is None

    assert r07.original_trace == "099912340000015"
    assert r07.original_rdfi == "09101298"
    assert r07.addenda_information == "Authorization Revoked"
    assert r07.dishonored is None
    assert r07.contested is None

    assert r68.original_trace == "059999990000301"
    assert r68.dishonored is not None
    assert r68.dishonored.return_trace_number == "123918710000001"
    assert r68.dishonored.return_settlement_date == "179"
    assert r68.dishonored.original_return_reason_code == "R01"
    assert r68.addenda_information == "Untimely Return"

    assert r71.contested is not None
    assert r71.contested.date_original_entry_returned == "000167"
    assert r71.contested.original_settlement_date == "164"
    assert r71.contested.return_trace_number == "779999990000301"
    assert r71.contested.return_settlement_date == "165"
    assert r71.contested.original_return_reason_code == "R01"
    assert r71.contested.dishonored_return_trace_number == "889999990000301"
    assert r71.contested.dishonored_return_settlement_date == "166"
    assert r71.contested.dishonored_return_reason_code == "R67"
    assert r71.trace_number == "123918710000001"
    assert validate_ach(ach) == []


def test_dishonored_returns_r68() -> None:
    ach = read_ach(DISHONORED.read_bytes())

    entries = ach.batches[0].entries
    assert [entry.amount_cents for entry in entries] == [25000, 23000]
    assert [entry.returns[0].return_reason_code for entry in entries] == ["R68", "R68"]
    assert ach.batches[0].header.sec_code == "POS"
    assert ach.control.debit_total_cents == 48000
    assert validate_ach(ach) == []


def test_noc_c01_addenda_98() -> None:
    ach = read_ach(NOC.read_bytes())

    batch = ach.batches[0]
    (entry,) = batch.entries
    (noc,) = entry.notifications_of_change
    assert batch.header.sec_code == "COR"
    assert entry.transaction_code == 21
    assert entry.amount_cents == 0
    assert isinstance(noc, NocAddenda)
    assert noc.change_code == "C01"
    assert noc.original_trace == "121042880000001"
    assert noc.original_rdfi == "12104288"
    assert noc.corrected_data == "1918171614"
    assert noc.trace_number == "091012980000088"
    assert corrected_fields(noc.change_code, noc.corrected_data) == {
        "dfi_account_number": "1918171614"
    }
    assert CHANGE_CODES["C01"].corrects == ("dfi_account_number",)
    assert validate_ach(ach) == []


def test_bank_example_batch_one() -> None:
    ach = read_ach(BANK_EXAMPLE.read_bytes())

    first = ach.batches[0]
    assert len(first.entries) == 25
    assert {entry.transaction_code for entry in first.entries} == {27}
    assert min(entry.amount_cents for entry in first.entries) == 27000
    assert max(entry.amount_cents for entry in first.entries) == 262000
    assert first.control.debit_total_cents == 4610000
    assert first.control.entry_hash == 53000050
    verify = ach.batches[1]
    assert verify.header.entry_description == "VERIFY"
    assert len(verify.entries) == 18
    assert sum(entry.amount_cents for entry in verify.entries) == 176


def test_bank_example_iat_batches() -> None:
    ach = read_ach(BANK_EXAMPLE.read_bytes())

    iat = ach.batches[2]
    assert iat.header.sec_code == "IAT"
    assert [entry.amount_cents for entry in iat.entries] == [109000, 109000, 273000]
    assert iat.entries[0].dfi_account_number == "998412345"
    types = [item.addenda_type for item in iat.entries[0].addenda if isinstance(item, OtherAddenda)]
    assert types == ["10", "11", "12", "13", "14", "15", "16"]


def test_bank_example_bad_file_control() -> None:
    ach = read_ach(BANK_EXAMPLE.read_bytes())

    assert len(ach.batches) == 4
    assert ach.control.batch_count == 5
    assert ach.physical_record_count == 93
    issues = validate_ach(ach)
    assert sorted(issue.code for issue in issues) == [
        "file_batch_count_mismatch",
        "file_not_blocked",
    ]
    batch_count = next(issue for issue in issues if issue.code == "file_batch_count_mismatch")
    assert batch_count.line_number == 93
    assert "5" in batch_count.message
    assert "4" in batch_count.message


@pytest.fixture(scope="module")
def large_file() -> AchFile:
    return read_ach(gzip.decompress(LARGE.read_bytes()))


def test_large_file_control(large_file: AchFile) -> None:
    ach = large_file

    assert ach.control.batch_count == 200
    assert ach.control.block_count == 10061
    assert ach.control.entry_addenda_count == 100199
    assert ach.control.credit_total_cents == 20123398766
    assert ach.control.debit_total_cents == 0
    assert len(ach.batches) == 200
    assert sum(1 for _ in ach.entries()) == 100199
    assert validate_ach(ach) == []


def test_large_file_batch_controls_agree(large_file: AchFile) -> None:
    for batch in large_file.batches:
        assert batch.control.entry_addenda_count == len(batch.entries)
        assert batch.control.entry_hash == sum(int(e.rdfi_id) for e in batch.entries) % 10**10
        assert batch.control.credit_total_cents == sum(e.amount_cents for e in batch.entries)
        assert batch.control.debit_total_cents == 0


def test_blank_lines_and_missing_padding() -> None:
    lines = SINGLE.read_text().splitlines()[:5]

    ach = read_ach("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n")

    assert ach.control.debit_total_cents == 200000000
    assert ach.padding_count == 0
    assert [issue.code for issue in validate_ach(ach)] == ["file_not_blocked"]


def _single_lines() -> list[str]:
    return SINGLE.read_text().splitlines()


def test_line_too_long() -> None:
    lines = _single_lines()
    lines[2] += " "

    with pytest.raises(AchFormatError) as caught:
        read_ach("\n".join(lines))

    assert caught.value.line_number == 3
    assert "line 3" in str(caught.value)
    assert "95 characters" in str(caught.value)


def test_bad_amount_names_line_and_field() -> None:
    lines = _single_lines()
    lines[2] = lines[2][:29] + "00000A0000" + lines[2][39:]

    with pytest.raises(AchFormatError) as caught:
        read_ach("\n".join(lines))

    error = caught.value
    assert isinstance(error, ValueError)
    assert error.line_number == 3
    assert error.record_type == "6"
    assert error.field == "amount"
    assert str(error) == (
        "line 3, entry detail (type 6), field amount: expected digits, found '00000A0000'"
    )


def test_bad_effective_date() -> None:
    lines = _single_lines()
    lines[1] = lines[1][:69] + "191332" + lines[1][75:]

    with pytest.raises(AchFormatError) as caught:
        read_ach("\n".join(lines))

    assert caught.value.field == "effective_date"
    assert caught.value.line_number == 2


# Record order of the single-debit file: 0 file header, 1 batch header, 2 entry,
# 3 batch control, 4 file control.
STRUCTURE_ERRORS = {
    "entry outside batch": ([0, 2, 3, 4], 2, "an entry outside a batch"),
    "batch header first": ([1, 0, 2, 3, 4], 1, "expected the file header (type 1) first"),
    "second file header": ([0, 0, 1, 2, 3, 4], 2, "a second file header"),
    "batch not closed": ([0, 1, 2, 1, 3, 4], 4, "has no batch control before this header"),
    "control without header": ([0, 3, 4], 2, "a batch control without a batch header"),
    "file control in batch": ([0, 1, 2, 4], 4, "no batch control before the file control"),
    "record after control": ([0, 1, 2, 3, 4, 2], 6, "a record after the file control"),
    "ends inside batch": ([0, 1, 2], 3, "ends inside batch 1"),
    "no file control": ([0, 1, 2, 3], 4, "ends without a file control"),
}


@pytest.mark.parametrize("case", sorted(STRUCTURE_ERRORS))
def test_structure_error(case: str) -> None:
    order, line_number, problem = STRUCTURE_ERRORS[case]
    lines = _single_lines()

    with pytest.raises(AchFormatError) as caught:
        read_ach("\n".join(lines[index] for index in order))

    assert caught.value.line_number == line_number
    assert problem in str(caught.value)


def test_unknown_record_type() -> None:
    lines = _single_lines()
    lines[3] = "X" + lines[3][1:]

    with pytest.raises(AchFormatError, match="line 4, record \\(type 'X'\\): unknown record type"):
        read_ach("\n".join(lines))


def test_duplicated_entry_reads_but_fails_validation() -> None:
    lines = _single_lines()
    lines.insert(3, lines[2])

    issues = validate_ach(read_ach("\n".join(lines)))

    assert "batch_entry_addenda_count_mismatch" in {issue.code for issue in issues}
    assert "batch_entry_hash_mismatch" in {issue.code for issue in issues}


def test_unflagged_addenda_fails_validation() -> None:
    lines = _single_lines()[:5]
    lines.insert(3, "799R01" + " " * 88)

    issues = validate_ach(read_ach("\n".join(lines)))

    assert [issue.code for issue in issues] == [
        "batch_entry_addenda_count_mismatch",
        "entry_addenda_indicator_mismatch",
        "file_entry_addenda_count_mismatch",
        "file_not_blocked",
    ]


def test_addenda_without_entry() -> None:
    lines = _single_lines()
    lines.insert(2, "799R01" + " " * 88)

    with pytest.raises(AchFormatError, match="line 3.*addenda record without an entry"):
        read_ach("\n".join(lines))


def test_non_ascii_byte() -> None:
    data = SINGLE.read_bytes().replace(b"Debit Account", b"D\xe9bit Account")

    with pytest.raises(AchFormatError, match="line 3: byte 0xe9 is not ASCII"):
        read_ach(data)


def test_empty_input() -> None:
    with pytest.raises(AchFormatError, match="no records"):
        read_ach(b"")


def test_validate_flags_tampered_controls() -> None:
    lines = _single_lines()
    control = lines[3]
    lines[3] = control[:10] + "0023138011" + control[20:]
    lines[2] = lines[2][:29] + "0200000001" + lines[2][39:]

    issues = validate_ach(read_ach("\n".join(lines)))

    assert sorted(issue.code for issue in issues) == [
        "batch_debit_total_mismatch",
        "batch_entry_hash_mismatch",
        "file_debit_total_mismatch",
    ]
    hash_issue = next(issue for issue in issues if issue.code == "batch_entry_hash_mismatch")
    assert hash_issue.batch_number == 1
    assert hash_issue.line_number == 4
    assert "23138011" in hash_issue.message


def test_validate_flags_bad_check_digit() -> None:
    lines = _single_lines()
    lines[2] = lines[2][:11] + "5" + lines[2][12:]

    issues = validate_ach(read_ach("\n".join(lines)))

    assert [issue.code for issue in issues] == ["entry_invalid_check_digit"]
    assert issues[0].line_number == 3


def test_validate_prenote_counts_zero() -> None:
    lines = _single_lines()
    lines[2] = "628" + lines[2][3:29] + "0000000000" + lines[2][39:]
    for index in (3, 4):
        lines[index] = lines[index].replace("000200000000", "000000000000")

    issues = validate_ach(read_ach("\n".join(lines)))

    assert issues == []


def test_return_codes_table() -> None:
    assert {code for code, item in RETURN_CODES.items() if item.may_represent} == {"R01", "R09"}
    stopping = {code for code, item in RETURN_CODES.items() if item.stops_drafting}
    assert {"R02", "R03", "R04", "R05", "R07", "R08", "R10", "R16", "R20", "R29"} <= stopping
    assert "R01" not in stopping
    assert "R09" not in stopping
    assert all(code.startswith("R") and 1 <= int(code[1:]) <= 85 for code in RETURN_CODES)
    unknown = return_code("R99")
    assert not unknown.may_represent
    assert not unknown.stops_drafting
    assert return_code("R07").description == "Authorization revoked by the customer"


def test_change_codes_table() -> None:
    assert sorted(CHANGE_CODES) == [
        "C01",
        "C02",
        "C03",
        "C04",
        "C05",
        "C06",
        "C07",
        "C09",
        "C13",
        "C14",
    ]
    assert CHANGE_CODES["C07"].corrects == (
        "rdfi_routing",
        "dfi_account_number",
        "transaction_code",
    )
    assert corrected_fields("C02", "021200025") == {"rdfi_routing": "021200025"}
    assert corrected_fields("C05", "37") == {"transaction_code": "37"}
