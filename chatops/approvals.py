"""Approval requests: the message with buttons, and deciding a request exactly once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.work_orders.models import Staff, StaffRole
from chatops.context import CommandContext, section
from chatops.models import ApprovalKind, ApprovalStatus, SlackApproval

APPROVE = "upm_approve"
REJECT = "upm_reject"
CANCEL = "upm_cancel"
DECISIONS = {
    APPROVE: ApprovalStatus.APPROVED,
    REJECT: ApprovalStatus.REJECTED,
    CANCEL: ApprovalStatus.CANCELED,
}

#: Roles that may approve or reject each kind of request. The requester may cancel a
#: bill run preview; an adjustment always needs a second person.
DECIDERS: dict[ApprovalKind, frozenset[StaffRole]] = {
    ApprovalKind.BILL_RUN: frozenset({StaffRole.BILLING_ADMIN, StaffRole.SUPERVISOR}),
    ApprovalKind.ADJUSTMENT: frozenset({StaffRole.SUPERVISOR}),
}


def create_request(
    context: CommandContext,
    kind: ApprovalKind,
    arguments: dict[str, Any],
    preview: dict[str, Any],
) -> SlackApproval:
    """Store a pending request once per slash command (a retry finds the first)."""
    session = context.session
    existing = session.query(SlackApproval).filter_by(request_key=context.request_key).first()
    if existing is not None:
        return existing
    approval = SlackApproval(
        kind=kind,
        status=ApprovalStatus.PENDING,
        request_key=context.request_key,
        requested_by_staff_id=context.staff.id,
        requested_by=context.actor.label,
        team_id=context.team_id,
        channel_id=context.channel_id,
        arguments=arguments,
        preview=preview,
        result={},
    )
    session.add(approval)
    session.flush()
    return approval


def request_blocks(
    approval: SlackApproval, summary: str, decline: str = REJECT
) -> list[dict[str, Any]]:
    """Return the channel message of a pending request: its summary and two buttons."""
    decline_label = "Cancel" if decline == CANCEL else "Reject"
    return [
        section(summary),
        {
            "type": "actions",
            "block_id": f"approval_{approval.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": str(approval.id),
                },
                {
                    "type": "button",
                    "action_id": decline,
                    "text": {"type": "plain_text", "text": decline_label},
                    "style": "danger",
                    "value": str(approval.id),
                },
            ],
        },
    ]


def decide(
    session: Session, approval: SlackApproval, status: ApprovalStatus, staff: Staff, label: str
) -> bool:
    """Move a pending request to ``status``; return False when someone decided it first.

    The conditional update is the lock: on PostgreSQL a concurrent second update waits
    for the first to commit, then matches no row.
    """
    result = session.execute(
        update(SlackApproval)
        .where(SlackApproval.id == approval.id, SlackApproval.status == ApprovalStatus.PENDING)
        .values(
            status=status,
            decided_by_staff_id=staff.id,
            decided_by=label,
            decided_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(approval)
    return bool(getattr(result, "rowcount", 0) == 1)


def decided_text(session: Session, approval: SlackApproval, zone: Any) -> str:
    """Return who decided the request, how and when, for a person who clicked too late."""
    decider = (
        session.get(Staff, approval.decided_by_staff_id) if approval.decided_by_staff_id else None
    )
    name = decider.name if decider else approval.decided_by
    when = (
        approval.decided_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        if approval.decided_at
        else "an earlier time"
    )
    return f"Request #{approval.id} was already {approval.status.value} by {name} at {when}."
