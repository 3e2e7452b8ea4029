"""The crew conversation: a text from a field crew member becomes one work-order action.

Commands are case-insensitive and ignore extra spaces; the order number may be left out
when the sender has exactly one open order::

    ACCEPT 1002
    ENROUTE 1002                  (also EN ROUTE) → in progress
    DONE 1002 READ 004512         complete with the meter reading
    DONE 1002 READ 000012 ROLLOVER  confirm a reading below the last read
    UNABLE 1002 no access         back to scheduled as a return trip
    HOLD 1002 parts               on hold
    HELP

Every action goes through ``app.work_orders.service`` with the sender as the actor, so
it is checked and audited the same way as from any other channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.errors import DomainError
from app.work_orders import service
from app.work_orders.models import Staff, WorkOrder, WorkOrderStatus, WorkOrderType
from app.work_orders.service import Actor

S = WorkOrderStatus

#: Statuses in which an order is in the crew member's hands.
CREW_OPEN = (S.DISPATCHED, S.IN_PROGRESS, S.ON_HOLD)

HELP_TEXT = (
    "Reply with: ACCEPT 1002 | ENROUTE 1002 | DONE 1002 READ 004512 | "
    "DONE 1002 OLD <serial> READ <digits> NEW <serial> READ <digits> | "
    "DONE 1002 FOUND <what you found> | UNABLE 1002 reason | HOLD 1002 reason. "
    "Leave out the number when you have one open order."
)

_COMMAND = re.compile(
    r"^(?P<verb>ACCEPT|EN\s*ROUTE|DONE|UNABLE|HOLD|HELP)\b\s*(?P<number>\d+)?\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_READ = re.compile(r"^READ\s*(?P<reading>\S+)\s*(?P<rollover>ROLLOVER)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    verb: str
    number: int | None
    rest: str


def parse(text: str) -> Command | None:
    """Parse a crew text into a command, or return None when it names no known verb."""
    cleaned = " ".join(text.split())
    match = _COMMAND.match(cleaned)
    if match is None:
        return None
    verb = re.sub(r"\s+", "", match["verb"]).upper()
    number = int(match["number"]) if match["number"] else None
    return Command(verb, number, match["rest"].strip())


def find_crew_member(session: Session, phone: str) -> Staff | None:
    """Return the active staff member whose phone is ``phone`` (E.164), or None."""
    if not phone:
        return None
    return session.scalar(select(Staff).where(Staff.phone == phone, Staff.active.is_(True)))


@dataclass(frozen=True)
class Outcome:
    reply: str
    #: The order the text was about, so the message log can show it on the order's page.
    work_order_id: int | None = None


def handle(session: Session, staff: Staff, text: str) -> Outcome:
    """Carry out one crew text and return the reply with the order it concerned.

    A refused action (a bad reading, a move the order's state forbids) changes nothing:
    it runs in a savepoint that is rolled back, and the refusal is audited.
    """
    command = parse(text)
    if command is None:
        return Outcome(f"Sorry, that is not a command. {HELP_TEXT}")
    if command.verb == "HELP":
        return Outcome(HELP_TEXT)
    actor = Actor(staff.name, staff)

    order, problem = _resolve_order(session, actor, command)
    if order is None:
        return Outcome(problem)
    savepoint = session.begin_nested()
    try:
        reply = _act(session, order, command, actor)
    except DomainError as error:
        savepoint.rollback()
        _audit_denial(session, actor, command, order, error.code, error.message)
        return Outcome(_refusal_text(order, command, error), order.id)
    savepoint.commit()
    return Outcome(reply, order.id)


def _resolve_order(
    session: Session, actor: Actor, command: Command
) -> tuple[WorkOrder | None, str]:
    """Find the order a command names, or the sender's only open order when it names none.

    Return None and the reply when there is no order to act on.
    """
    assert actor.staff is not None
    staff = actor.staff
    if command.number is not None:
        order = session.scalar(
            select(WorkOrder).where(WorkOrder.number == command.number).with_for_update()
        )
        if order is None:
            return None, f"Work order {command.number} not found. Check the number."
        if order.assignee_id != staff.id:
            _audit_denial(session, actor, command, order, "work_order_not_assigned_to_sender")
            return None, (
                f"Work order {order.number} is not assigned to you; it is {_state(order)}. "
                "Call dispatch if you think it should be."
            )
        if order.status == S.CANCELED:
            _audit_denial(session, actor, command, order, "work_order_canceled")
            reason = f" ({order.cancel_reason})" if order.cancel_reason else ""
            return None, f"Work order {order.number} is canceled{reason}. Do not work it."
        return order, ""

    open_orders = list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.assignee_id == staff.id, WorkOrder.status.in_(CREW_OPEN))
            .order_by(WorkOrder.number)
        )
    )
    if not open_orders:
        return None, "You have no open work orders."
    if len(open_orders) > 1:
        numbers = ", ".join(str(order.number) for order in open_orders)
        return None, (
            f"You have {len(open_orders)} open work orders: {numbers}. "
            f"Which one? For example {command.verb} {open_orders[0].number}"
        )
    return open_orders[0], ""


def _act(session: Session, order: WorkOrder, command: Command, actor: Actor) -> str:
    number = order.number
    if command.verb == "ACCEPT":
        service.accept(session, order, actor=actor)
        return f"Accepted work order {number}. Reply ENROUTE {number} when you leave."
    if command.verb == "ENROUTE":
        service.move(session, order, S.IN_PROGRESS, actor=actor, action="enroute")
        return f"Work order {number} is in progress. Reply {done_example(order)} when done."
    if command.verb == "DONE":
        capture = parse_done(command.rest)
        if capture is None:
            return f"Send what the job needs: {done_example(order)}"
        service.complete(session, order, capture=capture, actor=actor)
        return f"Completed work order {number}. Thank you."
    if command.verb == "UNABLE":
        if not command.rest:
            return f"Say what stopped the work: UNABLE {number} no access"
        service.unable(session, order, reason=command.rest, actor=actor)
        return f"Work order {number} goes back to dispatch for a return trip: {command.rest}"
    if command.verb == "HOLD":
        if not command.rest:
            return f"Say why it is on hold: HOLD {number} parts"
        service.hold(session, order, reason=command.rest, actor=actor)
        return f"Work order {number} is on hold: {command.rest}. Reply ENROUTE {number} to resume."
    raise AssertionError(f"unhandled verb {command.verb}")


#: ``OLD <serial> READ <digits>`` and ``NEW <serial> READ <digits>`` for meter moves.
_METER_PART = re.compile(
    r"(?P<which>OLD|NEW)\s+(?P<serial>\S+)\s+READ\s*(?P<reading>\S+)", re.IGNORECASE
)


def parse_done(rest: str) -> dict[str, Any] | None:
    """Turn the words after ``DONE 1002`` into a completion capture, or None if unreadable.

    ``READ 004512 [ROLLOVER]`` for a read; ``OLD W123 READ 004512 NEW W456 READ 000000``
    for a changeout (either half alone for a removal or an install); ``FOUND <text>`` for
    an investigation's finding. ``capture.py`` then checks what the order's type needs.
    """
    text = rest.strip()
    if text.upper().startswith("FOUND"):
        finding = text[5:].strip()
        return {"finding": finding} if finding else None
    match = _READ.match(text)
    if match is not None:
        return {"read": match["reading"], "rollover": bool(match["rollover"])}
    capture: dict[str, Any] = {}
    rollover = text.upper().endswith("ROLLOVER")
    for part in _METER_PART.finditer(text):
        prefix = part["which"].lower()
        capture[f"{prefix}_serial"] = part["serial"]
        capture[f"{prefix}_read"] = part["reading"]
    if not capture:
        return None
    if rollover:
        capture["rollover"] = True
    return capture


def done_example(order: WorkOrder) -> str:
    """Return the DONE text a crew member sends for this order's type."""
    number = order.number
    examples = {
        WorkOrderType.METER_CHANGEOUT: f"DONE {number} OLD <serial> READ <digits> NEW "
        "<serial> READ <digits>",
        WorkOrderType.METER_INSTALL: f"DONE {number} NEW <serial> READ <digits>",
        WorkOrderType.METER_REMOVE: f"DONE {number} OLD <serial> READ <digits>",
        WorkOrderType.LEAK_INVESTIGATION: f"DONE {number} FOUND <what you found>",
        WorkOrderType.SERVICE_INVESTIGATION: f"DONE {number} FOUND <what you found>",
    }
    return examples.get(order.type, f"DONE {number} READ <digits>")


def _refusal_text(order: WorkOrder, command: Command, error: DomainError) -> str:
    if error.code == "reading_below_last":
        # Confirming is the same text with ROLLOVER at the end, whatever the order type.
        again = f"DONE {order.number} {' '.join(command.rest.split())} ROLLOVER"
        return f"Not done: {error.message}. If the register rolled over, reply {again}"
    return f"Not done: {error.message}. Work order {order.number} is {_state(order)}."


def _audit_denial(
    session: Session,
    actor: Actor,
    command: Command,
    order: WorkOrder,
    code: str,
    message: str | None = None,
) -> None:
    record(
        session,
        actor=actor.label,
        action=f"sms.{command.verb.lower()}",
        outcome="denied",
        target=f"work_order:{order.number}",
        arguments={"code": code, "status": order.status.value},
        detail=message[:200] if message else None,
    )


def _state(order: WorkOrder) -> str:
    return order.status.value.replace("_", " ")
