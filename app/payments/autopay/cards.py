"""Autopay by card: charge each enrolled account's bill on its due date.

Each bill is charged in its own transaction with the bill and account rows locked, so a
manual payment racing the charge is either seen (nothing left to charge) or lands after
it as a credit on the account. Attempt n uses the Stripe idempotency key
``autopay:{bill_id}:{n}``: a retry after a timeout returns the first PaymentIntent
instead of charging again. A decline is retried on the days in the
``autopay_retry_days`` setting, and never more often.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.billing.models import Bill
from app.errors import DomainError
from app.payments.autopay.models import (
    AttemptStatus,
    AutopayAttempt,
    AutopayEnrollment,
    AutopayMethod,
    EnrollmentStatus,
)
from app.payments.cards.gateway import GatewayUnavailable, StripeGateway
from app.payments.cards.models import SavedCard
from app.payments.cards.service import charge_saved_card
from app.payments.models import PaymentChannel, PaymentStatus
from app.payments.owed import bill_open_amount
from app.payments.service import lock_account
from app.settings import get_settings

log = logging.getLogger(__name__)

FINAL = (AttemptStatus.SUCCEEDED, AttemptStatus.SKIPPED)


@dataclass
class AutopayReport:
    charged: int = 0
    declined: int = 0
    skipped: int = 0
    unknown: int = 0
    #: Bills whose attempt raised an error; each is logged and the run goes on.
    failed: int = 0


def bills_to_charge(session: Session, today: dt.date) -> list[int]:
    """Bills of card-autopay accounts that are due and have an attempt to make today."""
    oldest = today - dt.timedelta(days=max(get_settings().retry_days, default=0))
    candidates = session.scalars(
        select(Bill.id)
        .join(AutopayEnrollment, AutopayEnrollment.account_id == Bill.account_id)
        .where(
            AutopayEnrollment.status == EnrollmentStatus.ACTIVE,
            AutopayEnrollment.method == AutopayMethod.CARD,
            Bill.due_date <= today,
            Bill.due_date >= oldest,
        )
        .order_by(Bill.id)
    ).all()
    due: list[int] = []
    for bill_id in candidates:
        last = _last_attempt(session, bill_id)
        if last is None or last.status == AttemptStatus.UNKNOWN:
            due.append(bill_id)
        elif last.status == AttemptStatus.DECLINED and last.next_attempt_on is not None:
            if last.next_attempt_on <= today:
                due.append(bill_id)
    return due


def _last_attempt(session: Session, bill_id: int) -> AutopayAttempt | None:
    return session.scalar(
        select(AutopayAttempt)
        .where(AutopayAttempt.bill_id == bill_id)
        .order_by(AutopayAttempt.attempt.desc())
        .limit(1)
    )


def charge_bill(
    session: Session, gateway: StripeGateway, bill_id: int, *, today: dt.date
) -> AttemptStatus:
    """Make today's autopay attempt for one bill; the caller commits."""
    bill = session.scalar(select(Bill).where(Bill.id == bill_id).with_for_update())
    if bill is None:
        raise LookupError(f"bill {bill_id} not found")
    lock_account(session, bill.account_id)
    enrollment = session.scalar(
        select(AutopayEnrollment).where(
            AutopayEnrollment.account_id == bill.account_id,
            AutopayEnrollment.status == EnrollmentStatus.ACTIVE,
            AutopayEnrollment.method == AutopayMethod.CARD,
        )
    )
    if enrollment is None or enrollment.saved_card_id is None:
        return AttemptStatus.SKIPPED
    last = _last_attempt(session, bill.id)
    if last is not None and last.status in FINAL:
        return last.status
    if last is not None and last.status == AttemptStatus.UNKNOWN:
        attempt = last
    else:
        number = 1 + (
            session.scalar(select(func.count()).where(AutopayAttempt.bill_id == bill.id)) or 0
        )
        attempt = AutopayAttempt(
            bill_id=bill.id,
            attempt=number,
            enrollment_id=enrollment.id,
            status=AttemptStatus.STARTED,
            scheduled_on=today,
        )
        session.add(attempt)
        session.flush()
    # Re-check what is owed now, under the locks: a payment since the bill may cover it.
    owed = bill_open_amount(session, bill)
    if owed <= 0:
        attempt.status = AttemptStatus.SKIPPED
        attempt.detail = "nothing owed on the bill at charge time"
        return attempt.status
    card = session.get(SavedCard, enrollment.saved_card_id)
    if card is None or card.removed_at is not None:
        attempt.status = AttemptStatus.DECLINED
        attempt.detail = "the enrolled card was removed"
        return attempt.status
    key = f"autopay:{bill.id}:{attempt.attempt}"
    try:
        payment = charge_saved_card(
            session,
            gateway,
            account_id=bill.account_id,
            amount=owed,
            card=card,
            channel=PaymentChannel.AUTOPAY_CARD,
            idempotency_key=key,
            stripe_key=key,
            actor="autopay",
            off_session=True,
            bill_id=bill.id,
        )
    except GatewayUnavailable as error:
        attempt.status = AttemptStatus.UNKNOWN
        attempt.detail = str(error)[:300]
        log.warning("autopay for bill %s attempt %s: outcome unknown", bill.id, attempt.attempt)
        return attempt.status
    attempt.payment_id = payment.id
    if payment.status == PaymentStatus.SUCCEEDED:
        attempt.status = AttemptStatus.SUCCEEDED
    elif payment.status == PaymentStatus.PROCESSING:
        attempt.status = AttemptStatus.SUCCEEDED
        attempt.detail = "processing at Stripe; the webhook completes it"
    else:
        attempt.status = AttemptStatus.DECLINED
        attempt.decline_code = payment.failure_code
        attempt.next_attempt_on = next_retry(bill.due_date, attempt.attempt)
    return attempt.status


def next_retry(due_date: dt.date, attempt: int) -> dt.date | None:
    """Return when attempt ``attempt + 1`` runs, or None once the retries are used up."""
    days = get_settings().retry_days
    if attempt > len(days):
        return None
    return due_date + dt.timedelta(days=days[attempt - 1])


def run_autopay(
    session_factory: sessionmaker[Session], *, today: dt.date, gateway: StripeGateway | None = None
) -> AutopayReport:
    """Charge every card-autopay bill due today, one transaction per bill."""
    gateway = gateway or StripeGateway()
    with session_factory() as session:
        bill_ids = bills_to_charge(session, today)
    report = AutopayReport()
    for bill_id in bill_ids:
        try:
            with session_factory() as session, session.begin():
                status = charge_bill(session, gateway, bill_id, today=today)
        except (DomainError, stripe.StripeError) as error:
            # One bill's failure must not hold up the others; it is tried again next run.
            log.error("autopay for bill %s failed: %s", bill_id, error)
            report.failed += 1
            continue
        if status == AttemptStatus.SUCCEEDED:
            report.charged += 1
        elif status == AttemptStatus.DECLINED:
            report.declined += 1
        elif status == AttemptStatus.UNKNOWN:
            report.unknown += 1
        else:
            report.skipped += 1
    log.info("autopay for %s: %s", today, report)
    return report
