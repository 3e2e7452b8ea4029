"""Write PPD debit files and check them with achkit (an independent parser) and our reader.

Expected totals and entry hashes are computed here from the inputs, never by the writer.
achkit 0.2 takes LF-separated lines of exactly 94 characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import achkit
import pytest

from app.payments.ach import (
    RETRY_DESCRIPTION,
    AchInputError,
    DebitBatch,
    DebitEntry,
    OffsetAccount,
    Originator,
    PaymentAddenda,
    iter_ppd_debits,
    read_ach,
    validate_ach,
    write_ppd_debits,
)

ORIGINATOR = Originator(
    odfi_routing_number="231380104",
    odfi_name="First Bank of Riverbend",
    company_name="Riverbend Water",
    company_id="1234567890",
)
CREATED_AT = datetime(2026, 12, 4, 15, 30)
EFFECTIVE = date(2026, 12, 7)

ENTRIES = [
    DebitEntry("021200025", "998412345", 4512, "Ada Lovelace", "ACCT-1001"),
    DebitEntry("091050234", "744-5678-99", 12000, "Grace Hopper", "ACCT-1002", "savings"),
    DebitEntry("121042882", "123456789", 8899, "Alan Turing", "ACCT-1003"),
]


def _write(batches: list[DebitBatch], **options: str) -> bytes:
    return write_ppd_debits(ORIGINATOR, batches, created_at=CREATED_AT, **options)


def _hash(entries: list[DebitEntry]) -> int:
    return sum(int(entry.routing_number[:8]) for entry in entries) % 10**10


def test_small_file_passes_achkit() -> None:
    data = _write([DebitBatch(ENTRIES, EFFECTIVE)])

    result = achkit.validate(data.decode("ascii"))

    assert result == {"ok": True, "errors": []}


def test_small_file_achkit_values() -> None:
    data = _write([DebitBatch(ENTRIES, EFFECTIVE)])

    parsed = achkit.parse(data.decode("ascii"))

    assert parsed["destination_routing"] == "231380104"
    assert parsed["origin_routing"] == "1234567890"
    assert parsed["creation_date"] == "261204"
    assert parsed["creation_time"] == "1530"
    (batch,) = parsed["batches"]
    assert batch["service_class"] == 225
    assert batch["sec"] == "PPD"
    assert batch["description"] == "UTILITY"
    assert batch["effective_date"] == "261207"
    assert batch["origin_dfi"] == "23138010"
    assert [entry["txn_code"] for entry in batch["entries"]] == [27, 37, 27]
    assert [entry["routing"] for entry in batch["entries"]] == [e.routing_number for e in ENTRIES]
    assert [entry["account"] for entry in batch["entries"]] == [e.account_number for e in ENTRIES]
    assert [entry["amount_cents"] for entry in batch["entries"]] == [4512, 12000, 8899]
    assert [entry["name"] for entry in batch["entries"]] == [
        "ADA LOVELACE",
        "GRACE HOPPER",
        "ALAN TURING",
    ]
    assert [entry["trace_number"] for entry in batch["entries"]] == [
        "231380100000001",
        "231380100000002",
        "231380100000003",
    ]
    assert batch["control"]["entry_hash"] == f"{_hash(ENTRIES):010d}"
    assert batch["control"]["total_debit"] == 4512 + 12000 + 8899
    assert batch["control"]["total_credit"] == 0
    assert parsed["control"]["batch_count"] == 1
    assert parsed["control"]["block_count"] == 1


def test_small_file_round_trip() -> None:
    data = _write([DebitBatch(ENTRIES, EFFECTIVE)])

    ach = read_ach(data)

    assert validate_ach(ach) == []
    assert ach.header.immediate_destination == "231380104"
    assert ach.header.immediate_origin == "1234567890"
    assert ach.header.immediate_destination_name == "FIRST BANK OF RIVERBEND"
    assert ach.header.creation_date == date(2026, 12, 4)
    (batch,) = ach.batches
    assert batch.header.company_name == "RIVERBEND WATER"
    assert batch.header.company_id == "1234567890"
    assert batch.header.effective_date == EFFECTIVE
    assert [entry.rdfi_routing for entry in batch.entries] == [e.routing_number for e in ENTRIES]
    assert [entry.individual_id for entry in batch.entries] == [
        "ACCT-1001",
        "ACCT-1002",
        "ACCT-1003",
    ]
    assert [entry.amount for entry in batch.entries] == [e.amount for e in ENTRIES]
    assert ach.control.entry_hash == 2120002 + 9105023 + 12104288
    assert ach.control.debit_total_cents == 25411
    assert ach.control.credit_total_cents == 0
    assert ach.control.entry_addenda_count == 3


def test_lines_are_94_and_blocked() -> None:
    data = _write([DebitBatch(ENTRIES, EFFECTIVE)])

    lines = data.decode("ascii").split("\n")

    assert lines[-1] == ""
    records = lines[:-1]
    assert len(records) == 10
    assert all(len(line) == 94 for line in records)
    # header, batch header, 3 entries, batch control, file control, then 3 padding lines
    assert records[7:] == ["9" * 94] * 3


def test_crlf_line_endings() -> None:
    data = _write([DebitBatch(ENTRIES, EFFECTIVE)], line_ending="\r\n")

    assert data.count(b"\r\n") == 10
    assert data.count(b"\n") == 10
    assert all(len(line) == 94 for line in data.split(b"\r\n")[:-1])
    assert achkit.validate(data.replace(b"\r\n", b"\n").decode("ascii"))["ok"]
    assert read_ach(data) == read_ach(data.replace(b"\r\n", b"\n"))


def test_two_batches_and_retry_description() -> None:
    retries = [ENTRIES[0]]
    data = _write(
        [
            DebitBatch(ENTRIES, EFFECTIVE),
            DebitBatch(retries, date(2026, 12, 9), entry_description=RETRY_DESCRIPTION),
        ]
    )

    ach = read_ach(data)

    assert achkit.validate(data.decode("ascii"))["ok"]
    assert validate_ach(ach) == []
    assert [batch.header.batch_number for batch in ach.batches] == [1, 2]
    assert ach.batches[1].header.entry_description == "RETRY PYMT"
    assert data.decode("ascii").split("\n")[6][53:63] == "RETRY PYMT"
    assert ach.batches[1].entries[0].trace_number == "231380100000004"
    assert ach.control.batch_count == 2
    assert ach.control.entry_hash == _hash(ENTRIES + retries)
    assert ach.control.debit_total_cents == 25411 + 4512


def test_offset_batch_balances() -> None:
    offset = OffsetAccount("231380104", "5550001", name="Riverbend Water Ops")
    data = _write([DebitBatch(ENTRIES, EFFECTIVE, offset=offset)])

    ach = read_ach(data)

    assert achkit.validate(data.decode("ascii"))["ok"]
    assert validate_ach(ach) == []
    (batch,) = ach.batches
    assert batch.header.service_class_code == 200
    last = batch.entries[-1]
    assert last.transaction_code == 22
    assert last.amount_cents == 25411
    assert last.dfi_account_number == "5550001"
    assert batch.control.debit_total_cents == 25411
    assert batch.control.credit_total_cents == 25411
    assert batch.control.entry_hash == _hash(ENTRIES) + 23138010


def test_payment_information_addenda() -> None:
    entry = DebitEntry(
        "021200025",
        "998412345",
        4512,
        "Ada Lovelace",
        "ACCT-1001",
        payment_information="Bill 2026-11, account 1001",
    )
    data = _write([DebitBatch([entry], EFFECTIVE)])

    ach = read_ach(data)

    assert achkit.validate(data.decode("ascii"))["ok"]
    assert validate_ach(ach) == []
    (written,) = ach.batches[0].entries
    assert written.addenda_indicator
    (addenda,) = written.addenda
    assert isinstance(addenda, PaymentAddenda)
    assert addenda.payment_related_information == "BILL 2026-11, ACCOUNT 1001"
    assert addenda.addenda_sequence_number == 1
    assert addenda.entry_detail_sequence_number == 1
    assert ach.control.entry_addenda_count == 2


def test_names_cleaned_and_truncated() -> None:
    entry = DebitEntry(
        "021200025", "998412345", 100, "José Ñúñez-O'Brien\tand Sons of Riverbend", "ac-7"
    )
    originator = Originator(
        odfi_routing_number="231380104",
        odfi_name="First Bank",
        company_name="Riverbend Municipal Utilities District",
        company_id="1234567890",
    )

    data = write_ppd_debits(originator, [DebitBatch([entry], EFFECTIVE)], created_at=CREATED_AT)

    ach = read_ach(data)
    written = ach.batches[0].entries[0]
    assert written.individual_name == "JOSE NUNEZ-O'BRIEN AND"
    assert written.individual_id == "AC-7"
    assert ach.batches[0].header.company_name == "RIVERBEND MUNICI"
    assert ach.header.immediate_origin_name == "RIVERBEND MUNICIPAL UTI"
    assert achkit.validate(data.decode("ascii"))["ok"]


def _many_entries(count: int) -> Iterator[DebitEntry]:
    routings = ("021200025", "091050234", "121042882", "231380104")
    for number in range(count):
        yield DebitEntry(
            routings[number % 4],
            f"{number:010d}",
            1000 + number % 7919,
            f"Customer {number}",
            f"ACCT-{number}",
            "savings" if number % 5 == 0 else "checking",
        )


def test_100000_entries_valid() -> None:
    # bench/ach_bench.py measures the speed; this test checks only the file's totals.
    count = 100_000
    data = _write([DebitBatch(_many_entries(count), EFFECTIVE)])

    expected_debits = sum(1000 + number % 7919 for number in range(count))
    expected_hash = sum(int(e.routing_number[:8]) for e in _many_entries(count)) % 10**10
    records = count + 5
    ach = read_ach(data)
    assert validate_ach(ach) == []
    assert ach.control.debit_total_cents == expected_debits
    assert ach.control.entry_hash == expected_hash
    assert ach.control.block_count == -(-records // 10)
    assert achkit.validate(data.decode("ascii"))["ok"]


def test_entries_are_read_lazily() -> None:
    pulled: list[int] = []

    def entries() -> Iterator[DebitEntry]:
        for number, entry in enumerate(_many_entries(1_000)):
            pulled.append(number)
            yield entry

    stream = iter_ppd_debits(ORIGINATOR, [DebitBatch(entries(), EFFECTIVE)], created_at=CREATED_AT)
    first_records = [next(stream) for _ in range(4)]

    assert [record[:1] for record in first_records] == [b"1", b"5", b"6", b"6"]
    assert len(pulled) == 2


def _error(entry: DebitEntry) -> AchInputError:
    with pytest.raises(AchInputError) as caught:
        _write([DebitBatch([ENTRIES[0], entry], EFFECTIVE)])
    return caught.value


def test_bad_check_digit() -> None:
    error = _error(DebitEntry("021200026", "998412345", 100, "Ada Lovelace", "ACCT-9"))

    assert isinstance(error, ValueError)
    assert error.field == "routing_number"
    assert error.batch_number == 1
    assert error.entry_number == 2
    assert str(error) == (
        "batch 1, entry 2 (individual_id 'ACCT-9'), routing_number: 021200026 fails the ABA "
        "check: its last digit is 6 but the first eight digits give check digit 5"
    )


@pytest.mark.parametrize("amount", [0, -100])
def test_amount_must_be_positive(amount: int) -> None:
    error = _error(DebitEntry("021200025", "998412345", amount, "Ada Lovelace"))

    assert error.field == "amount_cents"
    assert f"must be positive, got {amount}" in str(error)


def test_amount_must_be_int_cents() -> None:
    error = _error(DebitEntry("021200025", "998412345", 45.12, "Ada Lovelace"))  # type: ignore[arg-type]

    assert error.field == "amount_cents"


def test_amount_too_large() -> None:
    error = _error(DebitEntry("021200025", "998412345", 10**10, "Ada Lovelace"))

    assert error.field == "amount_cents"
    assert "10-digit" in str(error)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (DebitEntry("02120002", "998412345", 100, "Ada"), "routing_number"),
        (DebitEntry("021200025", "", 100, "Ada"), "account_number"),
        (DebitEntry("021200025", "123456789012345678", 100, "Ada"), "account_number"),
        (DebitEntry("021200025", "1234 5678", 100, "Ada"), "account_number"),
        (DebitEntry("021200025", "998412345", 100, "  "), "individual_name"),
        (DebitEntry("021200025", "998412345", 100, "Ada", "X" * 16), "individual_id"),
        (
            DebitEntry("021200025", "998412345", 100, "Ada", discretionary_data="ABC"),
            "discretionary_data",
        ),
        (DebitEntry("021200025", "998412345", 100, "Ada", account_type="loan"), "account_type"),  # type: ignore[arg-type]
    ],
)
def test_bad_entry_field(entry: DebitEntry, field: str) -> None:
    assert _error(entry).field == field


def test_account_number_masked_in_error() -> None:
    error = _error(DebitEntry("021200025", "123456789012345678", 100, "Ada"))

    assert "123456789012345678" not in str(error)
    assert "5678" in str(error)


def test_empty_batch_rejected() -> None:
    with pytest.raises(AchInputError, match="batch 2, entries: the batch has no entries"):
        _write([DebitBatch(ENTRIES, EFFECTIVE), DebitBatch([], EFFECTIVE)])


def test_no_batches_rejected() -> None:
    with pytest.raises(AchInputError, match="at least one batch"):
        _write([])


def test_description_too_long() -> None:
    with pytest.raises(AchInputError) as caught:
        _write([DebitBatch(ENTRIES, EFFECTIVE, entry_description="WATER BILLS")])

    assert caught.value.field == "entry_description"


def test_bad_originator_routing() -> None:
    originator = Originator("231380105", "First Bank", "Riverbend Water", "1234567890")

    with pytest.raises(AchInputError) as caught:
        write_ppd_debits(originator, [DebitBatch(ENTRIES, EFFECTIVE)], created_at=CREATED_AT)

    assert caught.value.field == "odfi_routing_number"
    assert str(caught.value).startswith("originator, odfi_routing_number:")


@pytest.mark.parametrize(
    ("options", "field"),
    [({"line_ending": "\r"}, "line_ending"), ({"file_id_modifier": "#"}, "file_id_modifier")],
)
def test_bad_file_options(options: dict[str, str], field: str) -> None:
    with pytest.raises(AchInputError) as caught:
        _write([DebitBatch(ENTRIES, EFFECTIVE)], **options)

    assert caught.value.field == field
