"""The ``/upm`` subcommands, registered in this one table with the roles each needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.work_orders.models import StaffRole
from chatops.commands import account, adjust, billrun, calls, dispatch, help, kpi, wo
from chatops.context import CommandContext, Reply

R = StaffRole
EVERYONE = frozenset(R)


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    roles: frozenset[StaffRole]
    handler: Callable[[CommandContext, str], Reply]


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "account",
            "account <number, name, phone or address>",
            "an account's balance, amount due, services, last bill and open work orders",
            EVERYONE,
            account.handle,
        ),
        Command(
            "wo create",
            "wo create <account> <type> [priority] [notes]",
            "create a work order (types: " + ", ".join(wo.TYPE_NAMES) + ")",
            frozenset({R.CLERK, R.SUPERVISOR}),
            wo.handle_create,
        ),
        Command(
            "wo assign",
            "wo assign <order> <crew> [member]",
            "assign a work order to a crew and optionally one of its members",
            frozenset({R.SUPERVISOR}),
            wo.handle_assign,
        ),
        Command(
            "wo list",
            "wo list [status|crew]",
            "list open work orders, or those with a status or of a crew",
            EVERYONE,
            wo.handle_list,
        ),
        Command(
            "wo labor",
            "wo labor <order> <hours> [overtime hours] <member name>",
            "record a crew member's hours on a work order",
            frozenset({R.CLERK, R.SUPERVISOR}),
            wo.handle_labor,
        ),
        Command(
            "wo parts",
            "wo parts <order> <part code> <quantity>",
            "draw parts from stock for a work order",
            frozenset({R.CLERK, R.SUPERVISOR}),
            wo.handle_parts,
        ),
        Command(
            "wo costs",
            "wo costs <order>",
            "a work order's labor, parts and equipment costs",
            EVERYONE,
            wo.handle_costs,
        ),
        Command(
            "wo close",
            "wo close <order>",
            "close a completed work order after office review; this posts its costs",
            frozenset({R.CLERK, R.SUPERVISOR}),
            wo.handle_close,
        ),
        Command(
            "wo cancel",
            "wo cancel <order> <reason>",
            "cancel a work order that is not completed yet",
            frozenset({R.CLERK, R.SUPERVISOR}),
            wo.handle_cancel,
        ),
        Command(
            "wo reopen",
            "wo reopen <order> <reason>",
            "reopen a completed work order",
            frozenset({R.SUPERVISOR}),
            wo.handle_reopen,
        ),
        Command(
            "dispatch",
            "dispatch <order>",
            "send an assigned work order to its crew",
            frozenset({R.SUPERVISOR}),
            dispatch.handle,
        ),
        Command(
            "billrun",
            "billrun <cycle> <period YYYY-MM>",
            "preview a bill run; a billing admin or supervisor approves it",
            frozenset({R.BILLING_ADMIN}),
            billrun.handle,
        ),
        Command(
            "adjust",
            "adjust <account> <amount> <reason>",
            "propose a charge (positive) or credit (negative); a supervisor approves it",
            frozenset({R.CLERK, R.SUPERVISOR, R.BILLING_ADMIN}),
            adjust.handle,
        ),
        Command(
            "kpi",
            "kpi",
            "today's payments by channel, open work orders and bills issued",
            frozenset({R.CLERK, R.SUPERVISOR, R.BILLING_ADMIN}),
            kpi.handle,
        ),
        Command(
            "calls close",
            "calls close <request>",
            "close a callback or payment arrangement request after acting on it",
            frozenset({R.CLERK, R.SUPERVISOR, R.BILLING_ADMIN}),
            calls.handle_close,
        ),
        Command(
            "calls",
            "calls",
            "today's calls by outcome, and the open callback and arrangement requests",
            frozenset({R.CLERK, R.SUPERVISOR, R.BILLING_ADMIN}),
            calls.handle_list,
        ),
        Command("help", "help", "this list", EVERYONE, help.handle),
    )
}


def find_command(text: str) -> tuple[Command | None, str, str]:
    """Split ``text`` into its command and the rest; return (command, name typed, rest).

    Two-word names (``wo create``) are tried before one-word names. An empty text is
    ``help``; an unknown name returns None with the name typed.
    """
    words = text.split(maxsplit=2)
    if not words:
        return COMMANDS["help"], "help", ""
    if len(words) >= 2:
        two = f"{words[0].lower()} {words[1].lower()}"
        if two in COMMANDS:
            return COMMANDS[two], two, words[2] if len(words) > 2 else ""
    first, _, rest = text.strip().partition(" ")
    if len(words) >= 2 and any(name.startswith(first.lower() + " ") for name in COMMANDS):
        # A known group with an unknown subcommand, such as ``wo close-all``: name both.
        return None, f"{first.lower()} {words[1].lower()}", rest.strip()
    return COMMANDS.get(first.lower()), first.lower(), rest.strip()
