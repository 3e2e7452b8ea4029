"""Check a parsed NACHA file's control records against its entries.

``validate_ach`` returns every issue it finds and raises nothing, so a caller can still
post the entries of a file whose controls are wrong once a person has reviewed it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from app.payments.ach.models import AchFile, Batch, BatchControl, EntryDetail, FileControl
from app.payments.ach.records import (
    BLOCKING_FACTOR,
    ENTRY_HASH_MODULUS,
    NON_MONETARY_KIND_DIGITS,
    counts_in_totals,
    is_credit_code,
    is_debit_code,
)
from app.payments.ach.routing import is_valid_routing_number

# Service class codes: 200 mixed, 220 credits only, 225 debits only.
CREDITS_ONLY = 220
DEBITS_ONLY = 225


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: a stable ``code``, a message, and where it is (None when file-wide)."""

    code: str
    message: str
    line_number: int | None = None
    batch_number: int | None = None


@dataclass(frozen=True, slots=True)
class _Totals:
    entry_addenda_count: int
    entry_hash: int
    debit_total_cents: int
    credit_total_cents: int


def validate_ach(ach_file: AchFile) -> list[Issue]:
    """Return the issues of a parsed file. An empty list means that it balances.

    Each batch control must match its header and entries: entry and addenda count,
    entry hash (sum of the 8-digit RDFI ids mod 10**10), debit and credit totals. The
    file control must match the batches, the block count must cover the records, and the
    physical line count, padding included, must be a multiple of 10. Entries are checked
    for the RDFI check digit, the addenda indicator and prenotes that carry an amount.
    """
    issues: list[Issue] = []
    file_totals = _Totals(0, 0, 0, 0)
    for batch in ach_file.batches:
        batch_totals = _batch_totals(batch)
        issues.extend(_check_batch(batch, batch_totals))
        file_totals = _Totals(
            file_totals.entry_addenda_count + batch_totals.entry_addenda_count,
            (file_totals.entry_hash + batch_totals.entry_hash) % ENTRY_HASH_MODULUS,
            file_totals.debit_total_cents + batch_totals.debit_total_cents,
            file_totals.credit_total_cents + batch_totals.credit_total_cents,
        )
    issues.extend(_check_file(ach_file, file_totals))
    return issues


def _batch_totals(batch: Batch) -> _Totals:
    count = 0
    entry_hash = 0
    debits = 0
    credits = 0
    for entry in batch.entries:
        count += 1 + len(entry.addenda)
        entry_hash += int(entry.rdfi_id)
        if not counts_in_totals(entry.transaction_code):
            continue
        if is_debit_code(entry.transaction_code):
            debits += entry.amount_cents
        else:
            credits += entry.amount_cents
    return _Totals(count, entry_hash % ENTRY_HASH_MODULUS, debits, credits)


def _check_batch(batch: Batch, totals: _Totals) -> list[Issue]:
    header, control = batch.header, batch.control
    number = header.batch_number
    issues: list[Issue] = []

    def add(code: str, message: str, line_number: int = control.line_number) -> None:
        issues.append(Issue(code, f"batch {number}: {message}", line_number, number))

    pairs = (
        ("service_class_code", header.service_class_code, control.service_class_code),
        ("company_id", header.company_id, control.company_id),
        ("odfi_id", header.odfi_id, control.odfi_id),
        ("batch_number", header.batch_number, control.batch_number),
    )
    for field, in_header, in_control in pairs:
        if in_header != in_control:
            add(
                f"batch_{field}_mismatch",
                f"{field} is {in_header!r} in the header but {in_control!r} in the control",
            )
    _compare(add, "batch", control, totals)

    if not batch.entries:
        add("batch_empty", "the batch has no entries", header.line_number)
    for entry in batch.entries:
        for code, message in _entry_problems(entry, header.service_class_code):
            where = f"entry at line {entry.line_number} (trace {entry.trace_number})"
            add(code, f"{where}: {message}", entry.line_number)
    return issues


def _entry_problems(entry: EntryDetail, service_class_code: int) -> list[tuple[str, str]]:
    """Return (code, message) pairs for one entry's problems."""
    problems: list[tuple[str, str]] = []
    code = entry.transaction_code
    if not (is_debit_code(code) or is_credit_code(code)):
        problems.append(
            (
                "entry_unknown_transaction_code",
                f"transaction code {code:02d} is neither a credit nor a debit",
            )
        )
    elif service_class_code == CREDITS_ONLY and is_debit_code(code):
        problems.append(
            (
                "entry_debit_in_credit_batch",
                f"debit code {code} in a service class 220 (credits only) batch",
            )
        )
    elif service_class_code == DEBITS_ONLY and is_credit_code(code):
        problems.append(
            (
                "entry_credit_in_debit_batch",
                f"credit code {code} in a service class 225 (debits only) batch",
            )
        )
    if str(code % 10) in NON_MONETARY_KIND_DIGITS and entry.amount_cents != 0:
        problems.append(
            (
                "entry_nonzero_prenote",
                f"transaction code {code} must have a zero amount, "
                f"found {entry.amount_cents} cents",
            )
        )
    if not is_valid_routing_number(entry.rdfi_routing):
        problems.append(
            (
                "entry_invalid_check_digit",
                f"routing number {entry.rdfi_routing!r} fails the ABA check digit",
            )
        )
    if entry.addenda_indicator != bool(entry.addenda):
        problems.append(
            (
                "entry_addenda_indicator_mismatch",
                f"addenda indicator is {int(entry.addenda_indicator)} "
                f"but {len(entry.addenda)} addenda follow",
            )
        )
    return problems


def _check_file(ach_file: AchFile, totals: _Totals) -> list[Issue]:
    control = ach_file.control
    issues: list[Issue] = []

    def add(code: str, message: str, line_number: int | None = control.line_number) -> None:
        issues.append(Issue(code, f"file control: {message}", line_number))

    if control.batch_count != len(ach_file.batches):
        add(
            "file_batch_count_mismatch",
            f"batch count is {control.batch_count} but the "
            f"file has {len(ach_file.batches)} batches",
        )
    blocks = math.ceil(ach_file.record_count / BLOCKING_FACTOR)
    if control.block_count != blocks:
        add(
            "file_block_count_mismatch",
            f"block count is {control.block_count} but "
            f"{ach_file.record_count} records need {blocks} blocks of {BLOCKING_FACTOR}",
        )
    _compare(add, "file", control, totals)
    if ach_file.physical_record_count % BLOCKING_FACTOR:
        add(
            "file_not_blocked",
            f"the file has {ach_file.physical_record_count} records, "
            f"padding included, which is not a multiple of {BLOCKING_FACTOR}",
            None,
        )
    return issues


def _compare(
    add: Callable[[str, str], None],
    scope: str,
    control: BatchControl | FileControl,
    totals: _Totals,
) -> None:
    """Report each control field that differs from the total computed from the entries."""
    for field, label in (
        ("entry_addenda_count", "entry/addenda count"),
        ("entry_hash", "entry hash"),
        ("debit_total_cents", "debit total (cents)"),
        ("credit_total_cents", "credit total (cents)"),
    ):
        stated = getattr(control, field)
        computed = getattr(totals, field)
        if stated != computed:
            code = f"{scope}_{field.removesuffix('_cents')}_mismatch"
            add(code, f"{label} is {stated} but the entries give {computed}")
