"""Reporting a problem: a work order for the caller's service address, read back by number.

    report ── 1 leak, 2 no water, 3 outage, 4 meter problem ──▶ work order ──▶ menu
           ── * ──▶ menu

Leaks, no water and outages are emergencies (due the same day); a meter problem is
routine. The order's idempotency key is made of the call and its turn, so a repeated
webhook creates one order. A problem whose order is still open at the premise (reported
by text, or earlier in this call) gets that order's number, and staff are alerted only
to a new order (``app.work_orders.reports``).
"""

from __future__ import annotations

import logging

from sqlalchemy import or_, select

from app.calls.models import CallOutcome
from app.premises.models import ServiceAgreement
from app.settings import get_settings
from app.work_orders import reports
from app.work_orders.models import Priority, WorkOrderType
from app.work_orders.service import Actor
from ivr_flows import calls, menu, people
from ivr_flows.speech import N_, spoken_digits
from ivr_flows.turn import Line, Step, Turn, ask

log = logging.getLogger(__name__)

#: Key: (what staff read in the order's notes and alert, order type, priority).
PROBLEMS = {
    "1": ("a leak", WorkOrderType.LEAK_INVESTIGATION, Priority.EMERGENCY),
    "2": ("no water", WorkOrderType.SERVICE_INVESTIGATION, Priority.EMERGENCY),
    "3": ("an outage", WorkOrderType.SERVICE_INVESTIGATION, Priority.EMERGENCY),
    "4": ("a meter problem", WorkOrderType.SERVICE_INVESTIGATION, Priority.ROUTINE),
}


def ask_problem(turn: Turn, attempt: int = 1) -> None:
    ask(
        turn,
        prompt=Step.REPORT,
        action=Step.REPORT_CHOICE,
        attempt=attempt,
        fallback=people.fallback,
        lines=[
            Line(N_("To report a leak, press 1.")),
            Line(N_("If you have no water, press 2.")),
            Line(N_("To report an outage, press 3.")),
            Line(N_("To report a problem with your meter, press 4.")),
            Line(N_("To return to the main menu, press star.")),
        ],
    )


def report_choice(turn: Turn) -> None:
    if turn.digits == "*":
        menu.menu(turn)
        return
    problem = PROBLEMS.get(turn.digits)
    if problem is None:
        ask_problem(turn, turn.attempt + 1)
        return
    label, order_type, priority = problem
    account_id = turn.call.account_id
    report = reports.report_problem(
        turn.session,
        type=order_type,
        priority=priority,
        actor=Actor("ivr"),
        idempotency_key=f"ivr:{turn.call.call_sid}:report:{turn.call.turn}",
        account_id=account_id,
        premise_id=_service_premise(turn, account_id),
        notes=f"Reported by phone: {label}. Caller {turn.call.caller}, call {turn.call.call_sid}.",
        alert=f"called about {label}",
        now=turn.now,
    )
    order = report.order

    log.info("call %s reported %s: work order %s", turn.call.call_sid, label, order.number)
    turn.note(f"report_{order.number}")
    calls.settle(turn.call, CallOutcome.SELF_SERVED)
    if report.created:
        turn.say(
            N_("Thank you. Your report is recorded. Your confirmation number is %(number)s."),
            number=spoken_digits(str(order.number)),
        )
    else:
        turn.say(
            N_("Thank you. This problem is already reported. Work order %(number)s is open."),
            number=spoken_digits(str(order.number)),
        )
    menu.menu(turn)


def _service_premise(turn: Turn, account_id: int | None) -> int | None:
    """Return the premise of the account's current service, the newest first."""
    today = turn.now.astimezone(get_settings().zone).date()
    return turn.session.scalar(
        select(ServiceAgreement.premise_id)
        .where(
            ServiceAgreement.account_id == account_id,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date >= today),
        )
        .order_by(ServiceAgreement.start_date.desc(), ServiceAgreement.id.desc())
        .limit(1)
    )
