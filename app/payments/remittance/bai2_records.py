"""Split BAI2 text into logical records and read their comma-separated fields.

A logical record is one record line plus its `88` continuation records. Banks bend the
layout in a few common ways, and this module accepts them:

- several records on one physical line, each ended by "/" (`...,2/   02,...`);
- a record ended without "/", or with spaces after it;
- a transaction's text wrapped onto a following line that has no record code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.payments.remittance.model import LineError

RECORD_CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
CONTINUATION = "88"
TRANSACTION_DETAIL = "16"

_RECORD_CODE = re.compile(r"(\d{2}),")
# A "/" that ends a record, followed by the code of another record on the same line.
_NEXT_RECORD_ON_LINE = re.compile(r"/\s*(?=(?:01|02|03|16|49|88|98|99),)")


@dataclass
class Segment:
    """One physical record: its line number, its text after the record code, and its source."""

    line_number: int
    body: str
    source: str
    # True for a wrapped line without a record code, which trailers do not count as a record.
    bare: bool = False


@dataclass
class Record:
    """A record and its continuations, in file order."""

    code: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def line_number(self) -> int:
        return self.segments[0].line_number

    @property
    def physical_count(self) -> int:
        """How many records the BAI2 trailers count for this one: itself and its 88s."""
        return sum(1 for segment in self.segments if not segment.bare)

    @property
    def raw(self) -> str:
        return "\n".join(segment.source for segment in self.segments)


def split_records(lines: Sequence[str]) -> tuple[list[Record], list[LineError]]:
    """Group the physical lines of a BAI2 file into logical records."""
    records: list[Record] = []
    errors: list[LineError] = []
    for index, line in enumerate(lines):
        line_number = index + 1
        for piece in _split_line(line):
            _add_piece(piece, line_number, records, errors)
    return records, errors


def _split_line(line: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _NEXT_RECORD_ON_LINE.finditer(line):
        pieces.append(line[start : match.start() + 1])
        start = match.end()
    pieces.append(line[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _add_piece(
    piece: str, line_number: int, records: list[Record], errors: list[LineError]
) -> None:
    match = _RECORD_CODE.match(piece)
    if match is None:
        _add_bare_piece(piece, line_number, records, errors)
        return

    code = match.group(1)
    segment = Segment(line_number=line_number, body=piece[match.end() :], source=piece)
    if code not in RECORD_CODES:
        errors.append(
            LineError(
                line_number,
                "bai2_unknown_record",
                f"record code {code!r} is not a BAI2 record code (01, 02, 03, 16, 49, 88, "
                "98 or 99), so the record was skipped; ask the bank whether the file is "
                "damaged",
            )
        )
        return
    if code != CONTINUATION:
        records.append(Record(code=code, segments=[segment]))
        return
    if not records:
        errors.append(
            LineError(
                line_number,
                "bai2_orphan_continuation",
                "continuation record 88 comes before any record it could continue, so it "
                "was skipped; ask the bank whether the start of the file is missing",
            )
        )
        return
    records[-1].segments.append(segment)


def _add_bare_piece(
    piece: str, line_number: int, records: list[Record], errors: list[LineError]
) -> None:
    """Attach a line without a record code to the transaction text before it, if any."""
    if records and records[-1].code == TRANSACTION_DETAIL:
        previous = records[-1]
        previous.segments.append(
            Segment(line_number=line_number, body=piece, source=piece, bare=True)
        )
        errors.append(
            LineError(
                line_number,
                "bai2_no_record_code",
                f"line {piece[:20]!r} has no record code, so it was read as more text "
                f"of the transaction on line {previous.line_number}",
                severity="warning",
            )
        )
        return
    errors.append(
        LineError(
            line_number,
            "bai2_no_record_code",
            f"line {piece[:20]!r} has no record code and follows no transaction, so it "
            "was skipped; ask the bank whether the file is damaged",
        )
    )


class FieldReader:
    """Read a record's fields in order, across its continuation records.

    A continuation record starts with the field after the last one of the record it
    continues, so `03,...,190/` followed by `88,500000` reads as the fields "190" and
    "500000". A "/" at the end of a physical record ends it. A "/" inside a field, as in
    a reference such as "AB/GS/0001", is part of the field.
    """

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._bodies = [segment.body for segment in segments]
        self._index = 0
        self._position = 0
        self._segment_done = False

    def next(self) -> str | None:
        """Return the next field without surrounding spaces, or None when none is left."""
        while self._index < len(self._bodies):
            if self._segment_done:
                self._advance()
                continue
            body = self._bodies[self._index]
            comma = body.find(",", self._position)
            if comma == -1:
                value = _strip_terminator(body[self._position :])
                self._segment_done = True
            else:
                value = body[self._position : comma]
                self._position = comma + 1
            return value.strip()
        return None

    def next_or_blank(self) -> str:
        """Return the next field, or "" when the record has ended (a defaulted field)."""
        value = self.next()
        return "" if value is None else value

    def rest_as_text(self) -> list[str]:
        """Return the rest of the record as text parts: commas are part of free text."""
        parts: list[str] = []
        if self._index < len(self._bodies) and not self._segment_done:
            parts.append(self._bodies[self._index][self._position :])
        parts.extend(self._bodies[self._index + 1 :])
        self._index = len(self._bodies)
        return [_strip_terminator(part).strip() for part in parts]

    def _advance(self) -> None:
        self._index += 1
        self._position = 0
        self._segment_done = False


def _strip_terminator(text: str) -> str:
    trimmed = text.rstrip()
    return trimmed[:-1] if trimmed.endswith("/") else trimmed
