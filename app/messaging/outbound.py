"""Queue a text to a customer: stored once per decision, sent by Celery after the commit.

``queue_text`` (and ``queue_texts`` for many) is the one way app code texts a customer.
It stores an ``OutboundMessage`` under the caller's idempotency key (the unique key
decides, so two concurrent calls with one key store one message), counts its segments,
and defers it to the end of quiet hours unless it is urgent. A number that opted out of the
program gets the message stored as suppressed. Otherwise the send task
(``app.messaging.sending``) goes out after the transaction commits, with the end of quiet
hours as its ETA, and checks consent again right before it calls Twilio.

A message's ``queued`` means "not yet given to Twilio" while ``message_sid`` is empty, and
Twilio's own ``queued`` once it is set, so the send task claims only messages without one.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bulk import matching
from app.db import insert_ignoring_duplicates, utcnow
from app.errors import InvalidInput
from app.messaging.after_commit import apply_after_commit
from app.messaging.consent import masked_phone
from app.messaging.models import OutboundMessage, Program, SmsConsent
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


@dataclass(frozen=True)
class TextRequest:
    """One text to queue; the fields are ``queue_text``'s arguments."""

    to_number: str
    program: Program
    kind: str
    body: str
    language: str
    idempotency_key: str
    account_id: int | None = None
    urgent: bool = False


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
    emergency alerts set it. A number that opted out of ``program`` gets a message
    stored as suppressed, and no send task. The caller commits.
    """
    request = TextRequest(
        to_number=to_number,
        program=program,
        kind=kind,
        body=body,
        language=language,
        idempotency_key=idempotency_key,
        account_id=account_id,
        urgent=urgent,
    )
    return queue_texts(session, [request], now=now)[0]


def queue_texts(
    session: Session, requests: Sequence[TextRequest], *, now: dt.datetime | None = None
) -> list[OutboundMessage]:
    """Queue many texts in a few statements, as ``queue_text`` does one; return them in order.

    A key given twice in ``requests`` stores the first request.
    """
    decided_at = now or utcnow()
    unique = list({request.idempotency_key: request for request in reversed(requests)}.values())
    unique.reverse()
    for request in unique:
        _check(request)
    keys = [request.idempotency_key for request in unique]
    known = set(_messages_by_key(session, keys))
    opted_out = _opted_out(session, unique)
    rows = [
        _row(request, decided_at, (request.to_number, request.program) in opted_out)
        for request in unique
        if request.idempotency_key not in known
    ]
    insert_ignoring_duplicates(session, OutboundMessage, rows, ["idempotency_key"])

    by_key = _messages_by_key(session, keys)
    for key in keys:
        message = by_key[key]
        if key in known:
            continue
        if message.status in UNSENT:
            # A concurrent call that stored the same key first may send a task too;
            # the send task's claim keeps that to one text.
            apply_after_commit(session, SEND_TASK, [message.id], eta=message.send_after)
        log.info(
            "text %s (%s, %s) for %s: %s, %d %s segment(s), send after %s",
            message.id,
            message.kind,
            message.program.value,
            masked_phone(message.to_number),
            message.status,
            message.segments,
            message.encoding,
            message.send_after.isoformat(),
        )
    return [by_key[request.idempotency_key] for request in requests]


def _check(request: TextRequest) -> None:
    if not request.to_number:
        raise InvalidInput(f"no phone number to text for {request.idempotency_key!r}")
    if not request.body.strip():
        raise InvalidInput(f"the text for {request.idempotency_key!r} is empty")


def _row(request: TextRequest, decided_at: dt.datetime, opted_out: bool) -> dict[str, Any]:
    send_after = earliest_send(decided_at, urgent=request.urgent)
    count = count_segments(request.body)
    if opted_out:
        status = SUPPRESSED
    elif send_after > decided_at:
        status = DEFERRED
    else:
        status = QUEUED
    return {
        "idempotency_key": request.idempotency_key,
        "account_id": request.account_id,
        "program": request.program,
        "kind": request.kind,
        "language": request.language,
        "to_number": request.to_number,
        "from_number": sender_number(request.program),
        "body": request.body,
        "encoding": count.encoding,
        "segments": count.segments,
        "urgent": request.urgent,
        "status": status,
        "send_after": send_after,
        "error": f"opted out of {request.program.value} texts" if opted_out else None,
        "created_at": decided_at,
        "updated_at": decided_at,
    }


def _messages_by_key(session: Session, keys: list[str]) -> dict[str, OutboundMessage]:
    found: dict[str, OutboundMessage] = {}
    for clause in matching(session, OutboundMessage.idempotency_key, keys):
        query = select(OutboundMessage).where(clause).execution_options(populate_existing=True)
        found.update((message.idempotency_key, message) for message in session.scalars(query))
    return found


def _opted_out(session: Session, requests: list[TextRequest]) -> set[tuple[str, Program]]:
    numbers = sorted({request.to_number for request in requests})
    found: set[tuple[str, Program]] = set()
    for clause in matching(session, SmsConsent.phone, numbers):
        rows = session.execute(
            select(SmsConsent.phone, SmsConsent.program).where(clause, SmsConsent.opted_out)
        )
        found.update((phone, program) for phone, program in rows)
    return found


def sender_number(program: Program) -> str | None:
    """Return the number texts of ``program`` are sent from, None when none is set."""
    settings = get_settings()
    return settings.alerts_number if program is Program.ALERTS else settings.billing_number
