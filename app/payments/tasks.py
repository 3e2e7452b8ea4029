"""Celery tasks for payments: card autopay, the draft file and the Stripe reconciliation.

Each is safe to run twice. Autopay skips bills with a final attempt and reuses the
Stripe key of an attempt whose outcome is unknown, a draft date has one file, and the
reconciliation only reports.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery.schedules import crontab

from app.alerts import AUTOPAY_FAILED, raise_alert
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
    if report.declined or report.failed:
        raise_alert(
            AUTOPAY_FAILED,
            f"autopay for {_day(day)}: {report.declined} declined, {report.failed} failed "
            "with an error; customers with a decline were notified",
        )
    return {
        "charged": report.charged,
        "declined": report.declined,
        "skipped": report.skipped,
        "unknown": report.unknown,
        "failed": report.failed,
    }


@celery_app.task(name="payments.drafts", max_retries=3, default_retry_delay=300)
def draft_file_task(day: str | None = None) -> dict[str, Any]:
    """Originate today's NACHA draft file; the file stays in the database for transfer."""
    with session_scope() as session:
        draft_file = generate_draft_file(session, draft_date=_day(day), actor="celery")
        if draft_file is None:
            return {"draft_file_id": None, "entries": 0, "total": "0.00"}
        return {
            "draft_file_id": draft_file.id,
            "entries": draft_file.entry_count,
            "total": str(draft_file.debit_total),
        }


@celery_app.task(name="payments.reconcile_stripe", max_retries=3, default_retry_delay=600)
def reconcile_task(day: str | None = None) -> dict[str, Any]:
    """Compare yesterday's Stripe charges with our payments and log every difference."""
    from app.payments.cards.gateway import StripeGateway
    from app.payments.cards.reconcile import reconcile_stripe

    checked = _day(day) if day else get_settings().today() - dt.timedelta(days=1)
    with session_scope() as session:
        report = reconcile_stripe(session, StripeGateway(), day=checked)
    findings = {
        "charges_without_payment": len(report.charges_without_payment),
        "payments_without_charge": len(report.payments_without_charge),
        "amount_mismatches": len(report.amount_mismatches),
        "status_mismatches": len(report.status_mismatches),
        "refund_mismatches": len(report.refund_mismatches),
    }
    if not report.clean:
        log.warning("Stripe reconciliation for %s found differences: %s", checked, findings)
    return {"day": checked.isoformat(), "matched": report.matched, **findings}


celery_app.conf.beat_schedule = {
    **(celery_app.conf.beat_schedule or {}),
    # Early morning, local time: charges land before customers look at their bills.
    "card-autopay": {"task": "payments.autopay", "schedule": crontab(hour=6, minute=0)},
    "bank-drafts": {"task": "payments.drafts", "schedule": crontab(hour=5, minute=0)},
    "stripe-reconcile": {
        "task": "payments.reconcile_stripe",
        "schedule": crontab(hour=3, minute=30),
    },
}
