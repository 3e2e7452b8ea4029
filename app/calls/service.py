"""Figures about calls and the requests callers leave for staff, for staff tools."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.calls.models import Call, CallOutcome, CallRequest
from app.errors import NotFound

OPEN = "open"
CLOSED = "closed"


def outcome_counts(session: Session, since: dt.datetime) -> dict[CallOutcome | None, int]:
    """Count the calls started since ``since`` by outcome; None is a call still under way."""
    rows = session.execute(
        select(Call.outcome, func.count(Call.id))
        .where(Call.started_at >= since)
        .group_by(Call.outcome)
    ).all()
    return {outcome: int(count) for outcome, count in rows}


def containment(counts: dict[CallOutcome | None, int]) -> float | None:
    """Return the share of finished calls that were self-served, or None with no calls."""
    finished = sum(count for outcome, count in counts.items() if outcome is not None)
    if finished == 0:
        return None
    return counts.get(CallOutcome.SELF_SERVED, 0) / finished


def open_requests(session: Session, limit: int = 20) -> list[CallRequest]:
    """Return the oldest open callback and arrangement requests first."""
    return list(
        session.scalars(
            select(CallRequest)
            .where(CallRequest.status == OPEN)
            .order_by(CallRequest.created_at, CallRequest.id)
            .limit(limit)
        )
    )


def count_open_requests(session: Session) -> int:
    query = select(func.count(CallRequest.id)).where(CallRequest.status == OPEN)
    return int(session.scalar(query) or 0)


def close_request(session: Session, request_id: int) -> tuple[CallRequest, bool]:
    """Close a request once staff acted on it; return it and whether this call closed it."""
    request = session.get(CallRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(
            f"call request {request_id} does not exist; `/upm calls` lists the open ones",
            code="call_request_not_found",
        )
    if request.status == CLOSED:
        return request, False
    request.status = CLOSED
    return request, True
