"""AUTOPAY: the account's autopay status, and enrolling the saved card on a YES.

::

    AUTOPAY  enrolled              → "Autopay is on … with card ending 4242"
             not enrolled, no card → "Autopay is off …; call the office"
             not enrolled, card    → "Reply YES to pay each bill with card ending 4242"
    YES      still valid           → enroll the card, reply that autopay is on
             expired or card gone  → ask again

Enrolling writes only our own rows (no Stripe call), so it runs in the webhook.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.payments import channels
from app.payments.autopay.models import AutopayMethod
from app.payments.cards.models import SavedCard
from app.payments.cards.service import default_card
from app.payments.drafts.models import BankAccount
from app.payments.models import PaymentChannel
from app.settings import get_settings
from sms_flows import conversations, replies
from sms_flows.inbound import Request
from sms_flows.models import ConversationKind, ConversationStatus, SmsConversation

S = ConversationStatus


def autopay_status(session: Session, request: Request, *, reason: str | None = None) -> str:
    """Reply with the autopay status, and offer to enroll the saved card when it is off.

    ``reason`` is why an earlier YES could not be used ("expired" or "changed").
    """
    language = request.language
    account_id = request.account.id
    enrollments = channels.active_enrollments(session, account_id)
    if enrollments:
        enrollment = enrollments[0]
        if enrollment.method is AutopayMethod.CARD and enrollment.saved_card_id is not None:
            method, ending = "card", session.get_one(SavedCard, enrollment.saved_card_id).last4
        else:
            bank = session.get_one(BankAccount, enrollment.bank_account_id)
            method, ending = "bank", bank.number_last4
        return replies.render(
            "autopay_on", language, last4=request.last4, method=method, ending=ending
        )
    card = default_card(session, account_id)
    if card is None:
        return replies.render("autopay_no_card", language, last4=request.last4)
    conversations.ask(
        session,
        phone=request.text.sender,
        account_id=account_id,
        kind=ConversationKind.AUTOPAY,
        language=language,
        saved_card_id=card.id,
        message_sid=request.text.message_sid,
    )
    return replies.render(
        "autopay_offer",
        language,
        last4=request.last4,
        card=card.last4,
        minutes=get_settings().sms_confirm_minutes,
        reason=reason,
    )


def confirm(session: Session, request: Request, conversation: SmsConversation) -> str:
    """Enroll the card the question named, unless the question expired or the card is gone."""
    card = session.get(SavedCard, conversation.saved_card_id)
    if conversations.is_expired(conversation):
        conversations.close(conversation, S.EXPIRED)
        session.flush()
        return autopay_status(session, request, reason="expired")
    if card is None or card.removed_at is not None:
        conversations.close(conversation, S.CANCELED)
        session.flush()
        return autopay_status(session, request, reason="changed")
    channels.enroll_autopay(
        session,
        account_id=request.account.id,
        channel=PaymentChannel.SMS,
        idempotency_key=f"sms:{request.text.message_sid}",
        actor=request.text.actor,
        saved_card_id=card.id,
    )
    conversations.close(conversation, S.COMPLETED)
    conversation.answer_sid = request.text.message_sid
    return replies.render(
        "autopay_on", request.language, last4=request.last4, method="card", ending=card.last4
    )
