"""Celery task for bill runs; safe to retry because the bill run is idempotent."""

from __future__ import annotations

import logging
from typing import Any

from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.celery_app import celery_app
from app.db import get_session_factory
from app.settings import get_settings

log = logging.getLogger(__name__)


@celery_app.task(name="billing.bill_run", bind=True, max_retries=3, default_retry_delay=60)
def bill_run_task(self: Any, cycle: str, period: str, actor: str) -> dict[str, Any]:
    """Bill ``cycle`` for ``period`` (YYYY-MM) and return the run's summary as JSON data.

    A retry after a crash resumes the run: accounts already billed are skipped.
    """
    settings = get_settings()
    log.info("bill run task %s: cycle %s period %s", self.request.id, cycle, period)
    summary = run_bill_run(
        get_session_factory(),
        cycle_code=cycle,
        period=parse_period(period),
        actor=actor,
        zone=settings.zone,
        due_days=settings.bill_due_days,
        chunk_size=settings.bill_run_chunk_size,
        estimate_missing_reads=settings.estimate_missing_reads,
    )
    return {
        "run_id": summary.run_id,
        "cycle": summary.cycle,
        "period": summary.period,
        "bills_created": summary.bills_created,
        "bills_in_run": summary.bills_in_run,
        "total_billed": str(summary.total_billed),
        "exceptions": len(summary.exceptions),
    }
