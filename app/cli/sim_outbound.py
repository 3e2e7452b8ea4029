"""The texts the app queued to a number while a simulator command ran, read from its database.

A text such as a payment receipt is queued by a Celery task a moment after the reply, so
the simulator waits a little for it. The database is the one ``UPM_DATABASE_URL`` names,
which is the demo's when both run from the same folder with the same settings.
"""

from __future__ import annotations

import logging
import time

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.db import get_session_factory
from app.messaging.models import OutboundMessage

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
#: Once a text arrived, stop after this long without another one.
QUIET_SECONDS = 1.0


def last_outbound_id(phone: str) -> int | None:
    """Return the id of the newest text to ``phone``: 0 if none, None if unreadable."""
    try:
        with get_session_factory()() as session:
            newest = session.scalar(
                select(func.max(OutboundMessage.id)).where(OutboundMessage.to_number == phone)
            )
    except SQLAlchemyError as error:
        log.warning("could not read outbound texts: %s", error)
        typer.echo(f"(texts to {phone} cannot be shown: the database is not readable)", err=True)
        return None
    return newest or 0


def print_new_outbound(phone: str, after_id: int, wait: float) -> int:
    """Print each text to ``phone`` with an id above ``after_id`` as it appears.

    Waits up to ``wait`` seconds, or ``QUIET_SECONDS`` after the latest new text, and
    returns how many it printed.
    """
    deadline = time.monotonic() + wait
    printed = 0
    last_seen = after_id
    quiet_until: float | None = None
    while True:
        with get_session_factory()() as session:
            rows = session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.to_number == phone, OutboundMessage.id > last_seen)
                .order_by(OutboundMessage.id)
            ).all()
        for message in rows:
            if printed == 0:
                typer.echo(f"-- texts the app queued to {phone}:")
            typer.echo(f"   [{message.kind}, {message.status}] {message.body}")
            printed += 1
            last_seen = message.id
            quiet_until = time.monotonic() + QUIET_SECONDS
        now = time.monotonic()
        if now >= deadline or (quiet_until is not None and now >= quiet_until):
            return printed
        time.sleep(POLL_SECONDS)
