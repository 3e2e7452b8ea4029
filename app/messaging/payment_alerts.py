"""Text the customer the payment notices that payment postings leave in their outbox.

Payment code writes a ``PaymentNotice`` in the transaction that posts, declines or
returns a payment. This module turns each notice of a texted kind into texts to the
account's verified phones and marks the notice ``sent_at`` with a ``delivery_note``.
``queue_notice`` starts the delivery after its transaction commits, so a customer who
paid by text hears the result at once. Beat also runs it every minute, for notices
written in bulk (a lockbox file) and for any delivery that failed.

Texted kinds: payment received, payment declined (a declined card autopay charge reads
as "autopay could not charge your card"), payment returned, and bank-draft autopay
suspended. Refund, dispute and bank-detail notices are left for the mail and e-mail
work, as are notices addressed to an e-mail address (counter receipts).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from celery import shared_task
from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.db import session_scope, utcnow
from app.messaging.after_commit import apply_after_commit
from app.messaging.alerts import AccountPhones, account_phones, alert_requests
from app.messaging.consent import masked_phone
from app.messaging.models import OutboundMessage, Program
from app.messaging.outbound import TextRequest, queue_texts
from app.payments.models import NoticeKind, Payment, PaymentChannel, PaymentNotice

log = logging.getLogger(__name__)

NOTICE_TASK = "messaging.deliver_payment_notices"

#: The template that texts each notice kind.
TEMPLATES = {
    NoticeKind.PAYMENT_RECEIVED: "payment_received",
    NoticeKind.PAYMENT_DECLINED: "payment_declined",
    NoticeKind.PAYMENT_RETURNED: "payment_returned",
    NoticeKind.AUTOPAY_SUSPENDED: "autopay_suspended",
}

#: Notices handled per transaction.
BATCH = 500


def deliver_after_commit(session: Session) -> None:
    """Deliver the outbox once the session commits (once per transaction)."""
    apply_after_commit(session, NOTICE_TASK, [])


@shared_task(name=NOTICE_TASK)
def deliver_payment_notices_task() -> int:
    """Deliver every waiting notice of a texted kind; return how many were handled."""
    handled = 0
    last_id: int | None = 0
    while last_id is not None:
        with session_scope() as session:
            done, last_id = deliver_payment_notices(session, after_id=last_id)
        handled += done
    return handled


def deliver_payment_notices(
    session: Session, *, after_id: int = 0, now: dt.datetime | None = None
) -> tuple[int, int | None]:
    """Text up to ``BATCH`` waiting notices with ids above ``after_id``.

    Return how many notices were marked sent and the last id looked at, None when there
    was none. On PostgreSQL a notice another worker is delivering is skipped, not
    waited for.
    """
    waiting = list(
        session.scalars(
            select(PaymentNotice)
            .where(
                PaymentNotice.id > after_id,
                PaymentNotice.sent_at.is_(None),
                PaymentNotice.kind.in_(list(TEMPLATES)),
            )
            .order_by(PaymentNotice.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if not waiting:
        return 0, None
    notices = [notice for notice in waiting if notice.payload.get("channel") in (None, "sms")]
    phones = account_phones(session, [notice.account_id for notice in notices])
    payments = _payments(session, [n.payment_id for n in notices if n.payment_id is not None])
    requests: dict[int, list[TextRequest]] = {}
    unreadable: dict[int, str] = {}
    for notice in notices:
        found = phones.get(notice.account_id)
        if found is None:
            continue
        payment = payments.get(notice.payment_id) if notice.payment_id else None
        try:
            requests[notice.id] = _notice_requests(notice, found, payment)
        except (KeyError, ValueError, ArithmeticError, TemplateError) as error:
            # One bad payload must not hold up the other notices in every later run.
            log.error("payment notice %s not texted: %r", notice.id, error)
            unreadable[notice.id] = f"not texted: unreadable notice ({error!r})"[:300]
    messages = queue_texts(session, [r for group in requests.values() for r in group], now=now)
    by_key = {message.idempotency_key: message for message in messages}

    sent_at = now or utcnow()
    for notice in notices:
        notice.sent_at = sent_at
        group = [by_key[request.idempotency_key] for request in requests.get(notice.id, [])]
        notice.delivery_note = unreadable.get(notice.id) or _note(group)
    return len(notices), waiting[-1].id


def _payments(session: Session, payment_ids: list[int]) -> dict[int, Payment]:
    found: dict[int, Payment] = {}
    for clause in matching(session, Payment.id, sorted(set(payment_ids))):
        payments = session.scalars(select(Payment).where(clause))
        found.update((payment.id, payment) for payment in payments)
    return found


def _notice_requests(
    notice: PaymentNotice, phones: AccountPhones, payment: Payment | None
) -> list[TextRequest]:
    payload = notice.payload
    template = TEMPLATES[notice.kind]
    if (
        notice.kind == NoticeKind.PAYMENT_DECLINED
        and payment is not None
        and payment.channel == PaymentChannel.AUTOPAY_CARD
    ):
        template = "autopay_failed"
    received_on = payload.get("received_on")
    return alert_requests(
        phones,
        template=template,
        program=Program.BILLING,
        key=f"notice:{notice.id}",
        amount=Decimal(payload.get("amount", "0")),
        received_on=dt.date.fromisoformat(received_on) if received_on else None,
        fee=Decimal(payload.get("fee", "0")),
        credit=Decimal(payload.get("credit_on_account", "0")),
    )


def _note(messages: list[OutboundMessage]) -> str:
    """Summarize where a notice went, such as ``text queued to …0123``."""
    if not messages:
        return "not texted: no verified phone on the account"
    parts = [f"text {message.status} to {masked_phone(message.to_number)}" for message in messages]
    return "; ".join(parts)
