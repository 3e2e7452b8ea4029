"""The writer's input: the originator, batches and entries, and the checks of their values.

Each check returns the values ready for ``records.format_record`` or raises
``AchInputError`` naming the batch, entry and field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from app.payments.ach.errors import AchInputError
from app.payments.ach.models import cents_to_dollars
from app.payments.ach.text import (
    Fail,
    alphanumeric,
    check_account_number,
    check_routing_number,
    fit,
)

AccountType = Literal["checking", "savings"]
DEBIT_CODES: dict[str, int] = {"checking": 27, "savings": 37}
CREDIT_CODES: dict[str, int] = {"checking": 22, "savings": 32}
RETRY_DESCRIPTION = "RETRY PYMT"

MAX_AMOUNT_CENTS = 10**10 - 1
MAX_TOTAL_CENTS = 10**12 - 1
MAX_TRACE_SEQUENCE = 10**7 - 1
MAX_BATCH_RECORDS = 10**6 - 1
MAX_FILE_RECORDS = 10**8 - 1
MAX_BATCHES = 10**6 - 1


@dataclass(frozen=True, slots=True)
class Originator:
    """The utility as originator, and its bank (the ODFI).

    ``company_id`` is the 10-character company identification that the bank assigned,
    often "1" followed by the tax id. ``immediate_destination`` defaults to the ODFI's
    routing number, and ``immediate_origin`` to ``company_id``.
    """

    odfi_routing_number: str
    odfi_name: str
    company_name: str
    company_id: str
    immediate_destination: str | None = None
    immediate_origin: str | None = None
    immediate_origin_name: str | None = None
    reference_code: str = ""


@dataclass(frozen=True, slots=True)
class DebitEntry:
    """One customer's draft. ``payment_information`` adds an addenda 05 (80 characters)."""

    routing_number: str
    account_number: str
    amount_cents: int
    individual_name: str
    individual_id: str = ""
    account_type: AccountType = "checking"
    discretionary_data: str = ""
    payment_information: str | None = None

    @property
    def amount(self) -> Decimal:
        return cents_to_dollars(self.amount_cents)


@dataclass(frozen=True, slots=True)
class OffsetAccount:
    """The utility's own account, credited with each batch's debit total when given."""

    routing_number: str
    account_number: str
    account_type: AccountType = "checking"
    name: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class DebitBatch:
    """A batch of debits. Use ``RETRY_DESCRIPTION`` when re-presenting R01 and R09 returns.

    ``entries`` is read once, lazily, so it may be a generator. With ``offset`` the batch
    has service class 200 and ends with a balancing credit, else service class 225.
    """

    entries: Iterable[DebitEntry]
    effective_date: date
    entry_description: str = "UTILITY"
    company_descriptive_date: str = ""
    offset: OffsetAccount | None = None


@dataclass(frozen=True, slots=True)
class OriginatorFields:
    """The originator's values, checked and cut to their fields."""

    immediate_destination: str
    immediate_origin: str
    immediate_destination_name: str
    immediate_origin_name: str
    company_name: str
    company_id: str
    odfi_id: str
    reference_code: str

    @classmethod
    def from_originator(cls, originator: Originator) -> OriginatorFields:
        def fail(field: str, problem: str) -> AchInputError:
            return AchInputError(f"originator, {field}: {problem}", field=field)

        odfi = check_routing_number(originator.odfi_routing_number, fail, "odfi_routing_number")
        destination = odfi
        if originator.immediate_destination is not None:
            destination = check_routing_number(
                originator.immediate_destination, fail, "immediate_destination"
            )
        company_id = alphanumeric(originator.company_id)
        if not company_id or len(company_id) > 10:
            raise fail("company_id", f"must be 1 to 10 characters, got {originator.company_id!r}")
        origin = company_id
        if originator.immediate_origin is not None:
            origin = alphanumeric(originator.immediate_origin)
            if not origin or len(origin) > 10:
                raise fail(
                    "immediate_origin",
                    f"must be 1 to 10 characters, got {originator.immediate_origin!r}",
                )
        company_name = fit(originator.company_name, 16)
        if not company_name:
            raise fail("company_name", "is empty")
        reference_code = alphanumeric(originator.reference_code)
        if len(reference_code) > 8:
            raise fail("reference_code", f"is longer than 8 characters: {reference_code!r}")
        origin_name = originator.immediate_origin_name or originator.company_name
        return cls(
            immediate_destination=" " + destination,
            immediate_origin=origin.rjust(10),
            immediate_destination_name=fit(originator.odfi_name, 23),
            immediate_origin_name=fit(origin_name, 23),
            company_name=company_name,
            company_id=company_id,
            odfi_id=odfi[:8],
            reference_code=reference_code,
        )


def checked_entry(entry: DebitEntry, batch_number: int, entry_number: int) -> dict[str, str | int]:
    """Check one entry and return its entry-detail fields (without trace and indicator)."""
    label = f"batch {batch_number}, entry {entry_number}"

    def fail(field: str, problem: str) -> AchInputError:
        return AchInputError(
            f"{label}, {field}: {problem}",
            field=field,
            batch_number=batch_number,
            entry_number=entry_number,
        )

    if not isinstance(entry, DebitEntry):
        raise fail("entry", f"expected a DebitEntry, got {type(entry).__name__}")
    if isinstance(entry.individual_id, str) and entry.individual_id.strip():
        label += f" (individual_id {entry.individual_id.strip()!r})"
    amount = entry.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise fail("amount_cents", f"must be an int number of cents, got {amount!r}")
    if amount <= 0:
        raise fail("amount_cents", f"must be positive, got {amount}")
    if amount > MAX_AMOUNT_CENTS:
        raise fail("amount_cents", f"{amount} does not fit the 10-digit amount field")
    if entry.account_type not in DEBIT_CODES:
        raise fail("account_type", f"must be 'checking' or 'savings', got {entry.account_type!r}")
    routing = check_routing_number(entry.routing_number, fail, "routing_number")
    account = check_account_number(entry.account_number, fail, "account_number")
    name = fit(entry.individual_name, 22)
    if not name:
        raise fail("individual_name", "is empty; PPD entries need the receiver's name")
    identifier = alphanumeric(entry.individual_id)
    if len(identifier) > 15:
        raise fail("individual_id", f"is longer than 15 characters: {identifier!r}")
    discretionary = alphanumeric(entry.discretionary_data)
    if len(discretionary) > 2:
        raise fail("discretionary_data", f"is longer than 2 characters: {discretionary!r}")
    information = ""
    if entry.payment_information is not None:
        information = alphanumeric(entry.payment_information)
        if len(information) > 80:
            raise fail("payment_information", f"is longer than 80 characters ({len(information)})")
    return {
        "transaction_code": DEBIT_CODES[entry.account_type],
        "rdfi_id": routing[:8],
        "check_digit": routing[8],
        "dfi_account_number": account,
        "amount": amount,
        "individual_id": identifier,
        "individual_name": name,
        "discretionary_data": discretionary,
        "payment_information": information,
    }


def checked_offset(offset: OffsetAccount, company_name: str, fail: Fail) -> dict[str, str | int]:
    if offset.account_type not in CREDIT_CODES:
        raise fail(
            "offset.account_type",
            f"must be 'checking' or 'savings', got {offset.account_type!r}",
        )
    routing = check_routing_number(offset.routing_number, fail, "offset.routing_number")
    account = check_account_number(offset.account_number, fail, "offset.account_number")
    return {
        "transaction_code": CREDIT_CODES[offset.account_type],
        "rdfi_id": routing[:8],
        "check_digit": routing[8],
        "dfi_account_number": account,
        "individual_name": fit(offset.name or company_name, 22),
    }
