"""``/upm wo create|assign|list|close|cancel|reopen``: work orders through the service."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select

from app.accounts.service import get_account_by_number
from app.errors import InvalidInput, NotFound
from app.meters.models import MeterInstallation
from app.premises.models import ServiceAgreement
from app.settings import get_settings
from app.work_orders import service
from app.work_orders.costing import add_labor, order_costs
from app.work_orders.inventory import draw_parts
from app.work_orders.models import (
    Crew,
    CrewMember,
    Priority,
    Staff,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderType,
)
from chatops.context import CommandContext, Reply, section

TYPE_NAMES = [kind.value for kind in WorkOrderType]
#: Orders listed at most by ``wo list``.
LIST_LIMIT = 25
#: A Slack user mention as Slack sends it in a command's text: ``<@U123ABC|pat>``.
MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


def handle_create(context: CommandContext, arguments: str) -> Reply:
    words = arguments.split()
    if len(words) < 2:
        raise InvalidInput(
            "usage: `/upm wo create <account> <type> [priority] [notes]`, such as "
            "`/upm wo create 100000017 reread urgent gate code 1234`",
            code="usage",
        )

    account = get_account_by_number(context.session, words[0])
    order_type = _order_type(words[1])
    rest = words[2:]
    priority = Priority.ROUTINE
    if rest and rest[0].lower() in {p.value for p in Priority}:
        priority = Priority(rest.pop(0).lower())
    notes = " ".join(rest) or None

    premise_id = context.session.scalar(
        select(ServiceAgreement.premise_id)
        .where(
            ServiceAgreement.account_id == account.id,
            or_(
                ServiceAgreement.end_date.is_(None),
                ServiceAgreement.end_date > get_settings().today(),
            ),
        )
        .order_by(ServiceAgreement.id)
        .limit(1)
    )
    order = service.create_order(
        context.session,
        type=order_type,
        priority=priority,
        actor=context.actor,
        idempotency_key=f"slack:{context.request_key}",
        account_id=account.id,
        premise_id=premise_id,
        # The meter now at the premise: reads, changeouts and removals are of this one.
        meter_id=_meter_at(context, premise_id),
        notes=notes,
    )
    text = (
        f"Created work order #{order.number}: {order_type.value.replace('_', ' ')} "
        f"({priority.value}) for account {account.number}, due {_local(order)}"
    )
    return Reply(text=text, blocks=[section(text)])


def _meter_at(context: CommandContext, premise_id: int | None) -> int | None:
    if premise_id is None:
        return None
    return context.session.scalar(
        select(MeterInstallation.meter_id)
        .where(MeterInstallation.premise_id == premise_id, MeterInstallation.removed_on.is_(None))
        .order_by(MeterInstallation.installed_on.desc(), MeterInstallation.id.desc())
        .limit(1)
    )


def handle_assign(context: CommandContext, arguments: str) -> Reply:
    words = arguments.split(maxsplit=2)
    if len(words) < 2:
        raise InvalidInput(
            "usage: `/upm wo assign <order> <crew> [member]`, such as "
            "`/upm wo assign 1002 N1 @tia`",
            code="usage",
        )
    order = service.get_order(context.session, order_number(words[0]), lock=True)
    crew = context.session.scalar(select(Crew).where(Crew.code == words[1].upper()))
    if crew is None:
        known = ", ".join(context.session.scalars(select(Crew.code).order_by(Crew.code)))
        raise NotFound(
            f"crew {words[1]!r} not found; known crews: {known or 'none'}", code="crew_not_found"
        )
    member = _member(context, crew, words[2]) if len(words) > 2 else None
    service.assign(context.session, order, crew=crew, member=member, actor=context.actor)
    who = f" ({member.name})" if member else ""
    text = f"Work order #{order.number} assigned to crew {crew.code}{who}; it is now scheduled"
    return Reply(text=text, blocks=[section(text)])


def handle_list(context: CommandContext, arguments: str) -> Reply:
    session = context.session
    statement = select(WorkOrder).order_by(WorkOrder.due_at).limit(LIST_LIMIT)
    word = arguments.strip()
    label = "open"
    statuses = {status.value: status for status in WorkOrderStatus}
    if not word:
        statement = statement.where(WorkOrder.status.in_(service.OPEN))
    elif word.lower().replace(" ", "_") in statuses:
        status = statuses[word.lower().replace(" ", "_")]
        statement = statement.where(WorkOrder.status == status)
        label = f"with status {status.value.replace('_', ' ')}"
    else:
        crew = session.scalar(select(Crew).where(Crew.code == word.upper()))
        if crew is None:
            raise InvalidInput(
                f"{word!r} is neither a work order status ({', '.join(statuses)}) nor a crew code",
                code="usage",
            )
        statement = statement.where(
            WorkOrder.crew_id == crew.id, WorkOrder.status.in_(service.OPEN)
        )
        label = f"open for crew {crew.code}"

    orders = list(session.scalars(statement))
    if not orders:
        text = f"No work orders {label}."
        return Reply(text=text, blocks=[section(text)])
    lines = [
        f"• #{order.number} {order.type.value.replace('_', ' ')}, "
        f"{order.status.value.replace('_', ' ')}, {order.priority.value}, due {_local(order)}"
        for order in orders
    ]
    noun = "work order" if len(orders) == 1 else "work orders"
    text = f"*{len(orders)} {noun} {label}* (at most {LIST_LIMIT}):\n" + "\n".join(lines)
    return Reply(text=text, blocks=[section(text)])


def order_number(text: str) -> int:
    cleaned = text.lstrip("#")
    if not cleaned.isdigit():
        raise InvalidInput(
            f"work order number {text!r} is not a number, such as 1002", code="usage"
        )
    return int(cleaned)


def _order_type(text: str) -> WorkOrderType:
    value = text.lower().replace("-", "_")
    try:
        return WorkOrderType(value)
    except ValueError:
        raise InvalidInput(
            f"work order type {text!r} is not known; use one of {', '.join(TYPE_NAMES)}",
            code="work_order_type_invalid",
        ) from None


def _member(context: CommandContext, crew: Crew, text: str) -> Staff:
    """Find a crew member by Slack mention, or by name as listed in the crew."""
    members = list(
        context.session.scalars(
            select(Staff)
            .join(CrewMember, CrewMember.staff_id == Staff.id)
            .where(CrewMember.crew_id == crew.id)
        )
    )
    mention = MENTION.match(text.strip())
    for staff in members:
        if mention and staff.slack_user_id == mention.group(1):
            return staff
        if not mention and staff.name.lower() == text.strip().lower():
            return staff
    names = ", ".join(staff.name for staff in members) or "nobody"
    raise NotFound(
        f"{text!r} is not a member of crew {crew.code}; its members are {names}",
        code="not_crew_member",
    )


def _local(order: WorkOrder) -> str:
    return order.due_at.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M")


def _order_and_reason(context: CommandContext, arguments: str, usage: str) -> tuple[WorkOrder, str]:
    number, _, reason = arguments.strip().partition(" ")
    if not number:
        raise InvalidInput(f"usage: `/upm {usage}`", code="usage")
    order = service.get_order(context.session, order_number(number), lock=True)
    return order, reason.strip()


def handle_close(context: CommandContext, arguments: str) -> Reply:
    """Close a completed order after office review; this posts its costs."""
    order, _ = _order_and_reason(context, arguments, "wo close <order>")
    service.close(context.session, order, actor=context.actor)
    text = f"Work order #{order.number} closed"
    return Reply(text=text, blocks=[section(text)])


def handle_cancel(context: CommandContext, arguments: str) -> Reply:
    order, reason = _order_and_reason(context, arguments, "wo cancel <order> <reason>")
    service.cancel(context.session, order, reason=reason, actor=context.actor)
    text = f"Work order #{order.number} canceled: {order.cancel_reason}"
    return Reply(text=text, blocks=[section(text)])


def handle_reopen(context: CommandContext, arguments: str) -> Reply:
    order, reason = _order_and_reason(context, arguments, "wo reopen <order> <reason>")
    service.reopen(context.session, order, reason=reason, actor=context.actor)
    text = f"Work order #{order.number} reopened: {reason}"
    return Reply(text=text, blocks=[section(text)])


def _amount(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0:
        raise InvalidInput(
            f"{what} {text!r} must be a positive number, such as 2.5", code="invalid_quantity"
        )
    return value


def handle_labor(context: CommandContext, arguments: str) -> Reply:
    """Record a crew member's hours on an order: ``<order> <hours> [overtime] <name>``."""
    words = arguments.split()
    if len(words) < 3:
        raise InvalidInput(
            "usage: `/upm wo labor <order> <hours> [overtime hours] <member name>`, such as "
            "`/upm wo labor 1002 2.5 0.5 Tia Reyes`",
            code="usage",
        )
    order = service.get_order(context.session, order_number(words[0]), lock=True)
    hours = _amount(words[1], "hours")
    overtime = Decimal(0)
    name_words = words[2:]
    if name_words and name_words[0].replace(".", "", 1).isdigit():
        overtime = _amount(name_words.pop(0), "overtime hours")
    if order.crew_id is None:
        raise InvalidInput(f"work order {order.number} has no crew", code="work_order_unassigned")
    crew = context.session.get_one(Crew, order.crew_id)
    member = _member(context, crew, " ".join(name_words))
    entry = add_labor(
        context.session,
        order,
        staff=member,
        work_date=get_settings().today(),
        hours=hours,
        overtime_hours=overtime,
        actor=context.actor,
        entry_key=f"slack:{context.request_key}",
    )
    text = (
        f"Work order #{order.number}: {member.name}, {hours} h"
        + (f" + {overtime} h overtime" if overtime else "")
        + f" = ${entry.amount}"
    )
    return Reply(text=text, blocks=[section(text)])


def handle_parts(context: CommandContext, arguments: str) -> Reply:
    """Draw parts from stock for an order: ``<order> <part code> <quantity>``."""
    words = arguments.split()
    if len(words) != 3:
        raise InvalidInput(
            "usage: `/upm wo parts <order> <part code> <quantity>`, such as "
            "`/upm wo parts 1002 CPL-34 2`",
            code="usage",
        )
    order = service.get_order(context.session, order_number(words[0]), lock=True)
    use = draw_parts(
        context.session,
        order,
        words[1],
        _amount(words[2], "quantity"),
        actor=context.actor.label,
        entry_key=f"slack:{context.request_key}",
    )
    text = f"Work order #{order.number}: {use.quantity} × {words[1].upper()} = ${use.amount}"
    return Reply(text=text, blocks=[section(text)])


def handle_costs(context: CommandContext, arguments: str) -> Reply:
    if not arguments.strip():
        raise InvalidInput("usage: `/upm wo costs <order>`", code="usage")
    order = service.get_order(context.session, order_number(arguments.split()[0]))
    totals = order_costs(context.session, order)
    text = (
        f"Work order #{order.number} costs: labor ${totals.labor}, parts ${totals.parts}, "
        f"equipment ${totals.equipment}, total ${totals.total}"
    )
    return Reply(text=text, blocks=[section(text)])
