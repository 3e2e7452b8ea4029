"""Command context and reply types, and the lookup of a Slack user's staff record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.work_orders.models import Staff, StaffRole
from app.work_orders.service import Actor


def find_staff(session: Session, team_id: str, user_id: str) -> Staff | None:
    """Return the active staff member linked to this Slack team and user id, if any.

    Only the immutable ids are matched: a display name can be changed by its owner.
    """
    if not team_id or not user_id:
        return None
    return session.scalar(
        select(Staff).where(
            Staff.slack_team_id == team_id,
            Staff.slack_user_id == user_id,
            Staff.active.is_(True),
        )
    )


def slack_label(team_id: str, user_id: str) -> str:
    """Return the audit actor for a Slack user who is not (or not yet) known as staff."""
    return f"slack:{team_id}:{user_id}"


def role_names(roles: frozenset[StaffRole]) -> str:
    return " or ".join(sorted(role.value.replace("_", " ") for role in roles))


@dataclass
class Reply:
    """A message for the person who typed the command, and optionally one for the channel."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    #: Posted to the channel with chat.postMessage after the transaction commits.
    channel_text: str | None = None
    channel_blocks: list[dict[str, Any]] | None = None


@dataclass
class CommandContext:
    """One ``/upm`` invocation: the open transaction, the acting staff member and where."""

    session: Session
    actor: Actor
    staff: Staff
    team_id: str
    user_id: str
    channel_id: str
    #: The slash command's trigger id (or a hash of its body): the idempotency key.
    request_key: str
    #: Work to start once the transaction has committed, such as a Celery task.
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def fields(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in pairs],
    }
