"""The Celery application: Redis in production, tasks run in-process without it.

Workers start with ``celery -A app.celery_app worker``. Without ``UPM_REDIS_URL`` every
task runs eagerly in the calling process, so the demo needs no broker.
"""

from __future__ import annotations

from celery import Celery

# Workers import tasks one by one; every model must be mapped before the first runs.
import app.models as _all_models  # noqa: F401
from app.settings import Settings, get_settings

#: Periodic tasks run by ``celery -A app.celery_app beat``, in seconds. Each task is
#: idempotent, so a run that is missed or repeated texts nobody twice.
BEAT_SCHEDULE = {
    # Texts deferred past quiet hours, and any whose send task was lost.
    "send-due-texts": {"task": "messaging.send_due_texts", "schedule": 60.0},
    # Payment notices written in bulk (lockbox files) or left by a failed delivery.
    "deliver-payment-notices": {"task": "messaging.deliver_payment_notices", "schedule": 60.0},
    # Payment due reminders; one goes out within 5 minutes of its local reminder time.
    "queue-due-reminders": {"task": "messaging.queue_due_reminders", "schedule": 300.0},
    # Meter read files dropped into UPM_READ_DROP_DIR; a file is imported once.
    "import-read-drop-folder": {"task": "meters.import_read_drop_folder", "schedule": 60.0},
    # Leak, burst and meter-flag episodes of interval registers read in the last 26 hours.
    "sweep-leaks": {"task": "meters.sweep_leaks", "schedule": 3600.0},
    # High usage over the last 7 local days; the result changes once a day.
    "sweep-high-usage": {"task": "meters.sweep_high_usage", "schedule": 86400.0},
}


def make_celery(settings: Settings) -> Celery:
    application = Celery(
        "upm",
        include=[
            "app.billing.tasks",
            "app.payments.tasks",
            "app.work_orders.tasks",
            "app.work_orders.dispatch",
            "app.work_orders.reports",
            "app.messaging.sending",
            "app.messaging.bill_alerts",
            "app.messaging.payment_alerts",
            "app.modbus.tasks",
            "app.meters.tasks",
            "app.meters.leaks",
            "app.meters.leak_alerts",
            "app.meters.high_usage",
            "app.messaging.email",
            "chatops.tasks",
            "ivr_flows.tasks",
            "sms_flows.tasks",
        ],
    )
    if settings.redis_url:
        application.conf.update(
            broker_url=settings.redis_url,
            result_backend=settings.redis_url,
            task_acks_late=True,
            task_reject_on_worker_lost=True,
            worker_prefetch_multiplier=1,
        )
    else:
        application.conf.update(
            task_always_eager=True,
            task_eager_propagates=True,
            broker_url="memory://localhost/",
            result_backend="cache+memory://",
        )
    application.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone=settings.timezone,
        enable_utc=True,
        beat_schedule={
            **BEAT_SCHEDULE,
            # Modbus meters, every UPM_MODBUS_POLL_SECONDS; a repeated poll stores nothing twice.
            "poll-modbus-devices": {
                "task": "modbus.poll_devices",
                "schedule": float(settings.modbus_poll_seconds),
            },
        },
    )
    return application


celery_app = make_celery(get_settings())
