"""AUTOPAY: the account's autopay status, enrolling the saved card on a YES, and turning
autopay off on a YES to AUTOPAY OFF.

::

    AUTOPAY  enrolled              → "Autopay is on … card ending 4242 …; text AUTOPAY OFF …"
             not enrolled, no card → "Autopay is off …; call the office"
             not enrolled, card    → "Reply YES to pay each bill with card ending 4242"
    YES      still valid           → enroll the card, reply that autopay is on
             expired or card gone  → ask again
    AUTOPAY OFF  enrolled          → "Reply YES … to turn off autopay (card ending 4242) …"
                 not enrolled      → "Autopay is already off"
    YES      still valid           → cancel the enrollment, reply that autopay is off
             expired               → ask again
             autopay already gone  → "Autopay is already off"

Enrolling and canceling write only our own rows (no Stripe call), so they run in the
webhook. Canceling is keyed by the YES's MessageSid, so a redelivered YES cancels once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.payments import channels
from app.payments.autopay.models import AutopayEnrollment, AutopayMethod
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
        method, ending = _paid_by(session, enrollments[0])
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


def ask_turn_off(session: Session, request: Request, *, reason: str | None = None) -> str:
    """Ask the customer to confirm turning autopay off, or say that it is already off.

    ``reason`` is "expired" when an earlier YES came too late.
    """
    enrollments = channels.active_enrollments(session, request.account.id)
    if not enrollments:
        return replies.render("autopay_already_off", request.language, last4=request.last4)
    method, ending = _paid_by(session, enrollments[0])
    conversations.ask(
        session,
        phone=request.text.sender,
        account_id=request.account.id,
        kind=ConversationKind.AUTOPAY_OFF,
        language=request.language,
        saved_card_id=None,
        message_sid=request.text.message_sid,
    )
    return replies.render(
        "autopay_off_confirm",
        request.language,
        last4=request.last4,
        method=method,
        ending=ending,
        minutes=get_settings().sms_confirm_minutes,
        reason=reason,
    )


def confirm_turn_off(session: Session, request: Request, conversation: SmsConversation) -> str:
    """Cancel the account's autopay, unless the question expired or autopay already ended."""
    if conversations.is_expired(conversation):
        conversations.close(conversation, S.EXPIRED)
        session.flush()
        return ask_turn_off(session, request, reason="expired")
    ended = channels.cancel_autopay(
        session,
        account_id=request.account.id,
        channel=PaymentChannel.SMS,
        idempotency_key=f"sms:{request.text.message_sid}",
        actor=request.text.actor,
        reason="turned off by text",
    )
    conversations.close(conversation, S.COMPLETED if ended else S.CANCELED)
    conversation.answer_sid = request.text.message_sid
    template = "autopay_turned_off" if ended else "autopay_already_off"
    return replies.render(template, request.language, last4=request.last4)


def _paid_by(session: Session, enrollment: AutopayEnrollment) -> tuple[str, str]:
    """Return how an enrollment pays ("card" or "bank") and the last 4 digits of it."""
    if enrollment.method is AutopayMethod.CARD and enrollment.saved_card_id is not None:
        return "card", session.get_one(SavedCard, enrollment.saved_card_id).last4
    return "bank", session.get_one(BankAccount, enrollment.bank_account_id).number_last4
