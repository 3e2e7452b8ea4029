"""Bill texts: "your bill is ready" after a bill run, and the payment due reminder.

A bill run commits thousands of bills chunk by chunk, so the bill-ready texts are queued
by a Celery task after the run has committed, a chunk of bills per transaction, with one
insert for each chunk's texts. The key ``bill_ready:{bill id}:{contact id}`` lets the
task run again (a retry, a resumed run) without texting anyone twice.

The due reminder goes out ``reminder_days_before_due`` days before the due date at
``reminder_time`` local (``app.messaging.schedule.reminder_instant``). Beat runs
``queue_due_reminders`` every few minutes. Each run finds the bills whose reminder time
has passed and whose due date has not, so a bill issued after its reminder time still
gets one. A bill that is paid in full, or whose account is on autopay, gets no reminder,
because the customer has nothing to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.models import Bill
from app.bulk import matching
from app.db import session_scope, utcnow
from app.messaging.after_commit import apply_after_commit
from app.messaging.alerts import account_phones, alert_requests
from app.messaging.models import OutboundMessage, Program
from app.messaging.outbound import TextRequest, queue_texts
from app.messaging.schedule import reminder_instant
from app.payments.autopay.models import AutopayEnrollment, EnrollmentStatus
from app.payments.owed import load_applications
from app.settings import get_settings

log = logging.getLogger(__name__)

BILL_READY_TASK = "messaging.bill_ready_texts"
DUE_REMINDERS_TASK = "messaging.queue_due_reminders"

#: Bills handled per transaction by the bill-ready and reminder tasks.
CHUNK = 1000


def bill_ready_after_commit(
    session: Session, run_id: int, account_ids: list[int] | None = None
) -> None:
    """Queue the bill-ready texts of a run (or of some accounts in it) after the commit."""
    apply_after_commit(session, BILL_READY_TASK, [run_id, account_ids])


@shared_task(name=BILL_READY_TASK)
def bill_ready_texts(run_id: int, account_ids: list[int] | None = None) -> int:
    """Queue a bill-ready text for each bill of the run; return how many texts were queued."""
    queued = 0
    last_id = 0
    while True:
        with session_scope() as session:
            query = select(Bill).where(Bill.bill_run_id == run_id, Bill.id > last_id)
            if account_ids is not None:
                query = query.where(Bill.account_id.in_(account_ids))
            bills = list(session.scalars(query.order_by(Bill.id).limit(CHUNK)))
            if not bills:
                break
            queued += len(queue_bill_ready(session, bills))
            last_id = bills[-1].id
    log.info("bill run %s: %d bill-ready texts queued", run_id, queued)
    return queued


def queue_bill_ready(
    session: Session, bills: Sequence[Bill], *, now: dt.datetime | None = None
) -> list[OutboundMessage]:
    """Queue the bill-ready text of each bill to its account's verified phones.

    A bill of zero or a credit requests no payment, so it gets no text.
    """
    account_ids = [bill.account_id for bill in bills]
    phones = account_phones(session, account_ids)
    autopay = accounts_on_autopay(session, account_ids)
    requests: list[TextRequest] = []
    for bill in bills:
        found = phones.get(bill.account_id)
        if found is None or bill.total <= 0:
            continue
        requests += alert_requests(
            found,
            template="bill_ready",
            program=Program.BILLING,
            key=f"bill_ready:{bill.id}",
            amount=bill.total,
            due_date=bill.due_date,
            autopay=bill.account_id in autopay,
        )
    return queue_texts(session, requests, now=now)


def accounts_on_autopay(session: Session, account_ids: Sequence[int]) -> set[int]:
    """Return the accounts among ``account_ids`` with an active autopay enrollment."""
    found: set[int] = set()
    for clause in matching(session, AutopayEnrollment.account_id, sorted(set(account_ids))):
        found.update(
            session.scalars(
                select(AutopayEnrollment.account_id).where(
                    clause, AutopayEnrollment.status == EnrollmentStatus.ACTIVE
                )
            )
        )
    return found


def reminder_due_dates(now: dt.datetime) -> list[dt.date]:
    """Return the due dates not yet past whose reminder time has passed at ``now``.

    With the defaults (2 days before, 08:00), at 09:00 local on 10 March that is 10, 11
    and 12 March. At 07:00 it is 10 and 11 March.
    """
    settings = get_settings()
    today = now.astimezone(settings.zone).date()
    days = [today + dt.timedelta(days=n) for n in range(settings.reminder_days_before_due + 1)]
    return [day for day in days if reminder_instant(day) <= now]


@shared_task(name=DUE_REMINDERS_TASK)
def due_reminders_task(now: str | None = None) -> int:
    """Queue the due reminders whose time has come; beat runs it every few minutes."""
    instant = dt.datetime.fromisoformat(now) if now else utcnow()
    return queue_due_reminders(instant)


def queue_due_reminders(now: dt.datetime) -> int:
    """Queue a reminder for each unpaid bill due soon, a chunk per transaction.

    Return how many texts this run queued.
    """
    dates = reminder_due_dates(now)
    if not dates:
        return 0
    queued = 0
    last_id = 0
    while True:
        with session_scope() as session:
            bills = list(
                session.scalars(
                    select(Bill)
                    .where(Bill.due_date.in_(dates), Bill.id > last_id)
                    .order_by(Bill.id)
                    .limit(CHUNK)
                )
            )
            if not bills:
                break
            queued += len(_queue_reminders(session, bills, now))
            last_id = bills[-1].id
    log.info("due reminders for %s: %d texts", ", ".join(map(str, dates)), queued)
    return queued


def _queue_reminders(
    session: Session, bills: list[Bill], now: dt.datetime
) -> list[OutboundMessage]:
    # Beat runs this every few minutes over the same bills, so skip the reminded ones
    # before computing what each account owes.
    reminded = _reminded_bill_ids(session, [bill.account_id for bill in bills])
    bills = [bill for bill in bills if bill.id not in reminded]
    account_ids = [bill.account_id for bill in bills]
    autopay = accounts_on_autopay(session, account_ids)
    phones = account_phones(session, [a for a in account_ids if a not in autopay])
    applications = load_applications(session, list(phones))
    requests: list[TextRequest] = []
    for bill in bills:
        found = phones.get(bill.account_id)
        if found is None:
            continue
        open_amount = next(
            (
                item.open
                for item in applications[bill.account_id].charges
                if item.charge.entry_id == bill.journal_entry_id
            ),
            Decimal(0),
        )
        if open_amount <= 0:
            continue
        requests += alert_requests(
            found,
            template="due_reminder",
            program=Program.BILLING,
            key=f"due_reminder:{bill.id}",
            amount=open_amount,
            due_date=bill.due_date,
        )
    return queue_texts(session, requests, now=now)


def _reminded_bill_ids(session: Session, account_ids: list[int]) -> set[int]:
    """Return the bills of these accounts that a due reminder was queued for."""
    found: set[int] = set()
    for clause in matching(session, OutboundMessage.account_id, sorted(set(account_ids))):
        keys = session.scalars(
            select(OutboundMessage.idempotency_key).where(
                clause, OutboundMessage.kind == "due_reminder"
            )
        )
        # The key is due_reminder:{bill id}:{contact id}.
        found.update(int(key.split(":")[1]) for key in keys)
    return found
