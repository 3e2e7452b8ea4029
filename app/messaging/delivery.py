"""Delivery statuses Twilio reports for customer texts, applied so they never move back.

Twilio posts a status callback as a message passes each stage, but callbacks may arrive
out of order (``sent`` after ``delivered``). Each status has a rank, and a callback is
applied only when its rank is higher than the stored one, so a final status (delivered,
undelivered, failed, canceled) is never replaced, except by ``read`` after ``delivered``.
Error 21610 (the recipient replied STOP to our number) also records the opt-out.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.messaging.consent import masked_phone, opt_out
from app.messaging.models import OutboundMessage
from app.messaging.sending import UNSUBSCRIBED

log = logging.getLogger(__name__)

#: Twilio's outbound message statuses by the order a message passes them.
STATUS_RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
    "read": 6,
}


def record_delivery_status(
    session: Session, message_sid: str, status: str, error_code: str | None = None
) -> bool:
    """Store a status Twilio reported for a customer text; return False for an unknown SID.

    A status that ranks at or below the stored one changes nothing, so repeats and late
    arrivals are harmless. An unknown status is logged and ignored.
    """
    message = session.scalar(
        select(OutboundMessage).where(OutboundMessage.message_sid == message_sid).with_for_update()
    )
    if message is None:
        return False
    if error_code == UNSUBSCRIBED:
        # Whatever the order of callbacks, the opt-out itself is a fact to keep.
        opt_out(session, message.to_number, [message.program], source="twilio_21610")
    rank = STATUS_RANK.get(status)
    if rank is None:
        log.warning("text %s: unknown status %r from Twilio ignored", message.id, status)
        return True
    if rank <= STATUS_RANK.get(message.status, 0):
        log.info("text %s: status %s after %s ignored", message.id, status, message.status)
        return True
    message.status = status
    if error_code:
        message.error_code = error_code[:20]
    message.updated_at = utcnow()
    log.info(
        "text %s to %s: %s%s",
        message.id,
        masked_phone(message.to_number),
        status,
        f" (error {error_code})" if error_code else "",
    )
    return True
