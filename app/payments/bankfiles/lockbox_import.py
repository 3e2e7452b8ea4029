"""Importing lockbox, BAI2 and payment CSV files: match, post in bulk, queue the rest.

The file is stored and claimed by its hash first, so a re-import posts nothing. Each
payment is matched to an account by its bill scan line or its account number. Matched
payments are posted in chunks with bulk inserts (one journal entry, two postings, the
payment, its status history and a receipt notice each). Unmatched money goes to the
suspense queue. A malformed line is recorded with its line number, and nothing from it
is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.audit.service import record
from app.bulk import matching
from app.payments.bankfiles.models import BankFile, BankFileError, BankFileKind
from app.payments.bankfiles.store import store_file
from app.payments.bulk import NewPayment, post_payments
from app.payments.models import PaymentChannel, PaymentMethod
from app.payments.remittance.bai2 import PAYMENT_TYPES
from app.payments.remittance.detect import parse_remittance
from app.payments.remittance.model import RemittanceItem
from app.payments.remittance.scanline import is_account_number, parse_scan_line
from app.payments.suspense import hold_in_suspense
from app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "lockbox"
CHUNK = 5000
ZERO = Decimal("0.00")

KIND_BY_FORMAT = {
    "lockbox": BankFileKind.LOCKBOX,
    "bai2": BankFileKind.BAI2,
    "csv": BankFileKind.CSV,
}


@dataclass
class ImportReport:
    bank_file_id: int | None
    format: str
    duplicate: bool = False
    posted: int = 0
    posted_total: Decimal = ZERO
    suspense: int = 0
    suspense_total: Decimal = ZERO
    deposit_totals: int = 0
    errors: list[str] = field(default_factory=list)


def import_payment_file(
    session: Session, *, filename: str, content: bytes, actor: str
) -> ImportReport:
    """Import one bank payment file; the caller commits."""
    parsed = parse_remittance(content)
    if parsed.format == "unknown":
        reasons = "; ".join(str(error) for error in parsed.errors) or "unrecognized format"
        if content.lstrip()[:3] == b"101":
            # A NACHA file begins with its file header: record type 1, priority 01.
            reasons = "it looks like a NACHA (ACH) file; use `upm payments returns` for returns"
        return ImportReport(
            bank_file_id=None,
            format="unknown",
            errors=[f"{filename}: not a lockbox, BAI2 or payment CSV file ({reasons})"],
        )
    bank_file, is_new = store_file(
        session,
        kind=KIND_BY_FORMAT[parsed.format],
        filename=filename,
        content=content,
        actor=actor,
    )
    report = ImportReport(bank_file_id=bank_file.id, format=parsed.format, duplicate=not is_new)
    if not is_new:
        return report
    for error in parsed.errors:
        session.add(
            BankFileError(
                bank_file_id=bank_file.id,
                line_number=error.line_number,
                code=error.code,
                message=f"{error.severity}: {error.message}",
            )
        )
        report.errors.append(str(error))
    items = []
    for item in parsed.items:
        # A lockbox deposit total sums many checks that the lockbox detail file lists.
        if item.type_code in PAYMENT_TYPES and PAYMENT_TYPES[item.type_code].deposit_total:
            report.deposit_totals += 1
            continue
        items.append(item)
    accounts = _match_accounts(session, items)
    matched = [(item, accounts[id(item)]) for item in items if id(item) in accounts]
    for start in range(0, len(matched), CHUNK):
        _post_chunk(session, bank_file, matched[start : start + CHUNK], actor)
    report.posted = len(matched)
    report.posted_total = sum((item.amount for item, _ in matched), ZERO)
    for item in items:
        if id(item) not in accounts:
            _to_suspense(session, bank_file, item)
            report.suspense += 1
            report.suspense_total += item.amount
    bank_file.item_count = len(items)
    bank_file.posted_count = report.posted
    bank_file.suspense_count = report.suspense
    bank_file.error_count = len(parsed.errors)
    record(
        session,
        actor=actor,
        action="bank_file.import",
        outcome="posted",
        target=f"bank_file:{bank_file.id}",
        arguments={
            "filename": filename,
            "format": parsed.format,
            "posted": report.posted,
            "posted_total": str(report.posted_total),
            "suspense": report.suspense,
            "errors": len(parsed.errors),
        },
    )
    log.info(
        "imported %s: %s posted, %s to suspense, %s errors",
        filename,
        report.posted,
        report.suspense,
        len(parsed.errors),
    )
    return report


def _account_number_of(item: RemittanceItem) -> str | None:
    for text in (item.scan_line, item.account_reference):
        if not text:
            continue
        try:
            return parse_scan_line(text).account_number
        except ValueError:
            pass
        digits = "".join(ch for ch in text if ch.isdigit())
        if is_account_number(digits):
            return digits
    return None


def _match_accounts(session: Session, items: Sequence[RemittanceItem]) -> dict[int, int]:
    """Map each matched item (by ``id``) to an account id."""
    numbers = {id(item): _account_number_of(item) for item in items}
    wanted = sorted({number for number in numbers.values() if number})
    ids: dict[str, int] = {}
    for clause in matching(session, Account.number, wanted):
        ids.update(session.execute(select(Account.number, Account.id).where(clause)).all())
    return {key: ids[number] for key, number in numbers.items() if number in ids}


def _post_chunk(
    session: Session,
    bank_file: BankFile,
    matched: Sequence[tuple[RemittanceItem, int]],
    actor: str,
) -> None:
    today = get_settings().today()
    payments = [
        NewPayment(
            key=f"lockbox:{bank_file.id}:{item.line_number}",
            account_id=account_id,
            amount=item.amount,
            received_on=item.paid_on or today,
            provider=PROVIDER,
            external_ref=f"{bank_file.sha256[:16]}:{item.line_number}",
            method_label=(f"check {item.check_number}" if item.check_number else "check")[:60],
            memo=f"Lockbox payment, file {bank_file.id} line {item.line_number}",
        )
        for item, account_id in matched
    ]
    post_payments(
        session,
        payments,
        channel=PaymentChannel.LOCKBOX,
        method=PaymentMethod.CHECK,
        actor=actor,
        source=f"lockbox file {bank_file.id}",
    )


def _to_suspense(session: Session, bank_file: BankFile, item: RemittanceItem) -> None:
    reference = item.scan_line or item.account_reference
    hold_in_suspense(
        session,
        key=f"lockbox:{bank_file.id}:{item.line_number}",
        amount=item.amount,
        received_on=item.paid_on or get_settings().today(),
        reason=("no account matches reference " + repr(reference))
        if reference
        else "no account number or scan line on the payment",
        reference=reference,
        payer_name=item.payer_name,
        bank_file_id=bank_file.id,
        line_number=item.line_number,
        detail={"check_number": item.check_number, "memo": item.memo},
    )
