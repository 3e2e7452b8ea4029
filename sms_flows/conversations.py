"""Asking a customer a YES/NO question by text, and finding the question a reply answers."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.messaging.consent import masked_phone
from app.settings import get_settings
from sms_flows.models import ConversationKind, ConversationStatus, SmsConversation

log = logging.getLogger(__name__)

S = ConversationStatus


def ask(
    session: Session,
    *,
    phone: str,
    account_id: int,
    kind: ConversationKind,
    language: str,
    saved_card_id: int | None,
    message_sid: str,
    amount: Decimal | None = None,
    now: dt.datetime | None = None,
) -> SmsConversation:
    """Store a pending question for ``phone``, replacing any question still pending.

    It expires ``UPM_SMS_CONFIRM_MINUTES`` after ``now``.
    """
    created = now or utcnow()
    conversation = SmsConversation(
        phone=phone,
        account_id=account_id,
        kind=kind,
        status=S.PENDING,
        language=language,
        amount=amount,
        saved_card_id=saved_card_id,
        message_sid=message_sid,
        expires_at=created + dt.timedelta(minutes=get_settings().sms_confirm_minutes),
        created_at=created,
        updated_at=created,
    )
    # Two requests from one phone at once: the partial unique index lets one pending row
    # in, and the later transaction retires that one and tries again, so the newest wins.
    for attempt in range(2):
        cancel_pending(session, phone, now=created)
        try:
            with session.begin_nested():
                session.add(conversation)
                session.flush()
        except IntegrityError:
            if attempt == 1:
                raise
            continue
        break
    log.info(
        "asked %s to confirm %s for account %s (conversation %s)",
        masked_phone(phone),
        kind.value,
        account_id,
        conversation.id,
    )
    return conversation


def pending_for(session: Session, phone: str) -> SmsConversation | None:
    """Return the question pending for ``phone``, locked until the transaction ends."""
    return session.scalar(
        select(SmsConversation)
        .where(SmsConversation.phone == phone, SmsConversation.status == S.PENDING)
        .with_for_update()
    )


def cancel_pending(session: Session, phone: str, *, now: dt.datetime | None = None) -> int:
    """Cancel the question pending for ``phone``; return how many were canceled (0 or 1)."""
    result = session.execute(
        update(SmsConversation)
        .where(SmsConversation.phone == phone, SmsConversation.status == S.PENDING)
        .values(status=S.CANCELED, updated_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def close(
    conversation: SmsConversation, status: ConversationStatus, *, now: dt.datetime | None = None
) -> None:
    """Move a conversation on from pending (or from confirmed, once its payment ran)."""
    conversation.status = status
    conversation.updated_at = now or utcnow()


def is_expired(conversation: SmsConversation, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) >= conversation.expires_at
