"""The demo's made-up channel secrets: set only when unset, and shared with the simulators."""

from __future__ import annotations

import pytest

from app.demo.channels import DEMO_SECRETS, apply_demo_secrets
from app.settings import get_settings


def test_demo_secrets_fill_only_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEMO_SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UPM_SLACK_SIGNING_SECRET", "real-secret")
    applied = apply_demo_secrets()
    assert "UPM_SLACK_SIGNING_SECRET" not in applied
    assert set(applied) == set(DEMO_SECRETS) - {"UPM_SLACK_SIGNING_SECRET"}
    settings = get_settings()
    assert settings.slack_signing_secret == "real-secret"
    assert settings.twilio_auth_token == DEMO_SECRETS["UPM_TWILIO_AUTH_TOKEN"]
    # A made-up bot token must never reach slack.com.
    assert settings.slack_api_base.startswith("http://127.0.0.1:")
    for name in applied:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
