"""The call record: opened on the first webhook, settled by the steps, ended by Twilio."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.alerts import ARRANGEMENT_REQUESTED, CALLBACK_REQUESTED, raise_alert
from app.calls.models import Call, CallOutcome, CallRequest, CallRequestKind
from app.db import insert_ignoring_duplicates, utcnow
from app.messaging.consent import masked_phone

log = logging.getLogger(__name__)

#: Twilio's final call statuses: the call is over.
FINAL_STATUSES = ("completed", "busy", "failed", "no-answer", "canceled")

_ALERTS = {
    CallRequestKind.CALLBACK: CALLBACK_REQUESTED,
    CallRequestKind.ARRANGEMENT: ARRANGEMENT_REQUESTED,
}


def open_call(session: Session, call_sid: str, caller: str) -> Call:
    """Return the call's record, locked for this request, creating it on the first one."""
    insert_ignoring_duplicates(
        session,
        Call,
        [
            {
                "call_sid": call_sid,
                "caller": masked_phone(caller),
                "language": "en",
                "turn": 0,
                "identify_failures": 0,
                "path": [],
                "started_at": utcnow(),
            }
        ],
        ["call_sid"],
    )
    return session.scalars(
        select(Call)
        .where(Call.call_sid == call_sid)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def settle(call: Call, outcome: CallOutcome) -> None:
    """Record how the call went; a transfer is never downgraded to self-served."""
    if call.outcome == CallOutcome.TRANSFERRED and outcome == CallOutcome.SELF_SERVED:
        return
    call.outcome = outcome


def end_call(
    session: Session, call_sid: str, status: str, duration: int | None, now: dt.datetime
) -> Call | None:
    """Apply Twilio's call status; a final status with no outcome yet means abandoned."""
    call = session.scalars(
        select(Call).where(Call.call_sid == call_sid).with_for_update()
    ).one_or_none()
    if call is None:
        return None
    call.status = status[:20]
    if status in FINAL_STATUSES:
        call.ended_at = now
        call.duration_seconds = duration
        if call.outcome is None:
            call.outcome = CallOutcome.ABANDONED
    return call


def request_staff(
    session: Session, call: Call, kind: CallRequestKind, *, phone: str
) -> CallRequest:
    """Record a callback or arrangement request once per call, for staff to act on."""
    insert_ignoring_duplicates(
        session,
        CallRequest,
        [
            {
                "call_id": call.id,
                "account_id": call.account_id,
                "kind": kind,
                "phone": phone[:20] or "anonymous",
                "language": call.language,
                "status": "open",
                "created_at": utcnow(),
            }
        ],
        ["call_id", "kind"],
    )
    request = session.scalars(
        select(CallRequest).where(CallRequest.call_id == call.id, CallRequest.kind == kind)
    ).one()
    settle(call, CallOutcome.TRANSFERRED)
    log.info("call %s: %s request %s recorded", call.call_sid, kind.value, request.id)
    return request


def alert_staff(request: CallRequest, account_number: str | None) -> None:
    """Tell staff about a request; only masked numbers go into the alert (it is logged too)."""
    account = f"account …{account_number[-4:]}" if account_number else "no account"
    raise_alert(
        _ALERTS[request.kind],
        f"{account}, caller {masked_phone(request.phone)}, language {request.language}, "
        f"call request {request.id}",
    )
