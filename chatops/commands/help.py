"""``/upm help``: the commands, with the ones the caller's role allows marked."""

from __future__ import annotations

from chatops.context import CommandContext, Reply, role_names, section


def handle(context: CommandContext, arguments: str) -> Reply:
    from chatops.commands import COMMANDS

    lines = []
    for command in COMMANDS.values():
        if context.staff.role in command.roles:
            lines.append(f"• `/upm {command.usage}`: {command.summary}")
        else:
            lines.append(f"• ~`/upm {command.usage}`~ (needs the {role_names(command.roles)} role)")
    text = "*/upm commands*\n" + "\n".join(lines)
    return Reply(text=text, blocks=[section(text)])
