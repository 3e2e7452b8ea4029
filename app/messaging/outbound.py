"""Queue a text to a customer: stored once per decision, sent by Celery after the commit.

``queue_text`` is the one way app code texts a customer. It stores an ``OutboundMessage``
under the caller's idempotency key (the unique key decides, so two concurrent calls with
one key store one message), counts its segments, and holds it until quiet hours end
unless it is urgent. The send task (``app.messaging.sending``) goes out after the
transaction commits, with the end of quiet hours as its ETA, and checks consent right
before it calls Twilio.

Statuses set here and by the send task, before Twilio's own ones take over:

- ``queued``: waiting to be sent now; ``deferred``: waiting for quiet hours to end;
- ``sending``: claimed by one send task, which is calling Twilio;
- ``suppressed``: the number opted out of the program, so nothing was sent;
- ``not_configured``: Twilio is not set up (the demo), so the body is kept but not sent;
- ``failed``: Twilio rejected the request or could not be reached.

After the Messages API accepts a text, its status is Twilio's (queued, sent, delivered,
undelivered, failed, ...), and ``message_sid`` is set; see ``app.messaging.delivery``.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates, utcnow
from app.errors import InvalidInput
from app.messaging.after_commit import apply_after_commit
from app.messaging.consent import masked_phone
from app.messaging.models import OutboundMessage, Program
from app.messaging.schedule import earliest_send
from app.messaging.segments import count_segments
from app.settings import get_settings

log = logging.getLogger(__name__)

QUEUED = "queued"
DEFERRED = "deferred"
SENDING = "sending"
SUPPRESSED = "suppressed"
NOT_CONFIGURED = "not_configured"
FAILED = "failed"

#: Statuses of a message that no send task has claimed yet.
UNSENT = (QUEUED, DEFERRED)

#: The Celery task that sends one message (defined in app.messaging.sending).
SEND_TASK = "messaging.send_text"


def queue_text(
    session: Session,
    *,
    to_number: str,
    program: Program,
    kind: str,
    body: str,
    language: str,
    idempotency_key: str,
    account_id: int | None = None,
    urgent: bool = False,
    now: dt.datetime | None = None,
) -> OutboundMessage:
    """Store a text to ``to_number`` and send it once the session's transaction commits.

    A second call with the same ``idempotency_key`` returns the first message unchanged
    and sends nothing more. ``urgent`` lets the text go out during quiet hours; only
    emergency alerts set it. The caller commits.
    """
    if not to_number:
        raise InvalidInput(f"no phone number to text for {idempotency_key!r}")
    if not body.strip():
        raise InvalidInput(f"the text for {idempotency_key!r} is empty")
    decided_at = now or utcnow()
    send_after = earliest_send(decided_at, urgent=urgent)
    count = count_segments(body)
    row = {
        "idempotency_key": idempotency_key,
        "account_id": account_id,
        "program": program,
        "kind": kind,
        "language": language,
        "to_number": to_number,
        "from_number": sender_number(program),
        "body": body,
        "encoding": count.encoding,
        "segments": count.segments,
        "urgent": urgent,
        "status": DEFERRED if send_after > decided_at else QUEUED,
        "send_after": send_after,
        "created_at": decided_at,
        "updated_at": decided_at,
    }
    inserted = insert_ignoring_duplicates(session, OutboundMessage, [row], ["idempotency_key"])
    message = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.idempotency_key == idempotency_key)
        .execution_options(populate_existing=True)
    ).one()
    if inserted:
        apply_after_commit(session, SEND_TASK, [message.id], eta=send_after)
        log.info(
            "text %s (%s, %s) queued for %s, %d %s segment(s), send after %s",
            message.id,
            kind,
            program.value,
            masked_phone(to_number),
            count.segments,
            count.encoding,
            send_after.isoformat(),
        )
    return message


def sender_number(program: Program) -> str | None:
    """Return the number texts of ``program`` are sent from, None when none is set."""
    settings = get_settings()
    return settings.alerts_number if program is Program.ALERTS else settings.billing_number
