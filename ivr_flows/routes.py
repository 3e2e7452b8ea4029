"""Twilio's voice webhooks: the IVR customers call, at ``POST /twilio/voice`` and below.

Every step is a signed ``POST`` with Twilio's call form (``CallSid``, ``From``, and
``Digits``, ``SpeechResult`` or ``<Pay>``'s ``Result`` as the step needs). Each answers
with TwiML whose URLs are absolute and carry ``v`` (the call's turn), ``a`` (the attempt
at a prompt) and, for ``<Pay>``, ``t`` (the card attempt). The steps and their URLs:

==============================  ==========================================================
``/twilio/voice``               incoming call: greeting, then the language menu
``/twilio/voice/language``      "1 English, 2 Spanish"; answered at ``language/choice``
``/twilio/voice/account``       caller ID is a verified contact: "1 for the account ending
                                4567 …, 9 for another"; answered at ``account/choice``
``/twilio/voice/number``        the account number, keys or speech, ending with #;
                                answered at ``number/entered``
``/twilio/voice/zip``           the five-digit service ZIP code; answered at ``zip/entered``
``/twilio/voice/menu``          1 balance, 2 pay, 3 report a problem, 4 payment arrangement,
                                0 a person; answered at ``menu/choice``
``/twilio/voice/pay``           1 saved card, 2 new card for the amount due, 3 new card for
                                another amount, * menu; answered at ``pay/choice``
``/twilio/voice/pay/check``     reads the result of the queued saved-card charge
``/twilio/voice/pay/amount``    an amount keyed as dollars * cents #; answered at
                                ``pay/amount/entered``, which plays ``<Pay>``
``/twilio/voice/pay/card/result``  ``<Pay>``'s action: every ``Result`` is handled
``/twilio/voice/pay/card/failed``  after a decline: 1 retry, 0 a person, * menu; answered at
                                ``pay/card/retry``
``/twilio/voice/report``        1 leak, 2 no water, 3 outage, 4 meter problem, * menu;
                                answered at ``report/choice``
``/twilio/voice/person``        a ``<Dial>`` to the office while it is open, else the office
                                hours and "1 for a callback, * menu"; answered at
                                ``person/choice``
``/twilio/voice/person/dialed`` the ``<Dial>`` action: a callback offer when nobody answered
``/twilio/voice/status``        the call status callback (no TwiML): marks the call ended,
                                and abandoned when no step settled it
==============================  ==========================================================

Each request is verified first (``app.messaging.twilio_requests``), then claimed as
``CallSid:step:v:a`` before anything changes, so a repeated delivery gets an empty
``<Response/>``. Steps after ``zip`` need the call to have proved its account; a request
for one without it starts identification again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.voice_response import VoiceResponse

from app.db import session_scope, utcnow
from app.inbound.service import claim_event
from app.messaging.twilio_requests import rejection
from ivr_flows import calls, card_pay, greeting, identify, menu, pay, people, report
from ivr_flows.turn import MAX_ATTEMPTS, Step, Turn

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

TWIML = "application/xml"

Handler = Callable[[Turn], None]

#: Steps any caller may reach.
OPEN_STEPS: dict[Step, Handler] = {
    Step.INCOMING: greeting.incoming,
    Step.LANGUAGE: lambda turn: greeting.language(turn, turn.attempt),
    Step.LANGUAGE_CHOICE: greeting.language_choice,
    Step.ACCOUNT: lambda turn: identify.choose_account(turn, turn.attempt),
    Step.ACCOUNT_CHOICE: identify.account_choice,
    Step.NUMBER: lambda turn: identify.ask_number(turn, turn.attempt),
    Step.NUMBER_ENTERED: identify.number_entered,
    Step.ZIP: lambda turn: identify.ask_zip(turn, turn.attempt),
    Step.ZIP_ENTERED: identify.zip_entered,
    Step.PERSON_DIALED: people.dialed,
}

#: Steps only a caller who proved the account may reach.
ACCOUNT_STEPS: dict[Step, Handler] = {
    Step.MENU: lambda turn: menu.menu(turn, turn.attempt),
    Step.MENU_CHOICE: menu.menu_choice,
    Step.PAY: lambda turn: pay.start(turn, turn.attempt),
    Step.PAY_CHOICE: pay.pay_choice,
    Step.PAY_CHECK: pay.check,
    Step.PAY_AMOUNT: lambda turn: card_pay.ask_amount(turn, turn.attempt),
    Step.PAY_AMOUNT_ENTERED: card_pay.amount_entered,
    Step.PAY_CARD_RESULT: card_pay.result,
    Step.PAY_CARD_FAILED: lambda turn: card_pay.offer_retry(turn, turn.attempt),
    Step.PAY_CARD_RETRY: card_pay.retry_choice,
    Step.REPORT: lambda turn: report.ask_problem(turn, turn.attempt),
    Step.REPORT_CHOICE: report.report_choice,
    Step.PERSON: lambda turn: people.person(turn, turn.attempt),
    Step.PERSON_CHOICE: people.person_choice,
}


@router.post("/twilio/voice/status")
async def call_status(request: Request) -> Response:
    """Store the call's final status; a call no step settled is abandoned."""
    form = await request.form()
    rejected = rejection(request, form)
    if rejected is not None:
        return rejected
    call_sid = str(form.get("CallSid") or "")
    status = str(form.get("CallStatus") or "")
    if not call_sid or not status:
        return _error(400, "twilio_form_incomplete", "CallSid and CallStatus are required")
    duration = str(form.get("CallDuration") or "")

    def store() -> None:
        with session_scope() as session:
            event_id = f"{call_sid}:status:{status}"
            if not claim_event(session, provider="twilio", event_id=event_id, kind="voice"):
                return
            call = calls.end_call(
                session,
                call_sid,
                status,
                int(duration) if duration.isdigit() else None,
                utcnow(),
            )
            if call is None:
                log.info("status %s for call %s, which never reached the IVR", status, call_sid)

    await run_in_threadpool(store)
    return Response(status_code=204)


@router.post("/twilio/voice")
async def incoming_call(request: Request) -> Response:
    """Answer a call: the greeting and the language menu."""
    return await _answer(request, Step.INCOMING)


@router.post("/twilio/voice/{path:path}")
async def voice_step(request: Request, path: str) -> Response:
    """Return the TwiML of one step of the call (see the table above)."""
    try:
        step = Step(path.strip("/"))
    except ValueError:
        return _error(404, "ivr_step_not_found", f"no IVR step at /twilio/voice/{path}")
    return await _answer(request, step)


async def _answer(request: Request, step: Step) -> Response:
    form = await request.form()
    rejected = rejection(request, form)
    if rejected is not None:
        return rejected
    call_sid = str(form.get("CallSid") or "")
    if not call_sid:
        return _error(400, "twilio_form_incomplete", "CallSid is required")
    query = request.query_params
    visit = query.get("v", "0")[:8]
    attempt = _bounded(query.get("a"), MAX_ATTEMPTS + 1)
    tries = _bounded(query.get("t"), card_pay.MAX_TRIES)

    def handle() -> tuple[str | None, list[Callable[[], object]]]:
        with session_scope() as session:
            event_id = f"{call_sid}:{step.value or 'incoming'}:{visit}:{attempt}"
            if not claim_event(session, provider="twilio", event_id=event_id, kind="voice"):
                log.info("voice request %s already handled; redelivery ignored", event_id)
                return None, []
            call = calls.open_call(session, call_sid, str(form.get("From") or ""))
            call.turn += 1
            turn = Turn(
                session=session,
                call=call,
                form=form,
                step=step,
                attempt=attempt,
                tries=tries,
                now=people.now(),
            )
            turn.note(step.value or "incoming")
            _dispatch(turn)
            return str(turn.response), turn.after_commit

    twiml, after_commit = await run_in_threadpool(handle)
    for work in after_commit:
        await run_in_threadpool(work)
    return Response(twiml or str(VoiceResponse()), media_type=TWIML)


def _dispatch(turn: Turn) -> None:
    handler = OPEN_STEPS.get(turn.step)
    if handler is not None:
        handler(turn)
        return
    if turn.call.account_id is None:
        log.warning(
            "call %s asked for %s before proving an account", turn.call.call_sid, turn.step.value
        )
        identify.start(turn)
        return
    ACCOUNT_STEPS[turn.step](turn)


def _bounded(value: str | None, highest: int) -> int:
    """Return a counter from the URL, from 1 up to ``highest``; anything else is 1."""
    if value is None or not value.isdigit():
        return 1
    return max(1, min(int(value), highest))


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)
