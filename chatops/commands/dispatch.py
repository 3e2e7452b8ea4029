"""``/upm dispatch <order>``: send an assigned work order to its crew."""

from __future__ import annotations

from app.errors import InvalidInput
from app.work_orders import service
from chatops.commands.wo import order_number
from chatops.context import CommandContext, Reply, section


def handle(context: CommandContext, arguments: str) -> Reply:
    if not arguments.strip():
        raise InvalidInput(
            "usage: `/upm dispatch <order>`, such as `/upm dispatch 1002`", code="usage"
        )
    order = service.get_order(context.session, order_number(arguments.split()[0]), lock=True)
    service.dispatch(context.session, order, actor=context.actor)
    text = f"Work order #{order.number} dispatched"
    return Reply(text=text, blocks=[section(text)])
