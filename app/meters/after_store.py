"""The hook run after new reads are stored: validation (VEE) and leak detection.

Every path that stores reads (file imports, Modbus polling, staff entry) calls
``reads_stored`` in the same transaction, once per batch, with the registers that
received reads. The validation and leak-detection services plug in here, so the
importers and the poller need not know about them.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from app.meters.leaks import queue_scan
from app.meters.validation import validate_interval_data, validate_reads


def reads_stored(
    session: Session,
    *,
    register_ids: Collection[int] = (),
    interval_register_ids: Collection[int] = (),
) -> None:
    """Check the reads just stored on ``register_ids`` and ``interval_register_ids``.

    ``register_ids`` received register reads and ``interval_register_ids`` received
    interval reads. Their pending register reads become valid or held here.
    """
    validate_reads(session, register_ids=register_ids)
    validate_interval_data(session, register_ids=interval_register_ids)
    # Leak detection reads hours of history per register, so it runs after the commit.
    queue_scan(session, interval_register_ids)
