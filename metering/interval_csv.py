"""Parse interval CSV files with the columns `start,value`.

This is the shape of the OpenEEmeter sample series: one row per interval, `start`
an ISO 8601 timestamp with its UTC offset, `value` the consumption in the interval.
The file names neither the unit nor the interval length, so the caller passes both.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from metering.register_csv import split_physical_lines
from metering.types import IntervalParse, IntervalRead, ReadFileError, RowError

__all__ = ["parse_interval_csv"]

_SIGNED_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_ZERO = timedelta(0)


def parse_interval_csv(text: str, unit: str, seconds: int = 3600) -> IntervalParse:
    """Parse `start,value` rows into intervals of `seconds` seconds in `unit`.

    Values may be negative, because net-metered intervals can export more than they
    import. Starts are converted to UTC, so the two 01:00 rows of a fall-back day
    (offsets -05:00 and -06:00 in US Central) stay two distinct intervals.
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")

    lines = split_physical_lines(text)
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise ReadFileError("The interval file is empty. Add the header 'start,value'.")
    header = [name.strip().lower() for name in next(csv.reader([lines[header_index]]))]
    if sorted(header) != ["start", "value"]:
        raise ReadFileError(
            f"Header on line {header_index + 1} is {','.join(header)!r}. "
            "An interval file must have exactly the columns start and value."
        )
    start_column = header.index("start")

    result = IntervalParse()
    for index in range(header_index + 1, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        # Without quotes, csv.reader splits a line exactly like str.split, only slower.
        fields = next(csv.reader([line])) if '"' in line else line.split(",")
        if len(fields) != 2:
            reason = f"Line has {len(fields)} fields. Write exactly two: start and value."
            result.errors.append(RowError(index + 1, line, reason))
            continue
        start_text = fields[start_column].strip()
        value_text = fields[1 - start_column].strip()

        start, start_problem = _parse_start(start_text)
        if start_problem is not None:
            result.errors.append(RowError(index + 1, line, start_problem))
            continue
        if not _SIGNED_DECIMAL.fullmatch(value_text):
            reason = (
                f"value {value_text!r} is not a decimal number. "
                "Write it with digits and an optional decimal point (e.g. 0.42)."
            )
            result.errors.append(RowError(index + 1, line, reason))
            continue
        assert start is not None
        result.reads.append(IntervalRead(start, seconds, Decimal(value_text), unit))
    return result


def _parse_start(text: str) -> tuple[datetime | None, str | None]:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, (
            f"start {text!r} is not an ISO 8601 timestamp. Write it like 2016-03-13T03:00:00-05:00."
        )
    if moment.utcoffset() is None:
        return None, (
            f"start {text!r} has no UTC offset, so a fall-back hour is ambiguous. "
            "Add Z or an offset such as -06:00."
        )
    return (moment if moment.utcoffset() == _ZERO else moment.astimezone(UTC)), None
