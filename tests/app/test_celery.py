"""The bill-run task: eager without Redis, and through a real worker and Redis broker."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.billing.models import Bill
from app.celery_app import celery_app, make_celery
from app.settings import Settings
from tests.app.factories import City, water_tariff

REDIS_URL = os.environ.get("UPM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def one_billable_account(session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-1", "water", "gal")
    city.read(register, dt.date(2026, 7, 1), "100000")
    city.read(register, dt.date(2026, 8, 1), "103000")
    session.commit()


def test_task_runs_eagerly_without_redis(session: Session) -> None:
    one_billable_account(session)
    from app.billing.tasks import bill_run_task

    result = bill_run_task.delay("C1", "2026-07", "test").get()
    assert result["bills_created"] == 1
    # 3 kgal in the first tier at 2.00 plus the 10.00 base charge.
    assert result["total_billed"] == "16.00"


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_available(), reason=f"no Redis answering at {REDIS_URL}")
def test_worker_runs_task_through_redis(session: Session, db_url: str, tmp_path: Path) -> None:
    one_billable_account(session)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = dict(os.environ, UPM_DATABASE_URL=db_url, UPM_REDIS_URL=REDIS_URL)
    celery_bin = shutil.which("celery", path=str(Path(sys.executable).parent))
    assert celery_bin is not None
    worker = subprocess.Popen(
        [celery_bin, "-A", "app.celery_app", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=WARNING"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        client = make_celery(Settings(redis_url=REDIS_URL, database_url=db_url))
        result = client.send_task(
            "billing.bill_run", args=["C1", "2026-07", "test"], queue=queue
        ).get(timeout=60)
        repeat = client.send_task(
            "billing.bill_run", args=["C1", "2026-07", "test"], queue=queue
        ).get(timeout=60)
    finally:
        # Creating the client made it Celery's current app, so shared tasks in later tests
        # would go to Redis. upm's own app is made current again.
        celery_app.set_current()
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert result["bills_created"] == 1, output
    assert repeat["bills_created"] == 0
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Bill)) == 1
