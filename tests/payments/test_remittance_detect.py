"""Format detection by first record, and parsing through `parse_remittance`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.payments.remittance import detect_format, parse_remittance

DATA = Path(__file__).resolve().parents[1] / "data" / "payments"
BAI2_SAMPLES = sorted((DATA / "bai2").glob("*.bai2"))
# A NACHA (ACH) file header: it starts like a lockbox header but continues with the file
# id modifier, record size 094, blocking factor 10 and format code 1.
NACHA_HEADER = (
    "101 031300012 2313801041908161055A094101Federal Reserve Bank   My Bank Name           12345678"
)


@pytest.mark.parametrize("path", BAI2_SAMPLES, ids=lambda path: path.name)
def test_bai2_samples_are_bai2(path: Path):
    assert detect_format(path.read_bytes()) == "bai2"


def test_lockbox_sample_is_lockbox():
    path = DATA / "lockbox" / "fundersclub-bai-lockbox_test_lockbox.bai"

    assert detect_format(path.read_bytes()) == "lockbox"


def test_lockbox_header_padded_with_spaces():
    assert detect_format("100ABCDEFGHIJ00999999911605231800" + " " * 47 + "\n") == "lockbox"


def test_nacha_header_is_not_lockbox():
    assert detect_format(NACHA_HEADER + "\n") is None


@pytest.mark.parametrize(
    "text",
    ["account_number,amount,paid_on\n", "\ufeffAmount,Paid_On,Scan_Line\r\n", "\n\namount\n"],
)
def test_csv_header_is_csv(text: str):
    assert detect_format(text) == "csv"


@pytest.mark.parametrize("text", ["", "\n  \n", "hello,world\n", "<xml/>"])
def test_unknown_text_is_none(text: str):
    assert detect_format(text) is None


def test_parse_remittance_dispatches_by_format():
    bai2 = parse_remittance((DATA / "bai2" / "moj-bai2_svb_us_example.bai2").read_bytes())
    csv = parse_remittance("account_number,amount,paid_on\n100000017,1.00,2026-11-30\n")

    assert bai2.format == "bai2"
    assert len(bai2.items) == 2
    assert csv.format == "csv"
    assert len(csv.items) == 1


def test_parse_remittance_unknown_format_is_one_error():
    parsed = parse_remittance(NACHA_HEADER)

    assert parsed.format == "unknown"
    assert parsed.items == ()
    assert [(error.line_number, error.code) for error in parsed.errors] == [(1, "unknown_format")]
