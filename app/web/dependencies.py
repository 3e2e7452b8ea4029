"""Request-scoped database session: the request is the transaction boundary."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.db import session_scope


def get_session() -> Iterator[Session]:
    """Yield a session that commits when the request succeeds and rolls back otherwise."""
    with session_scope() as session:
        yield session
