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
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import holidays
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import Account
from app.audit.service import record
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
from app.payments.bulk import NewPayment, post_payments, receivable_balances
from app.payments.drafts import vault
from app.payments.drafts.models import (
    BankAccount,
    BankAccountStatus,
    BankAccountType,
    DraftFile,
)
from app.payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.owed import load_applications
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)

PROVIDER = "ach"
#: Return codes NACHA lets an originator present again.
REPRESENTABLE = ("R01", "R09")
#: A returned draft is presented again only within this many days of its settlement.
# NOTE: NACHA allows up to 180 days; a month keeps a re-presentment close to its bill.
REPRESENT_WITHIN_DAYS = 30


@dataclass(frozen=True)
class Draft:
    """One entry of the file: the bank account's columns, not the ORM object, so that a
    file of 100,000 drafts loads no entities."""

    account_id: int
    account_number: str
    amount: Decimal
    bill_id: int | None
    bank_id: int
    holder_name: str
    account_type: str
    numbers_encrypted: str
    bank_label: str
    represents_id: int | None = None


BANK_COLUMNS = (
    BankAccount.id,
    BankAccount.holder_name,
    BankAccount.account_type,
    BankAccount.numbers_encrypted,
    BankAccount.number_last4,
)


def _bank_fields(row: Any) -> dict[str, Any]:
    bank_id, holder, account_type, sealed, last4 = row
    kind = BankAccountType(account_type)
    return {
        "bank_id": bank_id,
        "holder_name": holder,
        "account_type": kind.value,
        "numbers_encrypted": sealed,
        "bank_label": f"{kind.value} account ending {last4}",
    }


def effective_date_for(draft_date: dt.date, lead_days: int) -> dt.date:
    """Return the settlement date: ``lead_days`` banking days after the draft date.

    Banking days skip weekends and US federal holidays, which the Federal Reserve keeps.
    NOTE: the holidays package moves a Saturday holiday to the Friday before, but the
    Federal Reserve stays open that Friday, so such a Friday is skipped needlessly.
    """
    closed = _bank_holidays()
    day = draft_date
    remaining = lead_days
    while remaining > 0 or day.weekday() >= 5 or day in closed:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            remaining -= 1
    return day


@lru_cache(maxsize=1)
def _bank_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("US")


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
        select(Bill.id, Bill.account_id, Bill.journal_entry_id, Account.number, *BANK_COLUMNS)
        .join(Account, Account.id == Bill.account_id)
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
    # What each bill still owes, under the application policy, for all accounts at once.
    applications = load_applications(session, [row[1] for row in rows])
    drafts: list[Draft] = []
    for bill_id, account_id, entry_id, number, *bank in rows:
        open_amount = next(
            (
                item.open
                for item in applications[account_id].charges
                if item.charge.entry_id == entry_id
            ),
            Decimal("0.00"),
        )
        if open_amount > 0:
            drafts.append(
                Draft(
                    account_id=account_id,
                    account_number=number,
                    amount=open_amount,
                    bill_id=bill_id,
                    **_bank_fields(bank),
                )
            )
    drafts.extend(_representments(session, effective_date))
    return drafts


def _representments(session: Session, effective_date: dt.date) -> list[Draft]:
    again = aliased(Payment)
    rows = session.execute(
        select(Payment.id, Payment.account_id, Payment.amount, Account.number, *BANK_COLUMNS)
        .join(Account, Account.id == Payment.account_id)
        .join(BankAccount, BankAccount.id == Payment.bank_account_id)
        .where(
            Payment.status == PaymentStatus.RETURNED,
            Payment.failure_code.in_(REPRESENTABLE),
            Payment.represents_payment_id.is_(None),
            Payment.received_on >= effective_date - dt.timedelta(days=REPRESENT_WITHIN_DAYS),
            BankAccount.status == BankAccountStatus.ACTIVE,
            ~select(again.id).where(again.represents_payment_id == Payment.id).exists(),
        )
        .order_by(Payment.id)
    ).all()
    # Present again only what is still owed in full: a customer who paid since the return
    # must not be drafted twice. A re-presentment carries the original amount, so an
    # account owing less is left to collections.
    balances = receivable_balances(session, {row[1] for row in rows})
    return [
        Draft(
            account_id=account_id,
            account_number=number,
            amount=amount,
            bill_id=None,
            represents_id=payment_id,
            **_bank_fields(bank),
        )
        for payment_id, account_id, amount, number, *bank in rows
        if balances.get(account_id, Decimal("0.00")) >= amount
    ]


def generate_draft_file(session: Session, *, draft_date: dt.date, actor: str) -> DraftFile | None:
    """Build, store and post the day's draft file; a second call returns the first file.

    Returns None when nothing is due, and stores nothing, so a run later that day still
    drafts accounts enrolled in the meantime.
    """
    existing = session.scalar(select(DraftFile).where(DraftFile.draft_date == draft_date))
    if existing is not None:
        return existing
    started = time.perf_counter()
    settings = get_settings()
    effective = effective_date_for(draft_date, settings.draft_lead_days)
    drafts = drafts_due(session, effective)
    first_sequence = _next_trace_sequence(session)
    odfi = settings.ach_destination_routing[:8]
    if not drafts:
        log.info("no drafts due for %s (settlement %s)", draft_date, effective)
        return None
    new = [d for d in drafts if d.represents_id is None]
    retries = [d for d in drafts if d.represents_id is not None]
    ordered = new + retries
    batches = []
    if new:
        batches.append(DebitBatch(entries=(_entry(d) for d in new), effective_date=effective))
    if retries:
        batches.append(
            DebitBatch(
                entries=(_entry(d) for d in retries),
                effective_date=effective,
                entry_description=RETRY_DESCRIPTION,
            )
        )
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
        content=vault.seal_bytes(content),
        entry_count=len(ordered),
        debit_total=sum((d.amount for d in ordered), Decimal("0.00")),
        created_by=actor,
    )
    session.add(draft_file)
    session.flush()
    record(
        session,
        actor=actor,
        action="drafts.originate",
        outcome="created",
        target=f"draft_file:{draft_file.id}",
        arguments={
            "draft_date": draft_date.isoformat(),
            "entries": len(ordered),
            "total": str(draft_file.debit_total),
        },
    )
    built = time.perf_counter()
    post_payments(
        session,
        [
            NewPayment(
                key=f"draft:{draft_file.id}:{trace}",
                account_id=draft.account_id,
                amount=draft.amount,
                received_on=effective,
                provider=PROVIDER,
                external_ref=trace,
                method_label=draft.bank_label,
                memo=f"Bank draft, file {draft_file.id}, trace {trace}",
                bill_id=draft.bill_id,
                bank_account_id=draft.bank_id,
                represents_payment_id=draft.represents_id,
            )
            for draft, trace in zip(
                ordered, _traces(odfi, first_sequence, len(ordered)), strict=True
            )
        ],
        channel=PaymentChannel.BANK_DRAFT,
        method=PaymentMethod.BANK_ACCOUNT,
        actor=actor,
        source=f"draft file {draft_file.id}",
    )
    log.info(
        "draft file for %s: %s entries, %s; built in %.1f s, posted in %.1f s",
        draft_date,
        len(ordered),
        draft_file.debit_total,
        built - started,
        time.perf_counter() - built,
    )
    return draft_file


def draft_file_bytes(draft_file: DraftFile) -> bytes:
    """Return the NACHA file as it goes to the bank (stored sealed)."""
    return vault.open_bytes(draft_file.content)


def _entry(draft: Draft) -> DebitEntry:
    routing, number = vault.open_bank_numbers(draft.numbers_encrypted)
    return DebitEntry(
        routing_number=routing,
        account_number=number,
        amount_cents=int(draft.amount * 100),
        individual_name=draft.holder_name,
        individual_id=draft.account_number,
        account_type="savings" if draft.account_type == "savings" else "checking",
    )


def _traces(odfi: str, first_sequence: int, count: int) -> list[str]:
    """Return the trace numbers the writer gives the file's entries, in file order."""
    return [
        f"{odfi}{(first_sequence - 1 + offset) % MAX_TRACE_SEQUENCE + 1:07d}"
        for offset in range(count)
    ]


def _next_trace_sequence(session: Session) -> int:
    """Continue the trace sequence across files so a return names one draft.

    NOTE: the sequence has 7 digits and wraps after 9,999,999 drafts; a trace reused
    after the wrap would collide with the old payment's unique reference.
    """
    drafted = session.scalar(select(func.coalesce(func.sum(DraftFile.entry_count), 0))) or 0
    return int(drafted) % MAX_TRACE_SEQUENCE + 1
