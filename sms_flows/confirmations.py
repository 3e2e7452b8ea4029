"""PAY and the YES/NO answers to a pending question.

::

    PAY   nothing owed               → "nothing is due"
          no saved card              → a payment link for the amount due
          saved card                 → "Reply YES to pay $84.12 with card ending 4242"
    YES   nothing pending            → "nothing to confirm"
          expired, or amount or card changed → ask again with today's amount and card
          PAY question still valid   → queue the charge, reply "Paying $84.12 …"
          AUTOPAY or AUTOPAY OFF question → sms_flows.autopay
    NO    pending                    → cancel it
          nothing pending            → "nothing to cancel"

The charge runs in a Celery task after the webhook's transaction commits, because Stripe
can be slow. Its key is the YES's MessageSid, so a retried task charges once. The result
reaches the customer as the payment notice the payment service writes (receipt or
decline), or as a text queued by the task for the other outcomes.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.messaging.after_commit import apply_after_commit
from app.payments import channels
from app.payments.cards.models import SavedCard
from app.payments.cards.service import default_card
from app.payments.models import PaymentChannel
from app.settings import get_settings
from sms_flows import autopay, conversations, replies
from sms_flows.inbound import Request, Text
from sms_flows.keywords import Keyword
from sms_flows.models import ConversationKind, ConversationStatus, SmsConversation

log = logging.getLogger(__name__)

S = ConversationStatus

#: The Celery task that charges a confirmed PAY (sms_flows.tasks).
PAY_TASK = "sms_flows.pay_confirmed"


def ask_pay(session: Session, request: Request, *, reason: str | None = None) -> str:
    """Ask the customer to confirm paying the amount due with the saved card.

    ``reason`` is why an earlier YES could not be used ("expired" or "changed"), and the
    reply then starts with it.
    """
    language = request.language
    account_id = request.account.id
    owed = channels.look_up(session, account_id).amount_due
    if owed <= 0:
        return replies.render("nothing_owed", language, last4=request.last4)
    card = default_card(session, account_id)
    if card is None:
        _, url = channels.start_payment_link(
            session,
            account_id=account_id,
            channel=PaymentChannel.SMS,
            idempotency_key=f"sms:{request.text.message_sid}",
            actor=request.text.actor,
            amount=owed,
        )
        return replies.render(
            "pay_link",
            language,
            last4=request.last4,
            amount=replies.money(owed, language),
            url=url,
            hours=get_settings().payment_link_hours,
        )
    conversations.ask(
        session,
        phone=request.text.sender,
        account_id=account_id,
        kind=ConversationKind.PAY,
        language=language,
        saved_card_id=card.id,
        message_sid=request.text.message_sid,
        amount=owed,
    )
    return replies.render(
        "pay_confirm",
        language,
        last4=request.last4,
        amount=replies.money(owed, language),
        card=card.last4,
        minutes=get_settings().sms_confirm_minutes,
        reason=reason,
    )


def answer(
    session: Session, text: Text, keyword: Keyword, language: str, accounts: list[Account]
) -> str:
    """Apply YES or NO to the question pending for the sender."""
    conversation = conversations.pending_for(session, text.sender)
    if conversation is not None and conversation.account_id not in {a.id for a in accounts}:
        # The number is no longer a verified contact of that account.
        conversations.close(conversation, S.CANCELED)
        conversation = None
    if conversation is None:
        return replies.render("nothing_pending", language, answer=keyword.value.lower())
    if keyword is Keyword.NO:
        conversations.close(conversation, S.CANCELED)
        return replies.render("canceled", language, kind=conversation.kind.value)
    account = next(a for a in accounts if a.id == conversation.account_id)
    request = Request(text, keyword, language, account)
    if conversation.kind is ConversationKind.AUTOPAY:
        return autopay.confirm(session, request, conversation)
    if conversation.kind is ConversationKind.AUTOPAY_OFF:
        return autopay.confirm_turn_off(session, request, conversation)
    return _confirm_pay(session, request, conversation)


def _confirm_pay(session: Session, request: Request, conversation: SmsConversation) -> str:
    owed = channels.look_up(session, request.account.id).amount_due
    card = default_card(session, request.account.id)
    if conversations.is_expired(conversation):
        reason = "expired"
    elif owed != conversation.amount or card is None or card.id != conversation.saved_card_id:
        reason = "changed"
    else:
        return _queue_payment(session, request, conversation, card)
    log.info("YES %s came for a %s PAY question; asking again", request.text.message_sid, reason)
    conversations.close(conversation, S.EXPIRED if reason == "expired" else S.CANCELED)
    session.flush()
    return ask_pay(session, request, reason=reason)


def _queue_payment(
    session: Session, request: Request, conversation: SmsConversation, card: SavedCard
) -> str:
    conversations.close(conversation, S.CONFIRMED)
    conversation.answer_sid = request.text.message_sid
    session.flush()
    apply_after_commit(session, PAY_TASK, [conversation.id])
    assert conversation.amount is not None  # a PAY question always names its amount
    return replies.render(
        "pay_queued",
        request.language,
        amount=replies.money(conversation.amount, request.language),
        card=card.last4,
    )
