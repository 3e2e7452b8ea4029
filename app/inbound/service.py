"""Claiming an inbound event by its natural key."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates, utcnow
from app.inbound.models import InboundEvent


def claim_event(session: Session, *, provider: str, event_id: str, kind: str) -> bool:
    """Claim an event id; return False when it was already claimed.

    On PostgreSQL a second concurrent claim of the same id waits for the first
    transaction and then finds the row, so exactly one of them proceeds.
    """
    row = {"provider": provider, "event_id": event_id, "kind": kind, "received_at": utcnow()}
    return insert_ignoring_duplicates(session, InboundEvent, [row], ["provider", "event_id"]) == 1
