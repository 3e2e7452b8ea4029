"""Celery tasks of the customer text flow: charge a confirmed PAY.

The task is queued by the webhook's transaction and sent only after it commits
(``app.messaging.after_commit``).
"""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import session_scope, utcnow
from app.errors import DomainError
from app.messaging.consent import masked_phone
from app.messaging.models import Program
from app.messaging.outbound import queue_text
from app.payments import channels
from app.payments.cards.gateway import GatewayUnavailable
from app.payments.cards.models import SavedCard
from app.payments.models import PaymentChannel, PaymentStatus
from sms_flows import conversations, replies
from sms_flows.confirmations import PAY_TASK
from sms_flows.models import ConversationStatus, SmsConversation

log = logging.getLogger(__name__)

S = ConversationStatus


@shared_task(name=PAY_TASK)
def pay_confirmed(conversation_id: int) -> str:
    """Charge the saved card for a PAY the customer confirmed; safe to run twice.

    The task itself is not retried. The Stripe client already retries a failed connection
    twice with the same idempotency key, and without a broker this task runs inside the
    webhook's commit, where a Celery retry would raise into the webhook. When Stripe stays
    unreachable, the customer is told the outcome is unknown.
    """
    try:
        with session_scope() as session:
            return charge_confirmed(session, conversation_id)
    except GatewayUnavailable as error:
        log.error("SMS payment %s failed: %s", conversation_id, error.message)
        with session_scope() as session:
            return give_up(session, conversation_id, error)


def charge_confirmed(session: Session, conversation_id: int) -> str:
    """Pay the amount the customer confirmed; return the payment's status.

    A conversation no longer confirmed (already charged by an earlier run) is left alone.
    """
    conversation = _locked(session, conversation_id)
    if conversation is None or conversation.status is not S.CONFIRMED:
        return conversation.status.value if conversation is not None else "missing"
    # A domain error (the card is gone, the key was used for another amount) is raised
    # before the payment service writes anything, so no savepoint is needed to undo it.
    try:
        payment = channels.pay(
            session,
            account_id=conversation.account_id,
            channel=PaymentChannel.SMS,
            idempotency_key=f"sms:{conversation.answer_sid}",
            actor=f"sms:{masked_phone(conversation.phone)}",
            amount=conversation.amount,
            saved_card_id=conversation.saved_card_id,
        )
    except GatewayUnavailable:
        raise
    except DomainError as error:
        log.warning("SMS payment %s not made: %s", conversation_id, error.code)
        _fail(session, conversation, error.code, "pay_failed")
        return "failed"

    conversation.payment_id = payment.id
    conversations.close(conversation, S.COMPLETED)
    log.info("SMS payment %s: payment %s is %s", conversation_id, payment.id, payment.status.value)
    # A receipt (succeeded) or a decline (failed) is a payment notice the payment service
    # has written, and the notice outbox texts it. A processing charge has no notice yet.
    if payment.status is PaymentStatus.PROCESSING:
        _text_result(session, conversation, "pay_processing")
    return payment.status.value


def give_up(session: Session, conversation_id: int, error: DomainError) -> str:
    """Close a payment whose outcome stayed unknown, and tell the customer to check."""
    conversation = _locked(session, conversation_id)
    if conversation is None or conversation.status is not S.CONFIRMED:
        return conversation.status.value if conversation is not None else "missing"
    # NOTE: Stripe may have taken the charge before the connection failed. The daily
    # Stripe reconciliation lists such a charge, and the text sent here has the customer
    # check their card statement before paying again.
    _fail(session, conversation, error.code, "pay_unknown")
    return "failed"


def _locked(session: Session, conversation_id: int) -> SmsConversation | None:
    """Return the conversation, locked until the transaction ends.

    The first statement writes, so SQLite takes its write lock before this transaction
    reads anything. A transaction that read first and then wrote could fail with
    "database is locked" while a webhook writes (PostgreSQL locks the row either way).
    """
    session.execute(
        update(SmsConversation)
        .where(SmsConversation.id == conversation_id)
        .values(updated_at=utcnow())
    )
    return session.scalar(
        select(SmsConversation).where(SmsConversation.id == conversation_id).with_for_update()
    )


def _fail(session: Session, conversation: SmsConversation, code: str, template: str) -> None:
    conversations.close(conversation, S.FAILED)
    conversation.failure = code[:200]
    _text_result(session, conversation, template)


def _text_result(session: Session, conversation: SmsConversation, template: str) -> None:
    language = conversation.language
    card = session.get_one(SavedCard, conversation.saved_card_id)
    assert conversation.amount is not None  # a PAY question always names its amount
    queue_text(
        session,
        to_number=conversation.phone,
        program=Program.BILLING,
        kind=f"sms_{template}",
        body=replies.render(
            template,
            language,
            amount=replies.money(conversation.amount, language),
            card=card.last4,
        ),
        language=language,
        idempotency_key=f"sms_pay_result:{conversation.id}",
        account_id=conversation.account_id,
    )
