"""Twilio's SMS webhooks: inbound texts at ``/twilio/sms`` and delivery status callbacks.

Each request is verified first (``app.messaging.twilio_requests``): the SDK's
``RequestValidator`` over the public URL Twilio called and every form field. An inbound text
is then claimed by its ``MessageSid``, so Twilio's redelivery of the same message does
nothing and gets an empty response. Replies always go back as TwiML in the HTTP response,
never as a separate outbound message.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from twilio.twiml.messaging_response import MessagingResponse

from app.db import session_scope
from app.inbound.service import claim_event
from app.messaging.delivery import record_delivery_status
from app.messaging.twilio_requests import rejection
from app.work_orders.dispatch import INBOUND, RECEIVED, CrewMessage, record_status
from sms_flows import crew, customer
from sms_flows.consent_keywords import handle_consent, is_suppressed
from sms_flows.inbound import Text
from sms_flows.keywords import Keyword, classify

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

TWIML = "application/xml"


@router.post("/twilio/sms")
async def inbound_sms(request: Request) -> Response:
    """Reply to a text: consent words first, then the crew or the customer flow."""
    form = await request.form()
    rejected = rejection(request, form)
    if rejected is not None:
        return rejected
    message_sid = str(form.get("MessageSid") or "")
    sender = str(form.get("From") or "")
    if not message_sid or not sender:
        return _error(400, "twilio_form_incomplete", "MessageSid and From are required")

    def handle_message() -> str | None:
        with session_scope() as session:
            if not claim_event(session, provider="twilio", event_id=message_sid, kind="sms"):
                log.info("SMS %s already handled; redelivery ignored", message_sid)
                return None
            return reply_by_sender(session, form, message_sid, sender)

    reply = await run_in_threadpool(handle_message)
    twiml = MessagingResponse()
    if reply is not None:
        twiml.message(reply)
    return Response(str(twiml), media_type=TWIML)


def reply_by_sender(session: Session, form: FormData, message_sid: str, sender: str) -> str | None:
    """Pick the conversation by who sent the text and return its reply (None: no reply).

    STOP and START come first for every sender, then crew phones go to the crew flow and
    every other number to the customer flow.
    """
    body = str(form.get("Body") or "")
    text = Text(message_sid, sender, str(form.get("To") or ""), body)
    consent = handle_consent(session, text)
    if consent.handled:
        return consent.reply
    if is_suppressed(session, text):
        if classify(body).keyword in (Keyword.LEAK, Keyword.OUTAGE):
            # Opting out of texts is not opting out of service: the report still makes its
            # work order, and only the reply, which Twilio would block, is dropped.
            customer.reply(session, text)
        return None
    staff = crew.find_crew_member(session, sender)
    if staff is not None:
        outcome = crew.handle(session, staff, body)
        reply = outcome.reply
        session.add(
            CrewMessage(
                direction=INBOUND,
                staff_id=staff.id,
                work_order_id=outcome.work_order_id,
                to_number=str(form.get("To") or "")[:20],
                from_number=sender[:20],
                body=body,
                reply=reply,
                message_sid=message_sid,
                status=RECEIVED,
            )
        )
        log.info("crew text %s from staff %s handled", message_sid, staff.id)
        return reply

    # An inactive crew phone is a stranger here too, so the customer flow replies to it only
    # with how to register.
    return customer.reply(session, text)


@router.post("/twilio/sms/status")
async def message_status(request: Request) -> Response:
    """Store the delivery status Twilio reports for a crew or customer message we sent."""
    form = await request.form()
    rejected = rejection(request, form)
    if rejected is not None:
        return rejected
    message_sid = str(form.get("MessageSid") or "")
    status = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
    if not message_sid or not status:
        return _error(400, "twilio_form_incomplete", "MessageSid and MessageStatus are required")

    error_code = str(form.get("ErrorCode") or "") or None

    def store() -> bool:
        with session_scope() as session:
            return record_status(session, message_sid, status) or record_delivery_status(
                session, message_sid, status, error_code
            )

    known = await run_in_threadpool(store)
    if not known:
        log.warning("status %s for unknown message %s ignored", status, message_sid)
    return Response(status_code=204)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)
