"""Socket Mode: the same bot over a WebSocket the app opens to Slack.

For a utility with no public address for ``/slack/events``. The bot, its commands,
roles, approvals and audit are the same Bolt app as HTTP mode; only the transport
differs. Slack then checks the app-level token instead of signing each request.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from app.errors import InvalidInput
from app.settings import Settings, get_settings
from chatops.routes import build_bolt_app


def build_socket_handler(settings: Settings | None = None) -> SocketModeHandler:
    """Return a handler for the bot over Socket Mode; ``start()`` connects to Slack."""
    settings = settings or get_settings()
    if not settings.slack_app_token or not settings.slack_app_token.startswith("xapp-"):
        raise InvalidInput(
            "Socket Mode needs an app-level token: set UPM_SLACK_APP_TOKEN to the xapp-… "
            "token from the Slack app's Basic Information page",
            code="slack_app_token_missing",
        )
    if not settings.slack_bot_token:
        raise InvalidInput(
            "set UPM_SLACK_BOT_TOKEN to the bot's xoxb-… token", code="slack_bot_token_missing"
        )
    # Socket Mode messages are not signed; Bolt still requires a secret to be set.
    settings = settings.model_copy(
        update={"slack_signing_secret": settings.slack_signing_secret or "socket-mode"}
    )
    return SocketModeHandler(build_bolt_app(settings), settings.slack_app_token)
