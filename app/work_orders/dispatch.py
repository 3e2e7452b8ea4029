"""Job cards texted to the crew member an order is dispatched to, and the crew message log.

``queue_job_card`` runs inside the dispatch transaction: it stores the outbound message
as pending under a key made of the order and its dispatch event, so dispatching once
stores one message. After that transaction commits, a Celery task sends it through the
Twilio SDK. The task sends only a pending message and marks it sending in its own commit
first, so a retry or a second worker never texts the same card twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from twilio.base.exceptions import TwilioException, TwilioRestException

from app.db import Base, UTCDateTime, session_scope, utcnow
from app.messaging.after_commit import apply_after_commit
from app.messaging.twilio_client import create_message
from app.meters.models import Meter
from app.premises.models import Premise
from app.settings import get_settings
from app.work_orders.models import Staff, WorkOrder, WorkOrderEvent

log = logging.getLogger(__name__)

OUTBOUND = "outbound"
INBOUND = "inbound"
#: Outbound statuses set here; Twilio's own (queued, sent, delivered, failed,
#: undelivered) replace them once the Messages API has responded.
PENDING = "pending"
SENDING = "sending"
NOT_CONFIGURED = "not_configured"
FAILED = "failed"
RECEIVED = "received"

#: The Celery task that sends one crew message, queued after the dispatch commits.
SEND_TASK = "work_orders.send_crew_message"


class CrewMessage(Base):
    """One text to or from a crew member, with Twilio's message SID and status."""

    __tablename__ = "crew_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    from_number: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    #: The reply sent back in the TwiML response to an inbound text.
    reply: Mapped[str | None] = mapped_column(Text)
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(200))
    #: Outbound only: ``job_card:{order id}:{dispatch event id}``.
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def job_card_text(session: Session, order: WorkOrder) -> str:
    """Render the job card: number, type, address, meter, due time (local zone), notes."""
    settings = get_settings()
    lines = [f"WO {order.number}: {order.type.value.replace('_', ' ')} ({order.priority.value})"]
    premise = session.get(Premise, order.premise_id) if order.premise_id else None
    if premise is not None:
        lines.append(f"{premise.address}, {premise.city} {premise.state} {premise.zip_code}")
    meter = session.get(Meter, order.meter_id) if order.meter_id else None
    if meter is not None:
        # The crew checks the serial on site and sends it back when the meter is changed.
        lines.append(f"Meter {meter.serial}")
    due = order.due_at.astimezone(settings.zone)
    lines.append(f"Due {due:%a %b} {due.day} {due:%I:%M %p %Z}".replace(" 0", " "))
    if order.notes:
        lines.append(f"Notes: {' '.join(order.notes.split())[:300]}")
    lines.append(f"Reply ACCEPT {order.number}, or HELP")
    return "\n".join(lines)


def queue_job_card(session: Session, order: WorkOrder) -> CrewMessage | None:
    """Store the job card of the order's latest dispatch, to send once the commit succeeds.

    Return None, with a warning in the log, when the assignee has no phone to text.
    """
    session.flush()
    dispatch_event_id = session.scalar(
        select(WorkOrderEvent.id)
        .where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.action == "dispatch")
        .order_by(WorkOrderEvent.id.desc())
        .limit(1)
    )
    member = session.get(Staff, order.assignee_id) if order.assignee_id else None
    if dispatch_event_id is None or member is None or not member.phone:
        log.warning(
            "work order %s dispatched with no crew member phone to text (assignee %s)",
            order.number,
            order.assignee_id,
        )
        return None
    key = f"job_card:{order.id}:{dispatch_event_id}"
    existing = session.scalar(select(CrewMessage).where(CrewMessage.idempotency_key == key))
    if existing is not None:
        return existing
    message = CrewMessage(
        direction=OUTBOUND,
        staff_id=member.id,
        work_order_id=order.id,
        to_number=member.phone,
        from_number=get_settings().twilio_from_number,
        body=job_card_text(session, order),
        status=PENDING,
        idempotency_key=key,
    )
    session.add(message)
    session.flush()
    _send_after_commit(session, message.id)
    return message


def _send_after_commit(session: Session, message_id: int) -> None:
    apply_after_commit(session, SEND_TASK, [message_id])


@shared_task(name=SEND_TASK)
def send_crew_message(message_id: int) -> str:
    """Send one pending outbound crew message through Twilio and record its SID and status."""
    settings = get_settings()
    with session_scope() as session:
        message = session.scalar(
            select(CrewMessage).where(CrewMessage.id == message_id).with_for_update()
        )
        if message is None or message.status != PENDING:
            return message.status if message is not None else "missing"
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            message.status = NOT_CONFIGURED
            message.error = "UPM_TWILIO_ACCOUNT_SID or UPM_TWILIO_AUTH_TOKEN is not set"
            log.warning("crew message %s not sent: Twilio is not configured", message_id)
            return message.status
        message.status = SENDING
        message.updated_at = utcnow()
        to_number, from_number, body = message.to_number, message.from_number, message.body

    # Marked sending and committed: from here on no other run sends this message.
    status, sid, error = _create_message(to_number, from_number, body)
    with session_scope() as session:
        message = session.get_one(CrewMessage, message_id)
        message.status = status
        message.message_sid = sid
        message.error = error
        message.updated_at = utcnow()
    return status


def _create_message(
    to_number: str, from_number: str | None, body: str
) -> tuple[str, str | None, str | None]:
    """Call the Messages API; return the status, the SID and an error for the log."""
    try:
        created = create_message(to_number, from_number, body)
    except TwilioRestException as error:
        log.error("Twilio rejected a crew message: HTTP %s, code %s", error.status, error.code)
        return FAILED, None, f"Twilio error {error.code}: {error.msg}"[:200]
    except (TwilioException, OSError) as error:
        # NOTE: a timeout may hide a message Twilio accepted; it is marked failed and not
        # retried, so a crew member may get it although the log shows failed.
        log.error("sending a crew message failed: %s", type(error).__name__)
        return FAILED, None, f"{type(error).__name__}: {error}"[:200]
    return str(created.status or "queued"), created.sid, None


#: Twilio's statuses before the final one, in the order a message passes them. Status
#: callbacks may arrive out of order, so an earlier one never replaces a later one.
_PROGRESS = {"accepted": 0, "queued": 1, "sending": 2, "sent": 3}


def record_status(session: Session, message_sid: str, status: str) -> bool:
    """Store a delivery status Twilio reported for an outbound message; False if unknown."""
    message = session.scalar(
        select(CrewMessage).where(
            CrewMessage.message_sid == message_sid, CrewMessage.direction == OUTBOUND
        )
    )
    if message is None:
        return False
    current = _PROGRESS.get(message.status, 9)
    if status in _PROGRESS and _PROGRESS[status] < current:
        return True
    message.status = status[:20]
    message.updated_at = utcnow()
    return True
