"""Return and change files as a customer's bank would send them, for the demo and tests.

Each record is laid out field by field from the NACHA record formats (94 characters),
independently of our writer, so tests that read these files check our reader against a
second implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Returned:
    trace: str
    cents: int
    code: str
    routing: str = "07100001"
    #: An addenda 98 change notice instead of a return when set (corrected data).
    corrected_data: str | None = None


def _record(*fields: str) -> str:
    line = "".join(fields)
    if len(line) != 94:
        raise ValueError(f"record is {len(line)} characters, not 94: {line!r}")
    return line


def return_file(entries: Sequence[Returned], *, odfi: str = "07100030") -> str:
    """Return the text of a file with one PPD batch of returns or change notices."""
    lines = [_record(
        "1", "01", " 071000301", "1234567890", "261212", "0800", "A", "094", "10", "1",
        "FEDERAL RESERVE BANK".ljust(23), "RIVERBEND UTILITIES".ljust(23), " " * 8,
    )]
    sec = "COR" if any(entry.corrected_data for entry in entries) else "PPD"
    lines.append(_record(
        "5", "225", "RIVERBEND UTILIT", " " * 20, "1234567890", sec, "UTILITY   ",
        " " * 6, "261212", "   ", "1", odfi, "0000001",
    ))
    entry_hash = 0
    debits = 0
    for sequence, entry in enumerate(entries, start=1):
        is_change = entry.corrected_data is not None
        # 26 is a checking debit's return or change notice; a change carries no money.
        code = "26"
        amount = 0 if is_change else entry.cents
        entry_hash += int(entry.routing)
        debits += amount
        trace = f"{entry.routing}{sequence:07d}"
        lines.append(_record(
            "6", code, entry.routing, "3", "123456789".ljust(17), f"{amount:010d}",
            " " * 15, "RETURNED CUSTOMER".ljust(22), "  ", "1", trace,
        ))
        if is_change:
            lines.append(_record(
                "7", "98", entry.code, entry.trace, " " * 6, entry.routing,
                (entry.corrected_data or "").ljust(29), " " * 15, trace,
            ))
        else:
            lines.append(_record(
                "7", "99", entry.code, entry.trace, " " * 6, entry.routing, " " * 44, trace,
            ))
    count = 2 * len(entries)
    entry_hash %= 10**10
    lines.append(_record(
        "8", "225", f"{count:06d}", f"{entry_hash:010d}", f"{debits:012d}", "0" * 12,
        "1234567890", " " * 19, " " * 6, odfi, "0000001",
    ))
    records = len(lines) + 1
    blocks = (records + 9) // 10
    lines.append(_record(
        "9", "000001", f"{blocks:06d}", f"{count:08d}", f"{entry_hash:010d}",
        f"{debits:012d}", "0" * 12, " " * 39,
    ))
    lines.extend("9" * 94 for _ in range(blocks * 10 - records))
    return "\r\n".join(lines) + "\r\n"
