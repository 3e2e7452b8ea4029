"""BEACON export parsing: the saved sample, DST wall times, and each kind of bad line.

Expected values are read by hand from tests/data/ami_exports/beacon-360-report.csv.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.beacon_csv import parse_beacon_csv
from metering.types import ReadFileError, ReadType

PACIFIC = ZoneInfo("America/Los_Angeles")
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "ami_exports" / "beacon-360-report.csv"


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def export_with(*changes: dict[str, str]) -> str:
    """The sample header and one line per change, each the sample's line 2 with fields replaced."""
    header, first, _ = list(csv.reader(io.StringIO(sample_text())))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    for change in changes:
        row = dict(zip(header, first, strict=True)) | change
        writer.writerow([row[name] for name in header])
    return out.getvalue()


def test_sample_reads_both_lines():
    result = parse_beacon_csv(sample_text(), PACIFIC)

    assert result.errors == []
    assert [read.register.line_number for read in result.reads] == [2, 3]


def test_sample_values_match_the_file():
    first, second = parse_beacon_csv(sample_text(), PACIFIC).reads

    assert first.register.meter_serial == "1470158170"
    assert first.endpoint_serial == "130615549"
    assert first.register.register == "1"
    assert first.register.read_type is ReadType.ACTUAL
    assert first.register.source == "beacon"
    # 00:59 and 01:59 PDT (UTC-7) on 2024-08-01.
    assert first.register.read_at == datetime(2024, 8, 1, 7, 59, tzinfo=UTC)
    assert second.register.read_at == datetime(2024, 8, 1, 8, 59, tzinfo=UTC)
    assert first.register.read_date == date(2024, 8, 1)


def test_units_kept_as_given():
    # The line mixes units: register 227.6 CCF beside flow 5.0 gallons.
    read = parse_beacon_csv(sample_text(), PACIFIC).reads[0]

    assert read.register.value == Decimal("227.6")
    assert isinstance(read.register.value, Decimal)
    assert read.register.unit == "CCF"
    assert read.flow == Decimal("5.0")
    assert read.flow_unit == "Gallons"


def test_read_time_in_another_zone():
    read = parse_beacon_csv(sample_text(), ZoneInfo("America/New_York")).reads[0]

    assert read.register.read_at == datetime(2024, 8, 1, 4, 59, tzinfo=UTC)


def test_hours_around_fall_back():
    text = export_with({"Read_Time": "2024-11-03 00:59"}, {"Read_Time": "2024-11-03 02:59"})

    result = parse_beacon_csv(text, PACIFIC)

    assert result.errors == []
    # 00:59 PDT (UTC-7) and 02:59 PST (UTC-8): three hours apart on the 25-hour day.
    assert [read.register.read_at for read in result.reads] == [
        datetime(2024, 11, 3, 7, 59, tzinfo=UTC),
        datetime(2024, 11, 3, 10, 59, tzinfo=UTC),
    ]


def test_repeated_local_time_rejected():
    text = export_with({"Read_Time": "2024-11-03 01:59"}, {"Read_Time": "2024-11-03 03:59"})

    result = parse_beacon_csv(text, PACIFIC)

    assert [error.line_number for error in result.errors] == [2]
    assert "'2024-11-03 01:59' occurs twice in America/Los_Angeles" in result.errors[0].reason
    assert [read.register.line_number for read in result.reads] == [3]


def test_skipped_local_time_is_rejected():
    text = export_with({"Read_Time": "2024-03-10 02:30"}, {"Read_Time": "2024-03-10 03:30"})

    result = parse_beacon_csv(text, PACIFIC)

    assert [error.line_number for error in result.errors] == [2]
    assert "'2024-03-10 02:30' does not exist in America/Los_Angeles" in result.errors[0].reason
    # 03:30 PDT (UTC-7) on the 23-hour day.
    assert result.reads[0].register.read_at == datetime(2024, 3, 10, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Read": "227,6"}, "Read '227,6' is not a decimal number."),
        ({"Read": ""}, "Read is empty."),
        ({"Read": "-1.0"}, "Read '-1.0' is negative."),
        ({"Read_Unit": ""}, "Read_Unit is empty."),
        ({"Meter_ID": ""}, "Meter_ID is empty."),
        ({"Read_Time": "08/01/2024 00:59"}, "Read_Time '08/01/2024 00:59' is not a date"),
        ({"Read_Time": "2024-08-01T00:59-07:00"}, "Read_Time '2024-08-01T00:59-07:00' is not"),
        ({"Estimated_Flag": "Y"}, "Estimated_Flag 'Y' is not 0 or 1."),
        ({"Flow": "5.0 gal"}, "Flow '5.0 gal' is not a decimal number."),
        ({"Flow_Unit": ""}, "Flow '5.0' has no Flow_Unit."),
    ],
)
def test_bad_line_kept_as_error(change, expected):
    text = export_with({}, change, {})

    result = parse_beacon_csv(text, PACIFIC)

    assert [error.line_number for error in result.errors] == [3]
    assert expected in result.errors[0].reason
    assert [read.register.line_number for read in result.reads] == [2, 4]


def test_estimated_flag_marks_the_read():
    read = parse_beacon_csv(export_with({"Estimated_Flag": "1"}), PACIFIC).reads[0]

    assert read.register.read_type is ReadType.ESTIMATED


def test_empty_flow_leaves_flow_unset():
    read = parse_beacon_csv(export_with({"Flow": "", "Flow_Unit": ""}), PACIFIC).reads[0]

    assert read.flow is None
    assert read.flow_unit is None


def test_short_line_is_reported():
    text = sample_text().splitlines()[0] + '\n"303022","good"\n'

    result = parse_beacon_csv(text, PACIFIC)

    assert result.reads == []
    assert result.errors[0].line_number == 2
    assert result.errors[0].reason.startswith("Line has 2 fields but the header has 48 columns.")


def test_missing_column_rejects_the_file():
    text = sample_text().replace('"Read_Unit"', '"Unit"', 1)

    with pytest.raises(ReadFileError, match="missing column\\(s\\) Read_Unit"):
        parse_beacon_csv(text, PACIFIC)


def test_empty_file_is_rejected():
    with pytest.raises(ReadFileError, match="empty"):
        parse_beacon_csv("\n", PACIFIC)
