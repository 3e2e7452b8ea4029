"""Reaching staff: a transfer during office hours, otherwise the hours and a callback.

    person ──open──▶ <Dial> office_phone ──not answered──▶ callback offer
       └──closed──▶ office hours, then "1 for a callback, * for the menu"
    fallback (three failed tries anywhere) ──open──▶ <Dial>; closed ──▶ office hours, hang up

Office hours are ``UPM_OFFICE_OPEN`` to ``UPM_OFFICE_CLOSE`` on the working days of the
work-order calendar (weekdays that are not holidays or closures), in the utility's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from app.accounts.models import Account
from app.calls.models import CallOutcome, CallRequestKind
from app.db import utcnow
from app.payments.channels import look_up
from app.settings import get_settings
from app.work_orders.calendar import is_business_day
from ivr_flows import calls, menu
from ivr_flows.speech import N_, spoken_time
from ivr_flows.turn import Line, Step, Turn, ask

#: Seconds the office phone rings before the caller is offered a callback.
DIAL_TIMEOUT = 30


def now() -> dt.datetime:
    """Return the current instant; tests replace it to pin office hours."""
    return utcnow()


def office_is_open(at: dt.datetime) -> bool:
    settings = get_settings()
    local = at.astimezone(settings.zone)
    if not is_business_day(local.date(), settings):
        return False
    return settings.office_open <= local.time() < settings.office_close


def say_office_hours(turn: Turn, language: str | None = None) -> None:
    settings = get_settings()
    language = language or turn.language
    turn.say(
        N_(
            "Our office is open Monday through Friday, from %(open)s to %(close)s, except holidays."
        ),
        language=language,
        open=spoken_time(settings.office_open, language),
        close=spoken_time(settings.office_close, language),
    )


def fallback(turn: Turn, languages: Sequence[str] | None = None) -> None:
    """Help a caller a prompt could not: a transfer when the office is open, else the hours.

    ``languages`` are those to speak in, the call's language when None.
    """
    if office_is_open(turn.now):
        transfer(turn, languages)
    else:
        closed(turn, languages)


def transfer(turn: Turn, languages: Sequence[str] | None = None) -> None:
    for language in languages or (turn.language,):
        turn.say(
            N_("Please hold while we connect you with a member of our staff."), language=language
        )
    turn.response.dial(
        get_settings().office_phone,
        action=turn.url(Step.PERSON_DIALED),
        method="POST",
        timeout=DIAL_TIMEOUT,
    )
    turn.note("transfer")
    calls.settle(turn.call, CallOutcome.TRANSFERRED)


def closed(turn: Turn, languages: Sequence[str] | None = None) -> None:
    """Read the office hours and end the call."""
    for language in languages or (turn.language,):
        say_office_hours(turn, language)
        turn.say(N_("Please call again during office hours. Goodbye."), language=language)
    turn.response.hangup()
    turn.note("office_hours")


def person(turn: Turn, attempt: int = 1) -> None:
    """Connect an identified caller, or offer a callback while the office is closed."""
    if attempt == 1 and office_is_open(turn.now):
        transfer(turn)
        return
    if attempt == 1:
        say_office_hours(turn)
    offer_callback(turn, attempt)


def offer_callback(turn: Turn, attempt: int) -> None:
    ask(
        turn,
        prompt=Step.PERSON,
        action=Step.PERSON_CHOICE,
        attempt=attempt,
        fallback=closed,
        lines=[
            Line(N_("To ask for a callback from our staff, press 1.")),
            Line(N_("To return to the main menu, press star.")),
        ],
    )


def person_choice(turn: Turn) -> None:
    if turn.digits == "1":
        callback(turn)
    elif turn.digits == "*":
        menu.menu(turn)
    else:
        person(turn, turn.attempt + 1)


def dialed(turn: Turn) -> None:
    """Follow up a transfer: hang up after a call, offer a callback when nobody answered."""
    status = str(turn.form.get("DialCallStatus") or "")
    if status in ("completed", "answered"):
        turn.response.hangup()
        return
    turn.note(f"transfer_{status or 'unknown'}")
    turn.say(N_("Sorry, nobody could take your call."))
    if turn.call.account_id is None:
        closed(turn)
    else:
        offer_callback(turn, 1)


def callback(turn: Turn) -> None:
    _request_staff(turn, CallRequestKind.CALLBACK)
    turn.say(N_("Thank you. A member of our staff will call you back at this number."))
    menu.menu(turn)


def arrangement(turn: Turn) -> None:
    """Record a payment arrangement request, unless the account owes nothing to arrange."""
    account_id = turn.call.account_id
    assert account_id is not None, "the routes check that the call has an account"
    if look_up(turn.session, account_id).balance <= 0:
        turn.note("arrangement_nothing_owed")
        turn.say(N_("Your account owes nothing now, so there is no payment to arrange."))
        menu.menu(turn)
        return
    _request_staff(turn, CallRequestKind.ARRANGEMENT)
    turn.say(
        N_(
            "Your request for a payment arrangement is recorded. A member of our staff will "
            "call you to set it up."
        )
    )
    menu.menu(turn)


def _request_staff(turn: Turn, kind: CallRequestKind) -> None:
    """Record the request and alert staff once the transaction has committed."""
    request = calls.request_staff(turn.session, turn.call, kind, phone=turn.caller)
    account = turn.session.get(Account, turn.call.account_id) if turn.call.account_id else None
    number = account.number if account else None
    turn.after_commit.append(lambda: calls.alert_staff(request, number))
    turn.note(kind.value)
