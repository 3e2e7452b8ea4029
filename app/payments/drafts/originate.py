"""Originating bank drafts: one NACHA file of PPD debits per draft date.

The file is built, stored and its payments posted in one transaction, so a crash leaves
either the whole day's drafts or none. Each draft is a payment posted as succeeded on
the file's effective date and keyed by its trace number; a return reverses it later.
A draft date that already has a file returns that file, so running the job twice
drafts nobody twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import Account
from app.billing.models import Bill
from app.payments.ach.writer import (
    MAX_TRACE_SEQUENCE,
    RETRY_DESCRIPTION,
    DebitBatch,
    DebitEntry,
    Originator,
    write_ppd_debits,
)
from app.payments.autopay.models import AutopayEnrollment, AutopayMethod, EnrollmentStatus
from app.payments.drafts import vault
from app.payments.drafts.models import BankAccount, BankAccountStatus, DraftFile
from app.payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.owed import bill_open_amount
from app.payments.service import create_payment
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)

PROVIDER = "ach"
#: Return codes NACHA lets an originator present again.
REPRESENTABLE = ("R01", "R09")


@dataclass(frozen=True)
class Draft:
    bank: BankAccount
    amount: Decimal
    bill_id: int | None
    account_id: int
    represents: Payment | None = None


def effective_date_for(draft_date: dt.date, lead_days: int) -> dt.date:
    """Return the settlement date: ``lead_days`` banking days after the draft date.

    NOTE: only weekends are skipped; Federal Reserve holidays are not in the calendar yet.
    """
    day = draft_date
    remaining = lead_days
    while remaining > 0 or day.weekday() >= 5:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


def originator(settings: Settings) -> Originator:
    return Originator(
        odfi_routing_number=settings.ach_destination_routing,
        odfi_name=settings.ach_destination_name,
        company_name=settings.ach_origin_name,
        company_id=settings.ach_company_id,
        immediate_origin=settings.ach_origin_id,
        immediate_origin_name=settings.ach_origin_name,
    )


def drafts_due(session: Session, effective_date: dt.date) -> list[Draft]:
    """Bills of bank-draft accounts due by the effective date, and allowed re-presentments."""
    drafted = aliased(Payment)
    rows = session.execute(
        select(Bill, BankAccount)
        .join(AutopayEnrollment, AutopayEnrollment.account_id == Bill.account_id)
        .join(BankAccount, BankAccount.id == AutopayEnrollment.bank_account_id)
        .where(
            AutopayEnrollment.status == EnrollmentStatus.ACTIVE,
            AutopayEnrollment.method == AutopayMethod.BANK_DRAFT,
            BankAccount.status == BankAccountStatus.ACTIVE,
            Bill.due_date <= effective_date,
            Bill.due_date > effective_date - dt.timedelta(days=31),
            ~select(drafted.id)
            .where(drafted.bill_id == Bill.id, drafted.channel == PaymentChannel.BANK_DRAFT)
            .exists(),
        )
        .order_by(Bill.account_id, Bill.id)
    ).all()
    drafts: list[Draft] = []
    for bill, bank in rows:
        amount = bill_open_amount(session, bill)
        if amount > 0:
            drafts.append(
                Draft(bank=bank, amount=amount, bill_id=bill.id, account_id=bill.account_id)
            )
    drafts.extend(_representments(session))
    return drafts


def _representments(session: Session) -> Iterator[Draft]:
    again = aliased(Payment)
    returned = session.scalars(
        select(Payment)
        .join(BankAccount, BankAccount.id == Payment.bank_account_id)
        .where(
            Payment.status == PaymentStatus.RETURNED,
            Payment.failure_code.in_(REPRESENTABLE),
            Payment.represents_payment_id.is_(None),
            BankAccount.status == BankAccountStatus.ACTIVE,
            ~select(again.id).where(again.represents_payment_id == Payment.id).exists(),
        )
        .order_by(Payment.id)
    ).all()
    for payment in returned:
        bank = session.get(BankAccount, payment.bank_account_id)
        assert bank is not None
        yield Draft(
            bank=bank,
            amount=payment.amount,
            bill_id=None,
            account_id=payment.account_id,
            represents=payment,
        )


def generate_draft_file(session: Session, *, draft_date: dt.date, actor: str) -> DraftFile:
    """Build, store and post the day's draft file; a second call returns the first file."""
    existing = session.scalar(select(DraftFile).where(DraftFile.draft_date == draft_date))
    if existing is not None:
        return existing
    settings = get_settings()
    effective = effective_date_for(draft_date, settings.draft_lead_days)
    drafts = drafts_due(session, effective)
    first_sequence = _next_trace_sequence(session)
    odfi = settings.ach_destination_routing[:8]
    names = dict(
        session.execute(
            select(Account.id, Account.number).where(
                Account.id.in_({draft.account_id for draft in drafts})
            )
        ).all()
    )
    new = [d for d in drafts if d.represents is None]
    retries = [d for d in drafts if d.represents is not None]
    ordered = new + retries
    batches = []
    if new:
        batches.append(
            DebitBatch(entries=[_entry(d, names) for d in new], effective_date=effective)
        )
    if retries:
        batches.append(
            DebitBatch(
                entries=[_entry(d, names) for d in retries],
                effective_date=effective,
                entry_description=RETRY_DESCRIPTION,
            )
        )
    content = b""
    if batches:
        content = write_ppd_debits(
            originator(settings),
            batches,
            created_at=dt.datetime.now(settings.zone).replace(tzinfo=None),
            first_trace_sequence=first_sequence,
        )
    draft_file = DraftFile(
        draft_date=draft_date,
        effective_date=effective,
        file_id_modifier="A",
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        entry_count=len(ordered),
        debit_total=sum((d.amount for d in ordered), Decimal("0.00")),
        created_by=actor,
    )
    session.add(draft_file)
    session.flush()
    for offset, draft in enumerate(ordered):
        trace = f"{odfi}{(first_sequence - 1 + offset) % MAX_TRACE_SEQUENCE + 1:07d}"
        create_payment(
            session,
            account_id=draft.account_id,
            amount=draft.amount,
            channel=PaymentChannel.BANK_DRAFT,
            method=PaymentMethod.BANK_ACCOUNT,
            provider=PROVIDER,
            external_ref=trace,
            idempotency_key=f"draft:{draft_file.id}:{trace}",
            taken_by=actor,
            received_on=effective,
            method_label=draft.bank.label,
            bill_id=draft.bill_id,
            status=PaymentStatus.SUCCEEDED,
            source=f"draft file {draft_file.id}",
            bank_account_id=draft.bank.id,
            represents_payment_id=draft.represents.id if draft.represents else None,
        )
    log.info("draft file for %s: %s entries, %s", draft_date, len(ordered), draft_file.debit_total)
    return draft_file


def _entry(draft: Draft, account_numbers: dict[int, str]) -> DebitEntry:
    return DebitEntry(
        routing_number=vault.decrypt(draft.bank.routing_encrypted),
        account_number=vault.decrypt(draft.bank.number_encrypted),
        amount_cents=int(draft.amount * 100),
        individual_name=draft.bank.holder_name,
        individual_id=account_numbers[draft.account_id],
        account_type=draft.bank.account_type.value,
    )


def _next_trace_sequence(session: Session) -> int:
    """Continue the trace sequence across files so a return names one draft.

    NOTE: the sequence has 7 digits and wraps after 9,999,999 drafts; a trace reused
    after the wrap would collide with the old payment's unique reference.
    """
    drafted = session.scalar(select(func.coalesce(func.sum(DraftFile.entry_count), 0))) or 0
    return int(drafted) % MAX_TRACE_SEQUENCE + 1
