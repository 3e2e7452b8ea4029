"""Records of a parsed NACHA file as frozen dataclasses.

Text fields are stripped of the padding spaces. Amounts are integer cents in
``*_cents`` fields, with a ``Decimal`` dollar property beside each. ``line_number`` is
the 1-based physical line of the record in the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from app.payments.ach.records import is_credit_code, is_debit_code


def cents_to_dollars(cents: int) -> Decimal:
    """Convert integer cents to a Decimal with two places, exactly."""
    return Decimal(cents).scaleb(-2)


class _DollarTotals:
    """Dollar views of a control record's ``debit_total_cents`` and ``credit_total_cents``."""

    __slots__ = ()
    debit_total_cents: int
    credit_total_cents: int

    @property
    def debit_total(self) -> Decimal:
        return cents_to_dollars(self.debit_total_cents)

    @property
    def credit_total(self) -> Decimal:
        return cents_to_dollars(self.credit_total_cents)


@dataclass(frozen=True, slots=True)
class FileHeader:
    line_number: int
    priority_code: int
    immediate_destination: str
    immediate_origin: str
    creation_date: date | None
    creation_time: time | None
    file_id_modifier: str
    immediate_destination_name: str
    immediate_origin_name: str
    reference_code: str


@dataclass(frozen=True, slots=True)
class FileControl(_DollarTotals):
    line_number: int
    batch_count: int
    block_count: int
    entry_addenda_count: int
    entry_hash: int
    debit_total_cents: int
    credit_total_cents: int


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """Company/batch header.

    An IAT batch header is read with the same columns. For IAT, ``company_name`` contains
    the IAT indicator, ``company_discretionary_data`` the foreign-exchange fields and
    destination country, and ``company_descriptive_date`` the two ISO currency codes.
    """

    line_number: int
    service_class_code: int
    company_name: str
    company_discretionary_data: str
    company_id: str
    sec_code: str
    entry_description: str
    company_descriptive_date: str
    effective_date: date | None
    settlement_date: str
    originator_status_code: str
    odfi_id: str
    batch_number: int


@dataclass(frozen=True, slots=True)
class BatchControl(_DollarTotals):
    line_number: int
    service_class_code: int
    entry_addenda_count: int
    entry_hash: int
    debit_total_cents: int
    credit_total_cents: int
    company_id: str
    message_authentication_code: str
    odfi_id: str
    batch_number: int


@dataclass(frozen=True, slots=True)
class PaymentAddenda:
    """Addenda type 05: free-form payment-related information for the receiver."""

    line_number: int
    payment_related_information: str
    addenda_sequence_number: int
    entry_detail_sequence_number: int


@dataclass(frozen=True, slots=True)
class NocAddenda:
    """Addenda type 98 of a notification of change (SEC code COR).

    ``corrected_data`` is columns 36-64, stripped. ``codes.corrected_fields`` splits it
    into the entry fields that the change code names.
    """

    line_number: int
    change_code: str
    original_trace: str
    original_rdfi: str
    corrected_data: str
    trace_number: str


@dataclass(frozen=True, slots=True)
class DishonoredReturn:
    """Columns 39-58 of a dishonored return's addenda (R61, R62, R67-R70).

    Settlement dates are 3-digit days of the year, as written in the file.
    """

    return_trace_number: str
    return_settlement_date: str
    original_return_reason_code: str


@dataclass(frozen=True, slots=True)
class ContestedReturn:
    """Columns 22-27 and 36-78 of a contested dishonored return's addenda (R71-R77).

    Dates are kept as written: YYMMDD for the first, 3-digit days of the year for the
    settlement dates.
    """

    date_original_entry_returned: str
    original_settlement_date: str
    return_trace_number: str
    return_settlement_date: str
    original_return_reason_code: str
    dishonored_return_trace_number: str
    dishonored_return_settlement_date: str
    dishonored_return_reason_code: str


@dataclass(frozen=True, slots=True)
class ReturnAddenda:
    """Addenda type 99 of a return, a dishonored return or a contested dishonored return.

    ``return_reason_code`` is columns 4-6 and ``original_trace`` columns 7-21 in every
    kind. ``date_of_death`` is read only for plain returns. For the other two kinds,
    ``dishonored`` or ``contested`` contains the fields in columns 22-78, and
    ``addenda_information`` only their free-text columns (none for a contested return).
    """

    line_number: int
    return_reason_code: str
    original_trace: str
    date_of_death: date | None
    original_rdfi: str
    addenda_information: str
    trace_number: str
    dishonored: DishonoredReturn | None = None
    contested: ContestedReturn | None = None


@dataclass(frozen=True, slots=True)
class OtherAddenda:
    """An addenda record of another type (02 POS, 10-18 IAT), columns 4-94 unparsed."""

    line_number: int
    addenda_type: str
    content: str


Addenda = PaymentAddenda | NocAddenda | ReturnAddenda | OtherAddenda


@dataclass(frozen=True, slots=True)
class EntryDetail:
    line_number: int
    transaction_code: int
    rdfi_id: str
    check_digit: str
    dfi_account_number: str
    amount_cents: int
    individual_id: str
    individual_name: str
    discretionary_data: str
    addenda_indicator: bool
    trace_number: str
    addenda: tuple[Addenda, ...] = ()

    @property
    def amount(self) -> Decimal:
        return cents_to_dollars(self.amount_cents)

    @property
    def rdfi_routing(self) -> str:
        """The nine-digit routing number: the RDFI id and its check digit."""
        return self.rdfi_id + self.check_digit

    @property
    def is_debit(self) -> bool:
        return is_debit_code(self.transaction_code)

    @property
    def is_credit(self) -> bool:
        return is_credit_code(self.transaction_code)

    @property
    def returns(self) -> tuple[ReturnAddenda, ...]:
        """The addenda 99 records, in file order (a contested chain has several)."""
        return tuple(item for item in self.addenda if isinstance(item, ReturnAddenda))

    @property
    def notifications_of_change(self) -> tuple[NocAddenda, ...]:
        return tuple(item for item in self.addenda if isinstance(item, NocAddenda))


@dataclass(frozen=True, slots=True)
class Batch:
    header: BatchHeader
    entries: tuple[EntryDetail, ...]
    control: BatchControl


@dataclass(frozen=True, slots=True)
class AchFile:
    """A parsed file; ``record_count`` excludes the lines of 9s that pad the last block."""

    header: FileHeader
    batches: tuple[Batch, ...]
    control: FileControl
    record_count: int
    padding_count: int

    @property
    def physical_record_count(self) -> int:
        return self.record_count + self.padding_count

    def entries(self) -> Iterator[EntryDetail]:
        """Iterate over the entries of every batch in file order."""
        for batch in self.batches:
            yield from batch.entries
