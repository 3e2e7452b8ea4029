"""Made-up channel secrets so the simulators can talk to the demo without Slack or Twilio.

``upm demo`` sets each one that is not already set, for its own process only, and the
``upm sim`` commands fall back to the same values when the setting is unset. ``upm
serve`` never uses them.
"""

from __future__ import annotations

import os
import re

import typer

from app.settings import get_settings

DEMO_SECRETS = {
    "UPM_TWILIO_AUTH_TOKEN": "demo-twilio-auth-token",
    # The number customers and crews text and call; 555-0100 to 555-0199 are fictional.
    "UPM_TWILIO_FROM_NUMBER": "+15125550199",
    "UPM_SLACK_SIGNING_SECRET": "demo-slack-signing-secret",
    "UPM_SLACK_BOT_TOKEN": "xoxb-demo-bot-token",
    # Nothing listens on port 9, so a message the bot would post to Slack fails at once
    # (and is logged) instead of going out to slack.com with a made-up token.
    "UPM_SLACK_API_BASE": "http://127.0.0.1:9/api/",
}


def apply_demo_secrets() -> list[str]:
    """Set the demo secrets that are unset; return the names that were set."""
    applied = [name for name in DEMO_SECRETS if not os.environ.get(name)]
    for name in applied:
        os.environ[name] = DEMO_SECRETS[name]
    get_settings.cache_clear()
    return applied


def demo_secret(name: str) -> str:
    return DEMO_SECRETS[name]


E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def check_phone(phone: str) -> str:
    """Return ``phone`` when it is in E.164 form, or raise naming the expected form."""
    if not E164.fullmatch(phone):
        raise typer.BadParameter(
            f"{phone!r} is not a phone number in E.164 form; write it as Twilio sends it, "
            "with + and the country code, such as +15550100123"
        )
    return phone


def twilio_signing_token(configured: str | None) -> str:
    """Return the Twilio auth token to sign simulated requests with: the demo's when unset."""
    if configured:
        return configured
    typer.echo("UPM_TWILIO_AUTH_TOKEN is unset: signing with the demo's token", err=True)
    return demo_secret("UPM_TWILIO_AUTH_TOKEN")
