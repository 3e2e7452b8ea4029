"""The hook run after new reads are stored: validation (VEE) and leak detection.

Every path that stores reads (file imports, Modbus polling, staff entry) calls
``reads_stored`` in the same transaction, once per batch, with the registers that
received reads. The validation and leak-detection services plug in here, so the
importers and the poller need not know about them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from app.meters.leaks import queue_scan
from app.meters.validation import validate_interval_data, validate_reads


def reads_stored(
    session: Session,
    *,
    register_ids: Collection[int] = (),
    interval_register_ids: Collection[int] = (),
    interval_spans: Mapping[int, tuple[dt.datetime, dt.datetime]] | None = None,
) -> None:
    """Check the reads just stored on ``register_ids`` and ``interval_register_ids``.

    ``register_ids`` received register reads and ``interval_register_ids`` received
    interval reads. Their pending register reads become valid or held here.
    ``interval_spans`` gives the first and last start of the new intervals of a
    register, so that only those and their neighbours are checked again.
    """
    validate_reads(session, register_ids=register_ids)
    interval_spans = interval_spans or {}
    validate_interval_data(session, register_ids=interval_register_ids, spans=interval_spans)
    # Leak detection reads hours of history per register, so it runs after the commit.
    since = min((first for first, _last in interval_spans.values()), default=None)
    queue_scan(session, interval_register_ids, since)
