"""Celery task that polls every enabled Modbus device (on the beat schedule)."""

from __future__ import annotations

import logging
from typing import Any

from app.celery_app import celery_app
from app.db import session_scope
from app.modbus.service import poll_enabled_devices
from app.settings import get_settings

log = logging.getLogger(__name__)


@celery_app.task(name="modbus.poll_devices")
def poll_devices_task() -> dict[str, Any]:
    """Poll the enabled devices and store their reads; return counts for the task result.

    Running it twice for the same responses stores nothing twice, so a late or repeated beat
    does no harm.
    """
    with session_scope() as session:
        outcomes = poll_enabled_devices(session, get_settings())
    failed = [outcome.device for outcome in outcomes if not outcome.responded]
    log.info(
        "modbus poll: %d devices, %d reads stored, %d failed %s",
        len(outcomes),
        sum(outcome.read_stored for outcome in outcomes),
        len(failed),
        failed,
    )
    return {
        "devices": len(outcomes),
        "reads_stored": sum(outcome.read_stored for outcome in outcomes),
        "intervals_stored": sum(outcome.interval_stored for outcome in outcomes),
        "failed": failed,
    }
