"""Read a NACHA file into the dataclasses of ``models.py``.

The reader accepts what banks' files do in practice. Lines may end in LF or CRLF, and
lines whose trailing spaces were trimmed are padded back to 94. Lines of 9s that pad
the last block, blank lines and a missing final newline are skipped. It raises
``AchFormatError`` for a line longer than 94 characters, a record out of order, or a
field it cannot read. It checks no totals, because ``validate.validate_ach`` does.
"""

from __future__ import annotations

from datetime import date, time

from app.payments.ach import records
from app.payments.ach.errors import AchFormatError
from app.payments.ach.models import (
    AchFile,
    Addenda,
    Batch,
    BatchControl,
    BatchHeader,
    ContestedReturn,
    DishonoredReturn,
    EntryDetail,
    FileControl,
    FileHeader,
    NocAddenda,
    OtherAddenda,
    PaymentAddenda,
    ReturnAddenda,
)


def read_ach(data: bytes | str) -> AchFile:
    """Parse a whole NACHA file. Bytes must be ASCII, so EBCDIC files are rejected."""
    text = _decode(data) if isinstance(data, bytes) else data
    builder = _FileBuilder()
    for index, raw_line in enumerate(text.split("\n")):
        line = raw_line.removesuffix("\r")
        builder.add_line(index + 1, line)
    return builder.finish()


def _decode(data: bytes) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as error:
        line_number = data.count(b"\n", 0, error.start) + 1
        raise AchFormatError(
            f"line {line_number}: byte 0x{data[error.start]:02x} is not ASCII; "
            "NACHA files are plain ASCII text",
            line_number=line_number,
            record_type="",
            field=None,
        ) from None


class _Record:
    """One line being parsed, so each error can name its line, record and field."""

    __slots__ = ("line_number", "record_type", "values")

    def __init__(self, line_number: int, line: str, layout: records.Layout) -> None:
        self.line_number = line_number
        self.record_type = line[0]
        self.values = records.slice_record(line, layout)

    def error(self, field: str | None, problem: str) -> AchFormatError:
        name = records.RECORD_NAMES.get(self.record_type, "record")
        where = f"line {self.line_number}, {name} (type {self.record_type})"
        if field is not None:
            where += f", field {field}"
        return AchFormatError(
            f"{where}: {problem}",
            line_number=self.line_number,
            record_type=self.record_type,
            field=field,
        )

    def text(self, field: str) -> str:
        return self.values[field].strip()

    def raw(self, field: str) -> str:
        return self.values[field]

    def number(self, field: str) -> int:
        value = self.values[field].strip()
        if not (value.isascii() and value.isdigit()):
            raise self.error(field, f"expected digits, found {self.values[field]!r}")
        return int(value)

    def digits(self, field: str) -> str:
        value = self.values[field]
        if not (value.isascii() and value.isdigit()):
            raise self.error(field, f"expected {len(value)} digits, found {value!r}")
        return value

    def date(self, field: str) -> date | None:
        """Read YYMMDD as a date in 2000-2099. Blank or all zeros gives None."""
        value = self.values[field]
        if value.strip() in ("", "000000"):
            return None
        if value.isascii() and value.isdigit():
            try:
                return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
            except ValueError:
                pass
        raise self.error(field, f"expected a date as YYMMDD, found {value!r}")

    def time(self, field: str) -> time | None:
        value = self.values[field]
        if not value.strip():
            return None
        if value.isascii() and value.isdigit():
            try:
                return time(int(value[:2]), int(value[2:4]))
            except ValueError:
                pass
        raise self.error(field, f"expected a time as HHMM, found {value!r}")

    def flag(self, field: str) -> bool:
        value = self.values[field]
        if value not in ("0", "1"):
            raise self.error(field, f"expected 0 or 1, found {value!r}")
        return value == "1"


class _FileBuilder:
    """The state of a file being read: the open batch and entry, and the counts."""

    def __init__(self) -> None:
        self.header: FileHeader | None = None
        self.control: FileControl | None = None
        self.batches: list[Batch] = []
        self.batch_header: BatchHeader | None = None
        self.entries: list[EntryDetail] = []
        self.entry: _Record | None = None
        self.addenda: list[Addenda] = []
        self.record_count = 0
        self.padding_count = 0
        self.last_line_number = 0

    def add_line(self, line_number: int, line: str) -> None:
        self.last_line_number = line_number
        if len(line) > records.RECORD_LENGTH:
            raise AchFormatError(
                f"line {line_number}: {len(line)} characters, more than the "
                f"{records.RECORD_LENGTH} of a NACHA record",
                line_number=line_number,
                record_type=line[:1],
                field=None,
            )
        if not line.strip():
            return
        if line.strip("9") == "":
            self.padding_count += 1
            return
        if self.control is not None:
            raise self._order_error(line_number, line, "a record after the file control")
        self.record_count += 1
        line = line.ljust(records.RECORD_LENGTH)
        record_type = line[0]
        if self.header is None and record_type != "1":
            raise self._order_error(line_number, line, "expected the file header (type 1) first")
        if record_type == "1":
            self._add_file_header(line_number, line)
        elif record_type == "5":
            self._add_batch_header(line_number, line)
        elif record_type == "6":
            self._add_entry(line_number, line)
        elif record_type == "7":
            self._add_addenda(line_number, line)
        elif record_type == "8":
            self._add_batch_control(line_number, line)
        elif record_type == "9":
            self._add_file_control(line_number, line)
        else:
            raise self._order_error(line_number, line, "unknown record type")

    def finish(self) -> AchFile:
        if self.header is None:
            raise AchFormatError(
                "the input has no records", line_number=1, record_type="", field=None
            )
        if self.batch_header is not None:
            raise AchFormatError(
                f"line {self.last_line_number}: the input ends inside batch "
                f"{self.batch_header.batch_number}, which has no batch control (type 8)",
                line_number=self.last_line_number,
                record_type="8",
                field=None,
            )
        if self.control is None:
            raise AchFormatError(
                f"line {self.last_line_number}: the input ends without a file control (type 9)",
                line_number=self.last_line_number,
                record_type="9",
                field=None,
            )
        return AchFile(
            header=self.header,
            batches=tuple(self.batches),
            control=self.control,
            record_count=self.record_count,
            padding_count=self.padding_count,
        )

    def _order_error(self, line_number: int, line: str, problem: str) -> AchFormatError:
        record_type = line[:1]
        name = records.RECORD_NAMES.get(record_type, "record")
        return AchFormatError(
            f"line {line_number}, {name} (type {record_type!r}): {problem}",
            line_number=line_number,
            record_type=record_type,
            field=None,
        )

    def _add_file_header(self, line_number: int, line: str) -> None:
        if self.header is not None:
            raise self._order_error(line_number, line, "a second file header")
        record = _Record(line_number, line, records.FILE_HEADER)
        self.header = FileHeader(
            line_number=line_number,
            priority_code=record.number("priority_code"),
            immediate_destination=record.text("immediate_destination"),
            immediate_origin=record.text("immediate_origin"),
            creation_date=record.date("file_creation_date"),
            creation_time=record.time("file_creation_time"),
            file_id_modifier=record.text("file_id_modifier"),
            immediate_destination_name=record.text("immediate_destination_name"),
            immediate_origin_name=record.text("immediate_origin_name"),
            reference_code=record.text("reference_code"),
        )

    def _add_batch_header(self, line_number: int, line: str) -> None:
        if self.batch_header is not None:
            raise self._order_error(
                line_number,
                line,
                f"batch {self.batch_header.batch_number} has no batch control before this header",
            )
        record = _Record(line_number, line, records.BATCH_HEADER)
        self.batch_header = BatchHeader(
            line_number=line_number,
            service_class_code=record.number("service_class_code"),
            company_name=record.text("company_name"),
            company_discretionary_data=record.text("company_discretionary_data"),
            company_id=record.text("company_id"),
            sec_code=record.text("sec_code"),
            entry_description=record.text("entry_description"),
            company_descriptive_date=record.text("company_descriptive_date"),
            effective_date=record.date("effective_date"),
            settlement_date=record.text("settlement_date"),
            originator_status_code=record.text("originator_status_code"),
            odfi_id=record.text("odfi_id"),
            batch_number=record.number("batch_number"),
        )

    def _add_entry(self, line_number: int, line: str) -> None:
        if self.batch_header is None:
            raise self._order_error(line_number, line, "an entry outside a batch")
        self._close_entry()
        is_iat = self.batch_header.sec_code == "IAT"
        layout = records.IAT_ENTRY_DETAIL if is_iat else records.ENTRY_DETAIL
        self.entry = _Record(line_number, line, layout)

    def _close_entry(self) -> None:
        record = self.entry
        if record is None:
            return
        is_iat = self.batch_header is not None and self.batch_header.sec_code == "IAT"
        self.entries.append(
            EntryDetail(
                line_number=record.line_number,
                transaction_code=record.number("transaction_code"),
                rdfi_id=record.digits("rdfi_id"),
                check_digit=record.raw("check_digit"),
                dfi_account_number=record.text("dfi_account_number"),
                amount_cents=record.number("amount"),
                individual_id="" if is_iat else record.text("individual_id"),
                individual_name="" if is_iat else record.text("individual_name"),
                discretionary_data="" if is_iat else record.text("discretionary_data"),
                addenda_indicator=record.flag("addenda_indicator"),
                trace_number=record.text("trace_number"),
                addenda=tuple(self.addenda),
            )
        )
        self.entry = None
        self.addenda = []

    def _add_addenda(self, line_number: int, line: str) -> None:
        if self.entry is None:
            raise self._order_error(line_number, line, "an addenda record without an entry")
        self.addenda.append(_parse_addenda(line_number, line))

    def _add_batch_control(self, line_number: int, line: str) -> None:
        header = self.batch_header
        if header is None:
            raise self._order_error(line_number, line, "a batch control without a batch header")
        self._close_entry()
        record = _Record(line_number, line, records.BATCH_CONTROL)
        control = BatchControl(
            line_number=line_number,
            service_class_code=record.number("service_class_code"),
            entry_addenda_count=record.number("entry_addenda_count"),
            entry_hash=record.number("entry_hash"),
            debit_total_cents=record.number("debit_total"),
            credit_total_cents=record.number("credit_total"),
            company_id=record.text("company_id"),
            message_authentication_code=record.text("message_authentication_code"),
            odfi_id=record.text("odfi_id"),
            batch_number=record.number("batch_number"),
        )
        self.batches.append(Batch(header=header, entries=tuple(self.entries), control=control))
        self.batch_header = None
        self.entries = []

    def _add_file_control(self, line_number: int, line: str) -> None:
        if self.batch_header is not None:
            raise self._order_error(
                line_number,
                line,
                f"batch {self.batch_header.batch_number} has no batch control "
                "before the file control",
            )
        record = _Record(line_number, line, records.FILE_CONTROL)
        self.control = FileControl(
            line_number=line_number,
            batch_count=record.number("batch_count"),
            block_count=record.number("block_count"),
            entry_addenda_count=record.number("entry_addenda_count"),
            entry_hash=record.number("entry_hash"),
            debit_total_cents=record.number("debit_total"),
            credit_total_cents=record.number("credit_total"),
        )


def _parse_addenda(line_number: int, line: str) -> Addenda:
    addenda_type = line[1:3]
    if addenda_type == "05":
        record = _Record(line_number, line, records.ADDENDA_05)
        return PaymentAddenda(
            line_number=line_number,
            payment_related_information=record.text("payment_related_information"),
            addenda_sequence_number=record.number("addenda_sequence_number"),
            entry_detail_sequence_number=record.number("entry_detail_sequence_number"),
        )
    if addenda_type == "98":
        record = _Record(line_number, line, records.ADDENDA_98)
        return NocAddenda(
            line_number=line_number,
            change_code=record.text("change_code"),
            original_trace=record.text("original_trace"),
            original_rdfi=record.text("original_rdfi"),
            corrected_data=record.text("corrected_data"),
            trace_number=record.text("trace_number"),
        )
    if addenda_type == "99":
        return _parse_return_addenda(line_number, line)
    if not (addenda_type.isascii() and addenda_type.isdigit()):
        record = _Record(line_number, line, records.ADDENDA_05)
        raise record.error("addenda_type", f"expected two digits, found {addenda_type!r}")
    return OtherAddenda(line_number=line_number, addenda_type=addenda_type, content=line[3:])


def _parse_return_addenda(line_number: int, line: str) -> ReturnAddenda:
    code = line[3:6].strip()
    if code in records.DISHONORED_RETURN_CODES:
        record = _Record(line_number, line, records.ADDENDA_99_DISHONORED)
        dishonored = DishonoredReturn(
            return_trace_number=record.text("return_trace_number"),
            return_settlement_date=record.text("return_settlement_date"),
            original_return_reason_code=_reason_code(record.text("original_return_reason_code")),
        )
        return _return_addenda(record, None, dishonored=dishonored)
    if code in records.CONTESTED_RETURN_CODES:
        record = _Record(line_number, line, records.ADDENDA_99_CONTESTED)
        contested = ContestedReturn(
            date_original_entry_returned=record.text("date_original_entry_returned"),
            original_settlement_date=record.text("original_settlement_date"),
            return_trace_number=record.text("return_trace_number"),
            return_settlement_date=record.text("return_settlement_date"),
            original_return_reason_code=_reason_code(record.text("original_return_reason_code")),
            dishonored_return_trace_number=record.text("dishonored_return_trace_number"),
            dishonored_return_settlement_date=record.text("dishonored_return_settlement_date"),
            dishonored_return_reason_code=_reason_code(
                record.text("dishonored_return_reason_code")
            ),
        )
        return _return_addenda(record, None, contested=contested)
    record = _Record(line_number, line, records.ADDENDA_99)
    return _return_addenda(record, record.date("date_of_death"))


def _return_addenda(
    record: _Record,
    date_of_death: date | None,
    *,
    dishonored: DishonoredReturn | None = None,
    contested: ContestedReturn | None = None,
) -> ReturnAddenda:
    information = "" if contested is not None else record.text("addenda_information")
    return ReturnAddenda(
        line_number=record.line_number,
        return_reason_code=record.text("return_reason_code"),
        original_trace=record.text("original_trace"),
        date_of_death=date_of_death,
        original_rdfi=record.text("original_rdfi"),
        addenda_information=information,
        trace_number=record.text("trace_number"),
        dishonored=dishonored,
        contested=contested,
    )


def _reason_code(two_digits: str) -> str:
    """Turn the two digits that dishonored and contested addenda use into 'R01' form."""
    return f"R{two_digits}" if two_digits else ""
