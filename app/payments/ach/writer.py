"""Write a NACHA file of PPD debits: the bank drafts of a utility's customers.

``iter_ppd_debits`` yields the file one record at a time and reads the entries lazily,
so its memory use does not grow with the number of entries. ``write_ppd_debits`` joins the
records into bytes. Every value is checked before its record is yielded. An error
therefore comes before anything of its batch is yielded when it is in the originator
or a batch's settings, but mid-batch when it is in an entry. A caller that streams to
disk must delete the partial file on error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from app.payments.ach import records
from app.payments.ach.errors import AchInputError
from app.payments.ach.text import alphanumeric
from app.payments.ach.writer_input import (
    MAX_AMOUNT_CENTS,
    MAX_BATCH_RECORDS,
    MAX_BATCHES,
    MAX_FILE_RECORDS,
    MAX_TOTAL_CENTS,
    MAX_TRACE_SEQUENCE,
    RETRY_DESCRIPTION,
    DebitBatch,
    DebitEntry,
    OffsetAccount,
    Originator,
    OriginatorFields,
    checked_entry,
    checked_offset,
)

__all__ = [
    "RETRY_DESCRIPTION",
    "DebitBatch",
    "DebitEntry",
    "OffsetAccount",
    "Originator",
    "iter_ppd_debits",
    "write_ppd_debits",
]


def write_ppd_debits(
    originator: Originator,
    batches: Iterable[DebitBatch],
    *,
    created_at: datetime,
    file_id_modifier: str = "A",
    line_ending: str = "\n",
    first_trace_sequence: int = 1,
) -> bytes:
    """Write a whole PPD debit file as ASCII bytes; see ``iter_ppd_debits`` for the arguments."""
    return b"".join(
        iter_ppd_debits(
            originator,
            batches,
            created_at=created_at,
            file_id_modifier=file_id_modifier,
            line_ending=line_ending,
            first_trace_sequence=first_trace_sequence,
        )
    )


def iter_ppd_debits(
    originator: Originator,
    batches: Iterable[DebitBatch],
    *,
    created_at: datetime,
    file_id_modifier: str = "A",
    line_ending: str = "\n",
    first_trace_sequence: int = 1,
) -> Iterator[bytes]:
    """Yield the records of a PPD debit file, each as ASCII bytes ending in ``line_ending``.

    ``created_at`` is written as the file creation date and time, as given (the caller
    picks the zone). ``file_id_modifier`` (A-Z or 0-9) distinguishes files created on the
    same day. Trace numbers are the ODFI's 8-digit id and a sequence that runs through the
    file from ``first_trace_sequence`` (pass where the last file stopped, so that trace
    numbers stay unique across files), wrapping from 9999999 to 1. The file ends with
    lines of 94 '9's up to a multiple of 10 records.
    Raises AchInputError naming the batch, entry and field of the first bad value.
    """
    if line_ending not in ("\n", "\r\n"):
        raise AchInputError(
            f"line_ending must be '\\n' or '\\r\\n', got {line_ending!r}", field="line_ending"
        )
    modifier = file_id_modifier.upper()
    if len(modifier) != 1 or not (modifier.isascii() and modifier.isalnum()):
        raise AchInputError(
            f"file_id_modifier must be one letter A-Z or digit 0-9, got {file_id_modifier!r}",
            field="file_id_modifier",
        )
    if not 1 <= first_trace_sequence <= MAX_TRACE_SEQUENCE:
        raise AchInputError(
            f"first_trace_sequence must be from 1 to {MAX_TRACE_SEQUENCE}, got "
            f"{first_trace_sequence}",
            field="first_trace_sequence",
        )
    file = _FileWriter(
        OriginatorFields.from_originator(originator), line_ending, first_trace_sequence
    )
    yield file.line(records.FILE_HEADER, file.header_values(created_at, modifier))
    for batch_number, batch in enumerate(batches, start=1):
        yield from file.batch_lines(batch_number, batch)
    if file.batch_count == 0:
        raise AchInputError("the file needs at least one batch", field="batches")
    yield from file.control_lines()


class _FileWriter:
    """Running counts and totals of the file being written."""

    def __init__(
        self, originator: OriginatorFields, line_ending: str, first_trace_sequence: int = 1
    ) -> None:
        self.originator = originator
        self.line_ending = line_ending
        self.batch_count = 0
        self.record_count = 0
        self.entry_addenda_count = 0
        self.entry_hash = 0
        self.debit_total = 0
        self.credit_total = 0
        self.entry_count = 0
        self.first_trace_sequence = first_trace_sequence
        self.trace_sequence = 0

    def line(self, layout: records.Layout, values: dict[str, str | int]) -> bytes:
        self.record_count += 1
        return (records.format_record(layout, values) + self.line_ending).encode("ascii")

    def header_values(self, created_at: datetime, modifier: str) -> dict[str, str | int]:
        originator = self.originator
        return {
            "record_type": "1",
            "priority_code": 1,
            "immediate_destination": originator.immediate_destination,
            "immediate_origin": originator.immediate_origin,
            "file_creation_date": created_at.strftime("%y%m%d"),
            "file_creation_time": created_at.strftime("%H%M"),
            "file_id_modifier": modifier,
            "record_size": f"{records.RECORD_LENGTH:03d}",
            "blocking_factor": f"{records.BLOCKING_FACTOR:02d}",
            "format_code": "1",
            "immediate_destination_name": originator.immediate_destination_name,
            "immediate_origin_name": originator.immediate_origin_name,
            "reference_code": originator.reference_code,
        }

    def batch_lines(self, batch_number: int, batch: DebitBatch) -> Iterator[bytes]:
        def fail(field: str, problem: str) -> AchInputError:
            return AchInputError(
                f"batch {batch_number}, {field}: {problem}", field=field, batch_number=batch_number
            )

        if batch_number > MAX_BATCHES:
            raise fail("batches", f"a file can contain at most {MAX_BATCHES} batches")
        description = alphanumeric(batch.entry_description)
        if not description or len(description) > 10:
            raise fail(
                "entry_description",
                f"must be 1 to 10 characters, got {batch.entry_description!r}",
            )
        descriptive_date = alphanumeric(batch.company_descriptive_date)
        if len(descriptive_date) > 6:
            raise fail(
                "company_descriptive_date", f"is longer than 6 characters: {descriptive_date!r}"
            )
        if not isinstance(batch.effective_date, date):
            raise fail("effective_date", f"must be a date, got {batch.effective_date!r}")
        offset = None
        if batch.offset is not None:
            offset = checked_offset(batch.offset, self.originator.company_name, fail)

        entries = iter(batch.entries)
        first = next(entries, None)
        if first is None:
            raise fail("entries", "the batch has no entries")

        self.batch_count += 1
        originator = self.originator
        service_class = 200 if offset is not None else 225
        yield self.line(
            records.BATCH_HEADER,
            {
                "record_type": "5",
                "service_class_code": service_class,
                "company_name": originator.company_name,
                "company_id": originator.company_id,
                "sec_code": "PPD",
                "entry_description": description,
                "company_descriptive_date": descriptive_date,
                "effective_date": batch.effective_date.strftime("%y%m%d"),
                "originator_status_code": "1",
                "odfi_id": originator.odfi_id,
                "batch_number": batch_number,
            },
        )

        totals = _BatchTotals()
        entry_number = 0
        for entry in _chain(first, entries):
            entry_number += 1
            fields = checked_entry(entry, batch_number, entry_number)
            yield from self._entry_lines(fields, totals)
            if totals.records > MAX_BATCH_RECORDS:
                raise fail(
                    "entries",
                    f"a batch can contain at most {MAX_BATCH_RECORDS} records; split the batch",
                )
            if totals.debits > MAX_TOTAL_CENTS:
                raise fail(
                    "entries",
                    f"the debit total exceeds {MAX_TOTAL_CENTS} cents; split the batch",
                )
        if offset is not None:
            if totals.debits > MAX_AMOUNT_CENTS:
                raise fail(
                    "offset",
                    f"the debit total {totals.debits} does not fit the 10-digit amount of "
                    "one offset entry; split the batch",
                )
            offset_fields = dict(offset)
            offset_fields["amount"] = totals.debits
            yield from self._entry_lines(offset_fields, totals)

        yield self.line(
            records.BATCH_CONTROL,
            {
                "record_type": "8",
                "service_class_code": service_class,
                "entry_addenda_count": totals.records,
                "entry_hash": totals.entry_hash % records.ENTRY_HASH_MODULUS,
                "debit_total": totals.debits,
                "credit_total": totals.credits,
                "company_id": originator.company_id,
                "odfi_id": originator.odfi_id,
                "batch_number": batch_number,
            },
        )
        self.entry_addenda_count += totals.records
        self.entry_hash += totals.entry_hash
        self.debit_total += totals.debits
        self.credit_total += totals.credits
        if self.debit_total > MAX_TOTAL_CENTS:
            raise fail(
                "entries",
                f"the file's debit total exceeds {MAX_TOTAL_CENTS} cents; split the file",
            )
        if self.entry_addenda_count > MAX_FILE_RECORDS:
            raise fail(
                "entries",
                f"a file can contain at most {MAX_FILE_RECORDS} entries and addenda; "
                "split the file",
            )

    def _entry_lines(self, fields: dict[str, str | int], totals: _BatchTotals) -> Iterator[bytes]:
        self.entry_count += 1
        self.trace_sequence = (
            self.first_trace_sequence - 1 + self.entry_count - 1
        ) % MAX_TRACE_SEQUENCE + 1
        if self.entry_count > MAX_TRACE_SEQUENCE:
            raise AchInputError(
                f"a file can contain at most {MAX_TRACE_SEQUENCE} entries, the limit of "
                "the 7-digit trace sequence; split the file",
                field="entries",
            )
        information = fields.pop("payment_information", "")
        fields["record_type"] = "6"
        fields["addenda_indicator"] = "1" if information else "0"
        fields["trace_number"] = f"{self.originator.odfi_id}{self.trace_sequence:07d}"
        yield self.line(records.ENTRY_DETAIL, fields)
        totals.add(fields)
        if information:
            yield self.line(
                records.ADDENDA_05,
                {
                    "record_type": "7",
                    "addenda_type": "05",
                    "payment_related_information": information,
                    "addenda_sequence_number": 1,
                    "entry_detail_sequence_number": self.trace_sequence,
                },
            )
            totals.records += 1

    def control_lines(self) -> Iterator[bytes]:
        records_with_control = self.record_count + 1
        blocks = math.ceil(records_with_control / records.BLOCKING_FACTOR)
        yield self.line(
            records.FILE_CONTROL,
            {
                "record_type": "9",
                "batch_count": self.batch_count,
                "block_count": blocks,
                "entry_addenda_count": self.entry_addenda_count,
                "entry_hash": self.entry_hash % records.ENTRY_HASH_MODULUS,
                "debit_total": self.debit_total,
                "credit_total": self.credit_total,
            },
        )
        padding = ("9" * records.RECORD_LENGTH + self.line_ending).encode("ascii")
        for _ in range(blocks * records.BLOCKING_FACTOR - records_with_control):
            yield padding


class _BatchTotals:
    __slots__ = ("records", "entry_hash", "debits", "credits")

    def __init__(self) -> None:
        self.records = 0
        self.entry_hash = 0
        self.debits = 0
        self.credits = 0

    def add(self, fields: dict[str, str | int]) -> None:
        self.records += 1
        self.entry_hash += int(fields["rdfi_id"])
        amount = int(fields["amount"])
        if records.is_debit_code(int(fields["transaction_code"])):
            self.debits += amount
        else:
            self.credits += amount


def _chain(first: DebitEntry, rest: Iterator[DebitEntry]) -> Iterator[DebitEntry]:
    yield first
    yield from rest
