"""Celery tasks for payments: daily card autopay and the daily draft file.

Both are safe to run twice: autopay skips bills with a final attempt and reuses the
Stripe key of an attempt whose outcome is unknown, and a draft date has one file.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery.schedules import crontab

from app.celery_app import celery_app
from app.db import get_session_factory, session_scope
from app.payments.autopay.cards import run_autopay
from app.payments.drafts.originate import generate_draft_file
from app.settings import get_settings

log = logging.getLogger(__name__)


def _day(day: str | None) -> dt.date:
    return dt.date.fromisoformat(day) if day else get_settings().today()


@celery_app.task(name="payments.autopay", max_retries=3, default_retry_delay=300)
def autopay_task(day: str | None = None) -> dict[str, Any]:
    """Charge card autopay for bills due today (in the utility's time zone)."""
    report = run_autopay(get_session_factory(), today=_day(day))
    return {
        "charged": report.charged,
        "declined": report.declined,
        "skipped": report.skipped,
        "unknown": report.unknown,
    }


@celery_app.task(name="payments.drafts", max_retries=3, default_retry_delay=300)
def draft_file_task(day: str | None = None) -> dict[str, Any]:
    """Originate today's NACHA draft file; the file stays in the database for transfer."""
    with session_scope() as session:
        draft_file = generate_draft_file(session, draft_date=_day(day), actor="celery")
        return {
            "draft_file_id": draft_file.id,
            "entries": draft_file.entry_count,
            "total": str(draft_file.debit_total),
        }


celery_app.conf.beat_schedule = {
    **(celery_app.conf.beat_schedule or {}),
    # Early morning, local time: charges land before customers look at their bills.
    "card-autopay": {"task": "payments.autopay", "schedule": crontab(hour=6, minute=0)},
    "bank-drafts": {"task": "payments.drafts", "schedule": crontab(hour=5, minute=0)},
}
