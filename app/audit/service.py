"""Writing the audit log; every staff action and every denial goes through here."""

from __future__ import annotations

import getpass
import logging
from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditEvent

log = logging.getLogger(__name__)


def cli_actor() -> str:
    """Return the actor name for a command typed at this machine's shell."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    outcome: str,
    target: str | None = None,
    arguments: dict[str, Any] | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Add one audit event to the session; the caller's transaction commits it."""
    event = AuditEvent(
        actor=actor,
        action=action,
        target=target,
        arguments=arguments or {},
        outcome=outcome,
        detail=detail,
    )
    session.add(event)
    log.info("audit actor=%s action=%s target=%s outcome=%s", actor, action, target, outcome)
    return event
