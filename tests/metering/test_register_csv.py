"""Register-read CSV parsing: good files, each kind of bad row, and header errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from metering.register_csv import parse_register_csv
from metering.types import ReadFileError, ReadType

CHICAGO = ZoneInfo("America/Chicago")

GOOD_FILE = """\
meter,register,read_date,value,unit,read_type,source
WM-0001,1,2024-07-31,1234.5,gal,actual,route 7
WM-0002,,2024-07-31,0,ccf,estimated,
G-0001,2,2024-07-31,1239,CCF,Customer,portal
E-0001,1,2024-07-31,17077.963,kWh,final,
"""


def test_good_file_parses():
    result = parse_register_csv(GOOD_FILE, CHICAGO)

    assert result.errors == []
    assert [read.meter_serial for read in result.reads] == [
        "WM-0001",
        "WM-0002",
        "G-0001",
        "E-0001",
    ]
    assert [read.line_number for read in result.reads] == [2, 3, 4, 5]


def test_good_file_values():
    first, second, third, fourth = parse_register_csv(GOOD_FILE, CHICAGO).reads

    assert first.register == "1"
    assert first.value == Decimal("1234.5")
    assert first.unit == "gal"
    assert first.read_date == date(2024, 7, 31)
    assert first.read_at is None
    assert first.read_type is ReadType.ACTUAL
    assert first.source == "route 7"

    assert second.register == "1"  # Empty register defaults to "1".
    assert second.read_type is ReadType.ESTIMATED
    assert second.source == "csv"  # Empty source defaults to "csv".

    assert third.unit == "ccf"  # Unit is matched without regard to case.
    assert third.read_type is ReadType.CUSTOMER
    assert fourth.value == Decimal("17077.963")
    assert fourth.read_type is ReadType.FINAL


def test_columns_in_any_order_with_defaults():
    text = "value,unit,read_date,meter\n42,m3,2024-01-02,W-9\n"

    (read,) = parse_register_csv(text, CHICAGO).reads

    assert read.meter_serial == "W-9"
    assert read.register == "1"
    assert read.read_type is ReadType.ACTUAL
    assert read.source == "csv"
    assert read.value == Decimal(42)


def test_read_at_converted_to_utc():
    text = "meter,read_at,value,unit\nE-1,2024-06-30T22:30:00-05:00,10,kWh\n"

    (read,) = parse_register_csv(text, CHICAGO).reads

    assert read.read_at == datetime(2024, 7, 1, 3, 30, tzinfo=UTC)
    assert read.read_at.tzinfo is UTC


def test_read_date_derived_across_utc_midnight():
    text = "meter,read_at,value,unit\nE-1,2024-07-01T03:30:00Z,10,kWh\n"

    (read,) = parse_register_csv(text, CHICAGO).reads

    # 03:30 UTC on 1 July is 22:30 CDT on 30 June.
    assert read.read_date == date(2024, 6, 30)
    assert read.read_at == datetime(2024, 7, 1, 3, 30, tzinfo=UTC)


def test_read_date_and_read_at_agree():
    text = "meter,read_date,read_at,value,unit\nE-1,2024-06-30,2024-07-01T03:30:00Z,10,kWh\n"

    result = parse_register_csv(text, CHICAGO)

    assert result.errors == []
    assert result.reads[0].read_date == date(2024, 6, 30)


def test_read_date_and_read_at_disagree():
    text = "meter,read_date,read_at,value,unit\nE-1,2024-07-01,2024-07-01T03:30:00Z,10,kWh\n"

    result = parse_register_csv(text, CHICAGO)

    assert result.reads == []
    (error,) = result.errors
    assert error.line_number == 2
    assert "read_date 2024-07-01 does not match read_at" in error.reason
    assert "2024-06-30 in America/Chicago" in error.reason


@pytest.mark.parametrize(
    ("row", "expected_reason"),
    [
        ("WM-1,2024-07-31,,gal", "value is empty"),
        ("WM-1,2024-07-31,12a,gal", "value '12a' is not a decimal number"),
        ("WM-1,2024-07-31,1e3,gal", "value '1e3' is not a decimal number"),
        ("WM-1,2024-07-31,NaN,gal", "value 'NaN' is not a decimal number"),
        ("WM-1,2024-07-31,-3.5,gal", "value '-3.5' is negative"),
        ("WM-1,2024-07-31,1.1234567,gal", "value '1.1234567' has 7 decimal places"),
        ("WM-1,2024-07-31,10,litres", "unit 'litres' is not supported"),
        ("WM-1,2024-07-31,10,", "unit empty is not supported"),
        ("WM-1,2024-02-30,10,gal", "read_date '2024-02-30' is not a valid date"),
        ("WM-1,07/31/2024,10,gal", "read_date '07/31/2024' is not a valid date"),
        (",2024-07-31,10,gal", "meter is empty"),
        ("WM-1,,10,gal", "read_date and read_at are both empty"),
        ("WM-1,2024-07-31,10", "Line has 3 fields but the header has 4 columns"),
    ],
)
def test_bad_row_reason(row, expected_reason):
    text = f"meter,read_date,value,unit\nWM-0,2024-07-31,1,gal\n{row}\nWM-2,2024-07-31,2,gal\n"

    result = parse_register_csv(text, CHICAGO)

    assert [read.line_number for read in result.reads] == [2, 4]
    (error,) = result.errors
    assert error.line_number == 3
    assert error.raw == row
    assert expected_reason in error.reason


def test_six_decimal_places_accepted():
    text = "meter,read_date,value,unit\nWM-1,2024-07-31,1.123456,m3\n"

    (read,) = parse_register_csv(text, CHICAGO).reads

    assert read.value == Decimal("1.123456")


def test_naive_read_at_rejected():
    text = "meter,read_at,value,unit\nE-1,2024-07-01T03:30:00,10,kWh\n"

    (error,) = parse_register_csv(text, CHICAGO).errors

    assert error.line_number == 2
    assert "read_at '2024-07-01T03:30:00' has no UTC offset" in error.reason
    assert "Add Z or an offset" in error.reason


def test_bad_read_at_rejected():
    text = "meter,read_at,value,unit\nE-1,yesterday,10,kWh\n"

    (error,) = parse_register_csv(text, CHICAGO).errors

    assert "read_at 'yesterday' is not an ISO 8601 timestamp" in error.reason


def test_unknown_read_type_rejected():
    text = "meter,read_date,value,unit,read_type\nE-1,2024-07-31,10,kWh,guessed\n"

    (error,) = parse_register_csv(text, CHICAGO).errors

    assert "read_type 'guessed' is not known" in error.reason
    assert "actual, estimated, customer, final" in error.reason


def test_several_problems_in_one_reason():
    text = "meter,read_date,value,unit\nE-1,2024-13-01,-1,furlongs\n"

    (error,) = parse_register_csv(text, CHICAGO).errors

    assert "value '-1' is negative" in error.reason
    assert "unit 'furlongs' is not supported" in error.reason
    assert "read_date '2024-13-01' is not a valid date" in error.reason


def test_crlf_and_bom_accepted():
    text = "\ufeffmeter,read_date,value,unit\r\nWM-1,2024-07-31,5,gal\r\nWM-2,bad,6,gal\r\n\r\n\r\n"

    result = parse_register_csv(text, CHICAGO)

    assert [read.meter_serial for read in result.reads] == ["WM-1"]
    (error,) = result.errors
    assert error.line_number == 3
    assert error.raw == "WM-2,bad,6,gal"


def test_blank_lines_keep_physical_numbers():
    text = "\nmeter,read_date,value,unit\n\nWM-1,2024-07-31,5,gal\n\nWM-2,2024-07-31,x,gal\n\n"

    result = parse_register_csv(text, CHICAGO)

    assert [read.line_number for read in result.reads] == [4]
    assert [error.line_number for error in result.errors] == [6]


def test_quoted_fields_and_spaces():
    text = 'meter, read_date ,value,unit,source\n"WM-1", 2024-07-31 , 5 ,gal,"route 7, north"\n'

    (read,) = parse_register_csv(text, CHICAGO).reads

    assert read.meter_serial == "WM-1"
    assert read.value == Decimal(5)
    assert read.source == "route 7, north"


def test_empty_file_raises():
    with pytest.raises(ReadFileError, match="empty"):
        parse_register_csv("\n\n", CHICAGO)


def test_unknown_column_raises():
    with pytest.raises(ReadFileError, match=r"unknown column\(s\) 'account', 'note'"):
        parse_register_csv("meter,read_date,value,unit,account,note\n", CHICAGO)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("read_date,value,unit", "meter"),
        ("meter,read_date,unit", "value"),
        ("meter,read_date,value", "unit"),
    ],
)
def test_missing_required_column_raises(header, missing):
    with pytest.raises(ReadFileError, match=f"missing required column\\(s\\) {missing}"):
        parse_register_csv(f"{header}\nWM-1,2024-07-31,5\n", CHICAGO)


def test_missing_date_columns_raises():
    with pytest.raises(ReadFileError, match="neither read_date nor read_at"):
        parse_register_csv("meter,value,unit\nWM-1,5,gal\n", CHICAGO)


def test_repeated_column_raises():
    with pytest.raises(ReadFileError, match="repeats column"):
        parse_register_csv("meter,read_date,value,unit,value\n", CHICAGO)


def test_header_only_has_no_reads():
    result = parse_register_csv("meter,read_date,value,unit\n", CHICAGO)

    assert result.reads == []
    assert result.errors == []
