"""``upm slack-socket``: run the staff Slack bot over Socket Mode."""

from __future__ import annotations

from app.cli.common import clear_errors, console


def slack_socket_command() -> None:
    """Run the Slack bot over Socket Mode (no public URL needed) until Ctrl+C."""
    from chatops.socket_mode import build_socket_handler

    with clear_errors():
        handler = build_socket_handler()
    console.print("connecting to Slack over Socket Mode; Ctrl+C stops")
    handler.start()
