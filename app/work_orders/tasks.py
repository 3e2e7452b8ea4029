"""Celery tasks for work orders: the morning alert for overdue orders."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from app.alerts import WORK_ORDER_OVERDUE, raise_alert
from app.celery_app import celery_app
from app.db import session_scope
from app.work_orders.service import overdue

#: The maximum number of order numbers one alert lists; the count covers the rest.
LISTED = 20


@celery_app.task(name="work_orders.overdue_alert")
def overdue_alert_task() -> dict[str, Any]:
    """Alert staff to every open order past its due time."""
    with session_scope() as session:
        late = [(order.number, order.type.value.replace("_", " ")) for order in overdue(session)]
    if late:
        listed = ", ".join(f"{number} ({kind})" for number, kind in late[:LISTED])
        more = f" and {len(late) - LISTED} more" if len(late) > LISTED else ""
        raise_alert(WORK_ORDER_OVERDUE, f"{len(late)} work orders are overdue: {listed}{more}")
    return {"overdue": len(late)}


celery_app.conf.beat_schedule = {
    **(celery_app.conf.beat_schedule or {}),
    "overdue-work-orders": {
        "task": "work_orders.overdue_alert",
        "schedule": crontab(hour=7, minute=0),
    },
}
