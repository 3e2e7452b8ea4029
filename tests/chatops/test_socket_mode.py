"""Socket Mode: the same Bolt app, built for a WebSocket connection.

No local Socket Mode server exists to connect to, so these tests check the handler is
built from our app and token, and that missing tokens are clear errors; they do not
connect.
"""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.settings import Settings
from chatops.socket_mode import build_socket_handler


def test_handler_built_with_app_token() -> None:
    handler = build_socket_handler(
        Settings(slack_app_token="xapp-1-test", slack_bot_token="xoxb-test")
    )
    assert handler.app_token == "xapp-1-test"
    # The same listeners as HTTP mode: the /upm command and the approval buttons.
    names = [listener.ack_function.__name__ for listener in handler.app._listeners]
    assert names == ["upm_command", "approval_button"]


@pytest.mark.parametrize(
    ("app_token", "bot_token", "code"),
    [
        (None, "xoxb-test", "slack_app_token_missing"),
        ("xoxb-wrong-kind", "xoxb-test", "slack_app_token_missing"),
        ("xapp-1-test", None, "slack_bot_token_missing"),
    ],
)
def test_missing_tokens_are_clear(app_token: str | None, bot_token: str | None,
                                  code: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        build_socket_handler(Settings(slack_app_token=app_token, slack_bot_token=bot_token))
    assert raised.value.code == code


def test_command_without_token_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.settings import get_settings

    monkeypatch.delenv("UPM_SLACK_APP_TOKEN", raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["slack-socket"])
    assert result.exit_code != 0
    assert "UPM_SLACK_APP_TOKEN" in result.output
    get_settings.cache_clear()
