"""ACH return and notification-of-change files from the bank.

A return (addenda 99) names the original trace number. The draft with that trace is
reversed, the returned-payment fee is charged, and the customer is notified. A code
that means the authorization or the account is bad stops drafting at once; other
codes stop it after ``draft_max_returns`` returns. A notification of change (addenda
98) updates the stored bank details. A trace we do not know goes to the suspense queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.errors import InvalidInput
from app.payments.ach.codes import CHANGE_CODES, corrected_fields, return_code
from app.payments.ach.errors import AchFormatError
from app.payments.ach.models import EntryDetail, NocAddenda, ReturnAddenda
from app.payments.ach.reader import read_ach
from app.payments.autopay.models import AutopayEnrollment, EnrollmentStatus
from app.payments.bankfiles.models import (
    BankFile,
    BankFileError,
    BankFileKind,
    SuspenseItem,
    SuspenseKind,
)
from app.payments.bankfiles.store import store_file
from app.payments.drafts import vault
from app.payments.drafts.accounts import apply_change, suspend
from app.payments.drafts.models import BankAccount, BankAccountType
from app.payments.models import NoticeKind, Payment, PaymentStatus
from app.payments.service import queue_notice, reverse_payment
from app.payments.suspense import hold_in_suspense
from app.settings import get_settings

log = logging.getLogger(__name__)


@dataclass
class ReturnsReport:
    bank_file_id: int | None
    duplicate: bool = False
    returned: int = 0
    changes: int = 0
    already_applied: int = 0
    suspense: int = 0
    errors: list[str] = field(default_factory=list)


def import_returns(session: Session, *, filename: str, content: bytes, actor: str) -> ReturnsReport:
    """Apply a returns or NOC file once; a malformed file posts nothing."""
    # Read before storing: a file that is not a return file is refused, not recorded.
    try:
        ach_file = read_ach(content)
    except AchFormatError as error:
        return ReturnsReport(bank_file_id=None, errors=[str(error)])
    notices = sum(
        1 for entry in ach_file.entries() if entry.returns or entry.notifications_of_change
    )
    if notices == 0:
        return ReturnsReport(
            bank_file_id=None,
            errors=[
                f"{filename} holds no returns (addenda 99) or change notices (addenda 98); "
                "if it is a draft file we sent, there is nothing to apply"
            ],
        )
    bank_file, is_new = store_file(
        session, kind=BankFileKind.ACH_RETURNS, filename=filename, content=content, actor=actor
    )
    report = ReturnsReport(bank_file_id=bank_file.id, duplicate=not is_new)
    if bank_file.kind != BankFileKind.ACH_RETURNS:
        report.errors.append(
            f"{filename} was imported before as a {bank_file.kind.value} file "
            f"(file {bank_file.id}); it is not a return file"
        )
        return report
    if not is_new:
        return report
    for batch in ach_file.batches:
        for entry in batch.entries:
            _apply_entry(session, bank_file, entry, report, actor)
    record(
        session,
        actor=actor,
        action="bank_file.returns",
        outcome="applied",
        target=f"bank_file:{bank_file.id}",
        arguments={
            "filename": filename,
            "returned": report.returned,
            "changes": report.changes,
            "suspense": report.suspense,
        },
    )
    bank_file.item_count = report.returned + report.changes + report.suspense
    bank_file.posted_count = report.returned
    bank_file.suspense_count = report.suspense
    return report


def _apply_entry(
    session: Session, bank_file: BankFile, entry: EntryDetail, report: ReturnsReport, actor: str
) -> None:
    returns = [a for a in entry.addenda if isinstance(a, ReturnAddenda)]
    changes = [a for a in entry.addenda if isinstance(a, NocAddenda)]
    if returns:
        _apply_return(session, bank_file, entry, returns[0], report, actor)
    for change in changes:
        _apply_change(session, bank_file, entry, change, report, actor)


def _draft_for(session: Session, trace: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.provider == "ach", Payment.external_ref == trace)
    )


def _apply_return(
    session: Session,
    bank_file: BankFile,
    entry: EntryDetail,
    addenda: ReturnAddenda,
    report: ReturnsReport,
    actor: str,
) -> None:
    code = return_code(addenda.return_reason_code)
    source = f"ACH returns file {bank_file.id} line {addenda.line_number}"
    payment = _draft_for(session, addenda.original_trace)
    if payment is None or payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.RETURNED):
        if _already_queued(
            session, SuspenseKind.UNMATCHED_RETURN, addenda.original_trace, "return_code", code.code
        ):
            # The same return came again in another file; it waits in the queue once.
            report.already_applied += 1
            return
        hold_in_suspense(
            session,
            key=f"return:{bank_file.id}:{addenda.line_number}",
            amount=entry.amount,
            received_on=get_settings().today(),
            kind=SuspenseKind.UNMATCHED_RETURN,
            reason=f"{code.code} return for unknown trace {addenda.original_trace}",
            reference=addenda.original_trace,
            bank_file_id=bank_file.id,
            line_number=addenda.line_number,
            detail={"return_code": code.code, "amount": str(entry.amount)},
        )
        report.suspense += 1
        return
    if payment.status == PaymentStatus.RETURNED:
        report.already_applied += 1
        return
    settings = get_settings()
    payment.failure_code = code.code
    payment.failure_message = code.description[:300]
    reverse_payment(
        session,
        payment,
        to=PaymentStatus.RETURNED,
        reason=f"{code.code} {code.description}",
        source=source,
        # A return is never dated before the draft it reverses, so the ledger reads in order.
        effective_date=max(settings.today(), payment.received_on),
        fee=settings.returned_payment_fee,
        notice=NoticeKind.PAYMENT_RETURNED,
    )
    report.returned += 1
    bank = session.get(BankAccount, payment.bank_account_id)
    if bank is None:
        return
    bank.return_count += 1
    if code.stops_drafting:
        _stop_drafting(session, bank, f"{code.code} {code.description}", actor)
    elif bank.return_count >= settings.draft_max_returns:
        _stop_drafting(session, bank, f"{bank.return_count} returned drafts", actor)


def _stop_drafting(session: Session, bank: BankAccount, reason: str, actor: str) -> None:
    suspend(bank, reason)
    enrollments = session.scalars(
        select(AutopayEnrollment).where(
            AutopayEnrollment.bank_account_id == bank.id,
            AutopayEnrollment.status == EnrollmentStatus.ACTIVE,
        )
    ).all()
    for enrollment in enrollments:
        enrollment.status = EnrollmentStatus.SUSPENDED
        enrollment.ended_reason = f"drafting stopped: {reason}"[:200]
    queue_notice(
        session,
        NoticeKind.AUTOPAY_SUSPENDED,
        account_id=bank.account_id,
        key=f"autopay-suspended:{bank.id}",
        reason=reason,
        bank=bank.label,
    )
    record(
        session,
        actor=actor,
        action="bank_account.suspend",
        outcome="ok",
        target=f"account:{bank.account_id}",
        detail=reason,
    )


def _already_queued(
    session: Session, kind: SuspenseKind, reference: str, code_field: str, code: str
) -> bool:
    items = session.scalars(
        select(SuspenseItem).where(SuspenseItem.kind == kind, SuspenseItem.reference == reference)
    ).all()
    return any((item.detail or {}).get(code_field) == code for item in items)


def _same_details(before: tuple[str, BankAccountType], bank: BankAccount) -> bool:
    sealed, account_type = before
    return (
        vault.open_bank_numbers(sealed) == vault.open_bank_numbers(bank.numbers_encrypted)
        and account_type == bank.account_type
    )


def _apply_change(
    session: Session,
    bank_file: BankFile,
    entry: EntryDetail,
    addenda: NocAddenda,
    report: ReturnsReport,
    actor: str,
) -> None:
    payment = _draft_for(session, addenda.original_trace)
    bank = session.get(BankAccount, payment.bank_account_id) if payment else None
    if bank is None or addenda.change_code not in CHANGE_CODES:
        if _already_queued(
            session,
            SuspenseKind.UNMATCHED_CHANGE,
            addenda.original_trace,
            "change_code",
            addenda.change_code,
        ):
            report.already_applied += 1
            return
        hold_in_suspense(
            session,
            key=f"change:{bank_file.id}:{addenda.line_number}",
            amount=entry.amount,
            received_on=get_settings().today(),
            kind=SuspenseKind.UNMATCHED_CHANGE,
            reason=f"{addenda.change_code} change for unknown trace {addenda.original_trace}",
            reference=addenda.original_trace,
            bank_file_id=bank_file.id,
            line_number=addenda.line_number,
            detail={"change_code": addenda.change_code},
        )
        report.suspense += 1
        return
    fields = corrected_fields(addenda.change_code, addenda.corrected_data)
    before = (bank.numbers_encrypted, bank.account_type)
    account_type = None
    if "transaction_code" in fields:
        account_type = (
            BankAccountType.SAVINGS
            if fields["transaction_code"][:1] == "3"
            else BankAccountType.CHECKING
        )
    try:
        apply_change(
            bank,
            routing=fields.get("rdfi_routing"),
            number=fields.get("dfi_account_number"),
            account_type=account_type,
        )
    except InvalidInput as error:
        session.add(
            BankFileError(
                bank_file_id=bank_file.id,
                line_number=addenda.line_number,
                code=error.code,
                message=error.message,
            )
        )
        bank_file.error_count += 1
        report.errors.append(f"line {addenda.line_number}: {error.message}")
        return
    if _same_details(before, bank):
        # A change notice sent again: the stored details already match, so no notice.
        report.already_applied += 1
        return
    report.changes += 1
    queue_notice(
        session,
        NoticeKind.BANK_DETAILS_CHANGED,
        account_id=bank.account_id,
        key=f"noc:{bank_file.id}:{addenda.line_number}",
        change_code=addenda.change_code,
        bank=bank.label,
    )
    record(
        session,
        actor=actor,
        action="bank_account.change",
        outcome="ok",
        target=f"account:{bank.account_id}",
        arguments={"change_code": addenda.change_code, "fields": sorted(fields)},
    )
