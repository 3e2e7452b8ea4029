"""Fixed-width layouts of the NACHA records and the transaction-code classes.

Every record is 94 characters. Columns are 1-based and inclusive, the way NACHA's record
formats number them. A numeric field is right-justified and zero-filled, and an
alphanumeric field is left-justified and space-filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
ENTRY_HASH_MODULUS = 10**10


class Field(NamedTuple):
    """One field of a record: its name, first and last column (1-based) and kind."""

    name: str
    start: int
    end: int
    numeric: bool = False

    @property
    def width(self) -> int:
        return self.end - self.start + 1


Layout = tuple[Field, ...]

FILE_HEADER: Layout = (
    Field("record_type", 1, 1),
    Field("priority_code", 2, 3, numeric=True),
    Field("immediate_destination", 4, 13),
    Field("immediate_origin", 14, 23),
    Field("file_creation_date", 24, 29),
    Field("file_creation_time", 30, 33),
    Field("file_id_modifier", 34, 34),
    Field("record_size", 35, 37),
    Field("blocking_factor", 38, 39),
    Field("format_code", 40, 40),
    Field("immediate_destination_name", 41, 63),
    Field("immediate_origin_name", 64, 86),
    Field("reference_code", 87, 94),
)

# IAT batch headers put other fields in columns 5-50 and 64-69 (see models.BatchHeader).
BATCH_HEADER: Layout = (
    Field("record_type", 1, 1),
    Field("service_class_code", 2, 4, numeric=True),
    Field("company_name", 5, 20),
    Field("company_discretionary_data", 21, 40),
    Field("company_id", 41, 50),
    Field("sec_code", 51, 53),
    Field("entry_description", 54, 63),
    Field("company_descriptive_date", 64, 69),
    Field("effective_date", 70, 75),
    Field("settlement_date", 76, 78),
    Field("originator_status_code", 79, 79),
    Field("odfi_id", 80, 87),
    Field("batch_number", 88, 94, numeric=True),
)

ENTRY_DETAIL: Layout = (
    Field("record_type", 1, 1),
    Field("transaction_code", 2, 3, numeric=True),
    Field("rdfi_id", 4, 11),
    Field("check_digit", 12, 12),
    Field("dfi_account_number", 13, 29),
    Field("amount", 30, 39, numeric=True),
    Field("individual_id", 40, 54),
    Field("individual_name", 55, 76),
    Field("discretionary_data", 77, 78),
    Field("addenda_indicator", 79, 79),
    Field("trace_number", 80, 94),
)

# IAT entries keep the receiver's name in addenda 10 and carry a 35-character account.
IAT_ENTRY_DETAIL: Layout = (
    Field("record_type", 1, 1),
    Field("transaction_code", 2, 3, numeric=True),
    Field("rdfi_id", 4, 11),
    Field("check_digit", 12, 12),
    Field("addenda_record_count", 13, 16),
    Field("reserved", 17, 29),
    Field("amount", 30, 39, numeric=True),
    Field("dfi_account_number", 40, 74),
    Field("reserved_2", 75, 76),
    Field("ofac_screening_indicators", 77, 78),
    Field("addenda_indicator", 79, 79),
    Field("trace_number", 80, 94),
)

ADDENDA_05: Layout = (
    Field("record_type", 1, 1),
    Field("addenda_type", 2, 3),
    Field("payment_related_information", 4, 83),
    Field("addenda_sequence_number", 84, 87, numeric=True),
    Field("entry_detail_sequence_number", 88, 94, numeric=True),
)

ADDENDA_98: Layout = (
    Field("record_type", 1, 1),
    Field("addenda_type", 2, 3),
    Field("change_code", 4, 6),
    Field("original_trace", 7, 21),
    Field("reserved", 22, 27),
    Field("original_rdfi", 28, 35),
    Field("corrected_data", 36, 64),
    Field("reserved_2", 65, 79),
    Field("trace_number", 80, 94),
)

ADDENDA_99: Layout = (
    Field("record_type", 1, 1),
    Field("addenda_type", 2, 3),
    Field("return_reason_code", 4, 6),
    Field("original_trace", 7, 21),
    Field("date_of_death", 22, 27),
    Field("original_rdfi", 28, 35),
    Field("addenda_information", 36, 79),
    Field("trace_number", 80, 94),
)

# The ODFI dishonors a return with R61, R62 or R67-R70 and names the return it refuses.
ADDENDA_99_DISHONORED: Layout = (
    Field("record_type", 1, 1),
    Field("addenda_type", 2, 3),
    Field("return_reason_code", 4, 6),
    Field("original_trace", 7, 21),
    Field("reserved", 22, 27),
    Field("original_rdfi", 28, 35),
    Field("reserved_2", 36, 38),
    Field("return_trace_number", 39, 53),
    Field("return_settlement_date", 54, 56),
    Field("original_return_reason_code", 57, 58),
    Field("addenda_information", 59, 79),
    Field("trace_number", 80, 94),
)

# The RDFI contests a dishonored return with R71-R77 and names both earlier entries.
ADDENDA_99_CONTESTED: Layout = (
    Field("record_type", 1, 1),
    Field("addenda_type", 2, 3),
    Field("return_reason_code", 4, 6),
    Field("original_trace", 7, 21),
    Field("date_original_entry_returned", 22, 27),
    Field("original_rdfi", 28, 35),
    Field("original_settlement_date", 36, 38),
    Field("return_trace_number", 39, 53),
    Field("return_settlement_date", 54, 56),
    Field("original_return_reason_code", 57, 58),
    Field("dishonored_return_trace_number", 59, 73),
    Field("dishonored_return_settlement_date", 74, 76),
    Field("dishonored_return_reason_code", 77, 78),
    Field("reserved", 79, 79),
    Field("trace_number", 80, 94),
)

DISHONORED_RETURN_CODES = frozenset({"R61", "R62", "R67", "R68", "R69", "R70"})
CONTESTED_RETURN_CODES = frozenset({"R71", "R72", "R73", "R74", "R75", "R76", "R77"})

BATCH_CONTROL: Layout = (
    Field("record_type", 1, 1),
    Field("service_class_code", 2, 4, numeric=True),
    Field("entry_addenda_count", 5, 10, numeric=True),
    Field("entry_hash", 11, 20, numeric=True),
    Field("debit_total", 21, 32, numeric=True),
    Field("credit_total", 33, 44, numeric=True),
    Field("company_id", 45, 54),
    Field("message_authentication_code", 55, 73),
    Field("reserved", 74, 79),
    Field("odfi_id", 80, 87),
    Field("batch_number", 88, 94, numeric=True),
)

FILE_CONTROL: Layout = (
    Field("record_type", 1, 1),
    Field("batch_count", 2, 7, numeric=True),
    Field("block_count", 8, 13, numeric=True),
    Field("entry_addenda_count", 14, 21, numeric=True),
    Field("entry_hash", 22, 31, numeric=True),
    Field("debit_total", 32, 43, numeric=True),
    Field("credit_total", 44, 55, numeric=True),
    Field("reserved", 56, 94),
)

RECORD_NAMES = {
    "1": "file header",
    "5": "batch header",
    "6": "entry detail",
    "7": "addenda",
    "8": "batch control",
    "9": "file control",
}


def slice_record(line: str, layout: Layout) -> dict[str, str]:
    """Split a 94-character line into its fields, unstripped."""
    return {field.name: line[field.start - 1 : field.end] for field in layout}


def format_record(layout: Layout, values: Mapping[str, str | int]) -> str:
    """Render one record from ``values``. A field missing from ``values`` is left blank.

    Raises ValueError when a value does not fit its field or a numeric field gets a
    negative number or text. The writer checks its input first, so this is a backstop.
    """
    parts = []
    for name, start, end, numeric in layout:
        width = end - start + 1
        value = values.get(name, "")
        if numeric:
            if isinstance(value, str):
                value = int(value) if value.strip() else 0
            if value < 0:
                raise ValueError(f"{name}: negative value {value}")
            text = str(value).rjust(width, "0")
        else:
            text = str(value).ljust(width)
        if len(text) != width:
            raise ValueError(f"{name}: {value!r} is wider than {width} characters")
        parts.append(text)
    return "".join(parts)


# Transaction codes: the first digit is the account type (2 checking, 3 savings, 4 general
# ledger, 5 loan) and the second the kind of entry.
CREDIT_KIND_DIGITS = frozenset("1234")
DEBIT_KIND_DIGITS = frozenset("6789")
# 3 and 8 are prenotes, 4 and 9 zero-dollar entries with remittance data.
NON_MONETARY_KIND_DIGITS = frozenset("3489")


def is_credit_code(transaction_code: int) -> bool:
    """Return whether the code's second digit is 1-4, returns of credits (21, 31) included."""
    return str(transaction_code % 10) in CREDIT_KIND_DIGITS


def is_debit_code(transaction_code: int) -> bool:
    """Return whether the code's second digit is 6-9, returns of debits (26, 36) included."""
    return str(transaction_code % 10) in DEBIT_KIND_DIGITS


def counts_in_totals(transaction_code: int) -> bool:
    """Return whether an entry's amount belongs in the batch totals (not for prenotes)."""
    kind = str(transaction_code % 10)
    return kind not in NON_MONETARY_KIND_DIGITS and (
        kind in CREDIT_KIND_DIGITS or kind in DEBIT_KIND_DIGITS
    )
