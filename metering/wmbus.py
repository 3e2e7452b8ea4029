"""Parse the JSON lines that the wmbusmeters receiver prints for decoded water telegrams.

Each line is one JSON object such as
`{"id": "76348799", "total_m3": 6.408, "status": "DRY", "timestamp": "...Z", ...}`.
Numbers are read as Decimal straight from their JSON text, so 6.408 stays exact.
The flags come from the meter's own words in `status` and `current_status`, and
backflow also from a backward total above zero. A flag is None when the telegram
carries neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from metering.register_csv import split_physical_lines
from metering.types import RowError

__all__ = ["WmbusParse", "WmbusRead", "parse_wmbus_lines"]

# Total-volume fields wmbusmeters prints, by the unit suffix of the field name.
_TOTAL_FIELDS = {"total_m3": "m3"}
_STATUS_FIELDS = ("status", "current_status")
_BACKWARD_FIELDS = (
    "backflow_m3",
    "total_backward_m3",
    "total_backwards_m3",
    "total_backward_flow_m3",
)


@dataclass(frozen=True)
class WmbusRead:
    """One decoded telegram: the meter's total volume at `read_at` (aware UTC)."""

    line_number: int
    meter_id: str
    read_at: datetime
    total: Decimal
    unit: str
    leak: bool | None
    burst: bool | None
    dry: bool | None
    backflow: bool | None
    driver: str | None = None
    media: str | None = None


@dataclass
class WmbusParse:
    """Result of parsing wmbusmeters output: the good reads and the rejected lines."""

    reads: list[WmbusRead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_wmbus_lines(text: str) -> WmbusParse:
    """Parse one JSON telegram per line; a bad line becomes a RowError, the rest still parse."""
    result = WmbusParse()
    for index, line in enumerate(split_physical_lines(text)):
        if not line.strip():
            continue
        read_or_reason = _parse_line(index + 1, line)
        if isinstance(read_or_reason, str):
            result.errors.append(RowError(index + 1, line, read_or_reason))
        else:
            result.reads.append(read_or_reason)
    return result


def _parse_line(line_number: int, line: str) -> WmbusRead | str:
    try:
        telegram = json.loads(line, parse_float=Decimal)
    except json.JSONDecodeError as error:
        return (
            f"Line is invalid JSON ({error.msg} at column {error.colno}). "
            "Write one wmbusmeters telegram object per line (--format=json)."
        )
    if not isinstance(telegram, dict):
        return "Line is JSON but not an object. Write one telegram object per line."

    meter_id = telegram.get("id")
    if not isinstance(meter_id, str) or not meter_id.strip():
        return f"id {meter_id!r} is not a meter id. Each telegram needs its meter id as text."

    read_at = _parse_timestamp(telegram.get("timestamp"))
    if isinstance(read_at, str):
        return read_at

    total_field = next((name for name in _TOTAL_FIELDS if name in telegram), None)
    if total_field is None:
        return (
            f"Telegram from meter {meter_id} has no total volume field. "
            "Send only meters whose driver prints total_m3."
        )
    total = telegram[total_field]
    if isinstance(total, bool) or not isinstance(total, int | Decimal):
        return f"{total_field} {total!r} is not a number. Write the total volume as a JSON number."

    words = _status_words(telegram)
    return WmbusRead(
        line_number=line_number,
        meter_id=meter_id.strip(),
        read_at=read_at,
        total=Decimal(total),
        unit=_TOTAL_FIELDS[total_field],
        leak=_flag(words, ("LEAK",)),
        burst=_flag(words, ("BURST",)),
        dry=_flag(words, ("DRY",)),
        backflow=_backflow(telegram, words),
        driver=_text_or_none(telegram.get("meter")),
        media=_text_or_none(telegram.get("media")),
    )


def _parse_timestamp(value: Any) -> datetime | str:
    if not isinstance(value, str):
        return (
            f"timestamp {value!r} is missing or not text. "
            "Each telegram needs an ISO 8601 UTC timestamp."
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"timestamp {value!r} is not ISO 8601. Write it like 2024-06-18T12:36:00Z."
    if moment.utcoffset() is None:
        return f"timestamp {value!r} has no UTC offset. Add Z, as wmbusmeters prints it."
    return moment.astimezone(UTC)


def _status_words(telegram: dict[str, Any]) -> list[str] | None:
    """Return the upper-case words of `status` and `current_status`, or None if both are missing."""
    present = [telegram[name] for name in _STATUS_FIELDS if isinstance(telegram.get(name), str)]
    if not present:
        return None
    return [word.upper() for text in present for word in text.split()]


def _flag(words: list[str] | None, markers: tuple[str, ...]) -> bool | None:
    # NOTE: a marker matches anywhere in a word, so PREV_LEAKAGE and P_LEAK count as a leak
    # although they may describe an earlier period, not the current one.
    if words is None:
        return None
    return any(marker in word for word in words for marker in markers)


def _backflow(telegram: dict[str, Any], words: list[str] | None) -> bool | None:
    flagged = _flag(words, ("REVERSE", "BACKFLOW"))
    volumes = [
        telegram[name]
        for name in _BACKWARD_FIELDS
        if isinstance(telegram.get(name), int | Decimal) and not isinstance(telegram[name], bool)
    ]
    if flagged is None and not volumes:
        return None
    return bool(flagged) or any(volume > 0 for volume in volumes)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
