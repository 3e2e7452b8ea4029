"""Staff alerts raised by the domain, delivered by whichever channel registers a sink.

Services must not depend on Slack, so they call ``raise_alert`` and the chat adapter
registers itself as a sink when it is loaded (the web app and the Celery worker load it).
With no sink the alert is logged, which is all the demo needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Kinds of alert; the Slack sink shows each with its own label.
BILL_RUN_EXCEPTIONS = "bill_run_exceptions"
AUTOPAY_FAILED = "autopay_failed"
LOCKBOX_UNMATCHED = "lockbox_unmatched"
WORK_ORDER_OVERDUE = "work_order_overdue"
#: A customer reported a leak or an outage, and a work order was created for it.
PROBLEM_REPORTED = "problem_reported"
#: A caller asked the IVR for a callback or a payment arrangement.
CALLBACK_REQUESTED = "callback_requested"
ARRANGEMENT_REQUESTED = "arrangement_requested"
#: A Modbus meter failed the configured number of polls in a row, and later responds again.
MODBUS_UNREACHABLE = "modbus_unreachable"
MODBUS_RESPONDING = "modbus_responding"

#: Meter data shows a leak, burst or backflow (``LEAK_DETECTED``) or use far above
#: normal (``HIGH_USAGE_DETECTED``).
LEAK_DETECTED = "leak_detected"
HIGH_USAGE_DETECTED = "high_usage_detected"

Sink = Callable[[str, str], object]
_sinks: list[Sink] = []


def register_sink(sink: Sink) -> None:
    if sink not in _sinks:
        _sinks.append(sink)


def raise_alert(kind: str, text: str) -> None:
    """Send an alert to every sink; a failing sink is logged and the others still run."""
    log.warning("staff alert %s: %s", kind, text)
    for sink in list(_sinks):
        try:
            sink(kind, text)
        except Exception:  # noqa: BLE001 - an alert must never break the work behind it
            log.exception("alert sink %r failed for %s", sink, kind)
