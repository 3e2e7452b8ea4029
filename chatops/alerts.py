"""Alerts for staff, posted to the Slack channel ``UPM_SLACK_ALERTS_CHANNEL`` names."""

from __future__ import annotations

import enum
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from app.alerts import register_sink
from app.settings import get_settings

log = logging.getLogger(__name__)


class AlertKind(enum.StrEnum):
    BILL_RUN_EXCEPTIONS = "bill_run_exceptions"
    AUTOPAY_FAILED = "autopay_failed"
    LOCKBOX_UNMATCHED = "lockbox_unmatched"
    WORK_ORDER_OVERDUE = "work_order_overdue"
    PROBLEM_REPORTED = "problem_reported"
    CALLBACK_REQUESTED = "callback_requested"
    ARRANGEMENT_REQUESTED = "arrangement_requested"
    LEAK_DETECTED = "leak_detected"
    HIGH_USAGE_DETECTED = "high_usage_detected"
    MODBUS_UNREACHABLE = "modbus_unreachable"
    MODBUS_RESPONDING = "modbus_responding"


LABELS = {
    AlertKind.BILL_RUN_EXCEPTIONS: "Bill run exceptions",
    AlertKind.AUTOPAY_FAILED: "Failed autopay",
    AlertKind.LOCKBOX_UNMATCHED: "Unmatched lockbox payments",
    AlertKind.WORK_ORDER_OVERDUE: "Overdue work orders",
    AlertKind.PROBLEM_REPORTED: "Problem reported by a customer",
    AlertKind.CALLBACK_REQUESTED: "Callback requested by phone",
    AlertKind.ARRANGEMENT_REQUESTED: "Payment arrangement requested by phone",
    AlertKind.LEAK_DETECTED: "Leak found by the meter data",
    AlertKind.HIGH_USAGE_DETECTED: "High usage found by the meter data",
    AlertKind.MODBUS_UNREACHABLE: "Modbus meter not responding",
    AlertKind.MODBUS_RESPONDING: "Modbus meter responding again",
}


def web_client() -> WebClient:
    """Return a Slack Web API client for the bot token and ``UPM_SLACK_API_BASE``."""
    settings = get_settings()
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base)


def post_alert(kind: AlertKind | str, text: str, *, client: WebClient | None = None) -> bool:
    """Post an alert to the alerts channel; return False when unset or Slack failed.

    Slack errors are logged, not raised, because the work behind the alert (a bill run,
    an import) has finished. The alert is then lost.
    """
    kind = AlertKind(kind)
    settings = get_settings()
    if not settings.slack_alerts_channel or not settings.slack_bot_token:
        log.warning(
            "alert %s not posted: UPM_SLACK_ALERTS_CHANNEL or UPM_SLACK_BOT_TOKEN is unset", kind
        )
        return False
    try:
        (client or web_client()).chat_postMessage(
            channel=settings.slack_alerts_channel,
            text=f":rotating_light: *{LABELS[kind]}*\n{text}",
            unfurl_links=False,
        )
    except SlackClientError as error:
        log.error("alert %s not posted to %s: %s", kind, settings.slack_alerts_channel, error)
        return False
    return True


def _slack_sink(kind: str, text: str) -> None:
    post_alert(kind, text)


# The domain raises alerts through app.alerts; this adapter delivers them to Slack.
register_sink(_slack_sink)
