"""Celery task that imports the meter read files dropped into ``UPM_READ_DROP_DIR``."""

from __future__ import annotations

import logging
from typing import Any

from app.celery_app import celery_app
from app.meters.drop_folder import import_drop_folder
from app.settings import get_settings

log = logging.getLogger(__name__)


@celery_app.task(name="meters.import_read_drop_folder")
def import_read_drop_folder() -> dict[str, Any]:
    """Import each ready file in the drop folder once and return what became of each.

    Beat runs it every minute. Two runs at once import each file once (see
    ``app.meters.drop_folder``).
    """
    folder = get_settings().read_drop_dir
    if folder is None:
        return {"folder": None, "files": []}
    result = import_drop_folder(folder, zone=get_settings().zone)
    return {
        "folder": str(folder),
        "files": [
            {"name": outcome.name, "status": outcome.status, "message": outcome.message}
            for outcome in result.outcomes
        ],
        "not_ready": result.not_ready,
    }
