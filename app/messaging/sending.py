"""The Celery tasks that send queued customer texts through Twilio, each one at most once.

A send task claims its message by moving it from queued (or deferred) to sending in a
commit of its own, and only then calls the Messages API. A retried or duplicated task
finds the message already claimed and does nothing, so no customer gets a text twice.
The NOTE on ``_create_message`` names the one case where a text may be lost instead.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import Task, shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException

from app.db import session_scope, utcnow
from app.messaging.consent import is_opted_out, masked_phone, opt_out
from app.messaging.models import OutboundMessage
from app.messaging.outbound import (
    FAILED,
    NOT_CONFIGURED,
    SEND_TASK,
    SENDING,
    SUPPRESSED,
    UNSENT,
)
from app.messaging.twilio_client import create_message
from app.settings import get_settings

log = logging.getLogger(__name__)

#: Twilio's error code when the recipient replied STOP to our number.
UNSUBSCRIBED = "21610"

#: Messages sent per run of the periodic sweep.
SWEEP_BATCH = 500

_warned_not_configured = False


@shared_task(name=SEND_TASK, bind=True)
def send_text(task: Task, message_id: int) -> str:
    """Send one queued message through Twilio, unless it was claimed, opted out or early.

    A run before the message's ``send_after`` sends nothing: with a broker it schedules
    itself again for that instant, and in eager mode (no broker, where an ETA is ignored)
    it leaves the message to the periodic sweep.
    """
    with session_scope() as session:
        message = session.scalar(
            select(OutboundMessage).where(OutboundMessage.id == message_id).with_for_update()
        )
        if message is None:
            log.warning("text %s not found; nothing sent", message_id)
            return "missing"
        if message.status not in UNSENT or message.message_sid is not None:
            return message.status
        send_after = message.send_after
        early = send_after > utcnow()
        if not early:
            status = _claim(session, message)
            if status != SENDING:
                return status
            to_number, from_number, body = message.to_number, message.from_number, message.body
            program = message.program

    if early:
        if not task.request.is_eager:
            task.apply_async([message_id], eta=send_after)
        return "early"

    # Claimed and committed: from here on no other run sends this message.
    assert from_number is not None  # _claim marks a message without one not_configured
    status, sid, code, error = _create_message(to_number, from_number, body)
    with session_scope() as session:
        if code == UNSUBSCRIBED:
            opt_out(session, to_number, [program], source="twilio_21610")
        message = session.get_one(OutboundMessage, message_id)
        message.status = status
        message.message_sid = sid
        message.error_code = code
        message.error = error
        message.updated_at = utcnow()
    return status


def _claim(session: Session, message: OutboundMessage) -> str:
    """Mark the message sending, or suppressed or not_configured; return the new status."""
    settings = get_settings()
    message.updated_at = utcnow()
    if is_opted_out(session, message.to_number, message.program):
        message.status = SUPPRESSED
        message.error = f"opted out of {message.program.value} texts"
        log.info(
            "text %s to %s suppressed: opted out of %s",
            message.id,
            masked_phone(message.to_number),
            message.program.value,
        )
        return message.status
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return _not_configured(
            message, "UPM_TWILIO_ACCOUNT_SID or UPM_TWILIO_AUTH_TOKEN is not set"
        )
    if not message.from_number:
        return _not_configured(message, "no number to send from: set UPM_TWILIO_FROM_NUMBER")
    message.status = SENDING
    return message.status


def _not_configured(message: OutboundMessage, reason: str) -> str:
    """Keep the message unsent; warn once per process, because a demo queues thousands."""
    global _warned_not_configured
    message.status = NOT_CONFIGURED
    message.error = reason
    if not _warned_not_configured:
        log.warning("customer texts are stored but not sent: %s", reason)
        _warned_not_configured = True
    log.info("text %s not sent: %s", message.id, reason)
    return message.status


def _create_message(
    to_number: str, from_number: str, body: str
) -> tuple[str, str | None, str | None, str | None]:
    """Call the Messages API; return the status, the SID, Twilio's error code and an error.

    NOTE: a timeout may hide a message Twilio accepted. It is marked failed and not
    retried, so the customer may get a text whose log shows failed, but never two.
    """
    try:
        created = create_message(to_number, from_number, body)
    except TwilioRestException as error:
        code = str(error.code) if error.code is not None else None
        log.error(
            "Twilio rejected a text to %s: HTTP %s, code %s",
            masked_phone(to_number),
            error.status,
            code,
        )
        return FAILED, None, code, f"Twilio error {code}: {error.msg}"[:200]
    except (TwilioException, OSError) as error:
        log.error("sending a text to %s failed: %s", masked_phone(to_number), type(error).__name__)
        return FAILED, None, None, f"{type(error).__name__}: {error}"[:200]
    return str(created.status or "queued"), created.sid, None, None


@shared_task(name="messaging.send_due_texts")
def send_due_texts(now: str | None = None) -> int:
    """Send the queued and deferred texts whose time has come; return how many were tried.

    Beat runs this every minute. It sends what eager mode could not schedule (deferred
    texts in the demo) and anything whose task was lost; the claim keeps each send single.
    """
    instant = dt.datetime.fromisoformat(now) if now else utcnow()
    with session_scope() as session:
        due = list(
            session.scalars(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.status.in_(UNSENT),
                    OutboundMessage.message_sid.is_(None),
                    OutboundMessage.send_after <= instant,
                )
                .order_by(OutboundMessage.send_after, OutboundMessage.id)
                .limit(SWEEP_BATCH)
            )
        )
    for message_id in due:
        send_text.delay(message_id)
    return len(due)
