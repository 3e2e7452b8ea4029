"""The bodies of the Bolt listeners: run a ``/upm`` command or decide an approval.

Bolt has already verified the signature and acknowledged the request; these run after
the acknowledgment, so slow work does not hold Slack's three seconds. Each claims the
request's id with ``claim_event`` first, so a retried delivery acts once and sends no
reply.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import session_scope
from app.errors import DomainError
from app.inbound.service import claim_event
from app.ledger.service import post_adjustment
from app.settings import get_settings
from app.work_orders.models import Staff
from app.work_orders.service import Actor
from chatops.approvals import DECIDERS, DECISIONS, decide, decided_text
from chatops.commands import find_command
from chatops.context import (
    CommandContext,
    Reply,
    find_staff,
    role_names,
    section,
    slack_label,
)
from chatops.models import ApprovalKind, ApprovalStatus, SlackApproval
from chatops.tasks import approved_bill_run_task

log = logging.getLogger(__name__)

Respond = Callable[..., Any]


def not_linked_text(team_id: str, user_id: str) -> str:
    return (
        f"You cannot use /upm yet: Slack user {user_id} in team {team_id} is not linked to an "
        "active staff member. Ask a supervisor to add these ids to your staff record."
    )


def command_key(body: dict[str, Any]) -> str:
    """Return the slash command's idempotency key: its trigger id, else a body hash."""
    trigger = body.get("trigger_id")
    if trigger:
        return f"command:{trigger}"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"command:{digest}"


def handle_command(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
    text = " ".join(str(body.get("text") or "").split())
    team_id = str(body.get("team_id") or "")
    user_id = str(body.get("user_id") or "")
    channel_id = str(body.get("channel_id") or "")
    key = command_key(body)
    command, name, rest = find_command(text)
    action = f"slack.{command.name if command else 'unknown'}"
    arguments = {"text": text, "channel": channel_id}
    # The audit actor of a rejected command, which is recorded after the rollback.
    who = {"label": slack_label(team_id, user_id)}
    after_commit: list[Callable[[], None]] = []

    reply: Reply | None
    try:
        with session_scope() as session:
            if not claim_event(session, provider="slack", event_id=key[:120], kind="command"):
                log.info("Slack command %s was already handled; the retry does nothing", key)
                return
            staff = find_staff(session, team_id, user_id)
            if staff is None:
                _deny(session, who["label"], action, arguments, "not linked to staff")
                reply = Reply(text=not_linked_text(team_id, user_id))
            elif command is None:
                record(
                    session,
                    actor=Actor("slack", staff).label,
                    action=action,
                    outcome="unknown_command",
                    arguments=arguments,
                )
                reply = Reply(
                    text=f"`{name}` is not a /upm command. Type `/upm help` for the list."
                )
            elif staff.role not in command.roles:
                actor = Actor(who["label"], staff)
                needed = role_names(command.roles)
                _deny(session, actor.label, action, arguments, f"needs {needed}")
                reply = Reply(
                    text=f"`/upm {command.name}` needs the {needed} role; your role is "
                    f"{staff.role.value.replace('_', ' ')}."
                )
            else:
                actor = Actor(who["label"], staff)
                who["label"] = actor.label
                context = CommandContext(
                    session=session,
                    actor=actor,
                    staff=staff,
                    team_id=team_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    request_key=key,
                    after_commit=after_commit,
                )
                reply = command.handler(context, rest)
                record(session, actor=actor.label, action=action, outcome="ok", arguments=arguments)
    except DomainError as error:
        _record_failure(who["label"], action, arguments, "rejected", error.message)
        reply = Reply(text=f":warning: {error.message}")
    except Exception:
        log.exception("Slack command %r from %s failed", text, who["label"])
        _record_failure(who["label"], action, arguments, "error", "unexpected error; see the log")
        reply = Reply(text=":x: The command failed on our side and was logged; try again later.")

    _deliver(reply, respond, client, channel_id)
    for job in after_commit:
        job()


def handle_decision(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
    """Approve, reject or cancel a request from its button; only the first click counts."""
    action = body["actions"][0]
    user = body.get("user") or {}
    user_id = str(user.get("id") or "")
    team_id = str(user.get("team_id") or (body.get("team") or {}).get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "")
    status = DECISIONS[action["action_id"]]
    key = f"action:{action.get('action_ts')}:{user_id}"
    label = slack_label(team_id, user_id)
    audit_action = f"slack.approval.{status.value}"
    after_commit: list[Callable[[], None]] = []
    public: str | None = None
    private: str | None = None

    try:
        with session_scope() as session:
            if not claim_event(session, provider="slack", event_id=key[:120], kind="action"):
                log.info("Slack action %s was already handled; the retry does nothing", key)
                return
            approval = session.get(SlackApproval, int(action["value"]))
            arguments = {"approval": action["value"], "channel": channel_id}
            staff = find_staff(session, team_id, user_id)
            if staff is None:
                _deny(session, label, audit_action, arguments, "not linked to staff")
                private = not_linked_text(team_id, user_id)
            elif approval is None:
                private = f"Request #{action['value']} not found."
            else:
                label = Actor(label, staff).label
                refusal = _refusal(approval, status, staff)
                if refusal:
                    _deny(session, label, audit_action, arguments, refusal)
                    private = refusal
                elif not decide(session, approval, status, staff, label):
                    private = decided_text(session, approval, get_settings().zone)
                    record(
                        session,
                        actor=label,
                        action=audit_action,
                        outcome="already_decided",
                        target=f"slack_approval:{approval.id}",
                        arguments=arguments,
                        detail=private,
                    )
                else:
                    public = _apply(session, approval, status, staff, label, after_commit)
                    record(
                        session,
                        actor=label,
                        action=audit_action,
                        outcome=status.value,
                        target=f"slack_approval:{approval.id}",
                        arguments={**arguments, **approval.arguments},
                    )
    except DomainError as error:
        _record_failure(
            label, audit_action, {"approval": action.get("value")}, "rejected", error.message
        )
        private = f":warning: {error.message}"
    except Exception:
        log.exception("Slack action %s on request %s failed", key, action.get("value"))
        private = ":x: The decision failed on our side and was logged; try again later."

    if public is not None:
        original = _original_summary(body)
        text = f"{original}\n{public}" if original else public
        _safe(lambda: respond(text=text, blocks=[section(text)], replace_original=True))
    if private is not None:
        _safe(lambda: client.chat_postEphemeral(channel=channel_id, user=user_id, text=private))
    for job in after_commit:
        job()


def _refusal(approval: SlackApproval, status: ApprovalStatus, staff: Staff) -> str | None:
    """Return why ``staff`` may not make this decision, or None when they may."""
    own = approval.requested_by_staff_id == staff.id
    if status == ApprovalStatus.CANCELED and own:
        return None
    if staff.role not in DECIDERS[approval.kind]:
        return (
            f"Deciding request #{approval.id} needs the {role_names(DECIDERS[approval.kind])} "
            f"role; your role is {staff.role.value.replace('_', ' ')}."
        )
    if approval.kind == ApprovalKind.ADJUSTMENT and own:
        return f"You proposed adjustment #{approval.id}; a different supervisor must decide it."
    return None


def _apply(
    session: Session,
    approval: SlackApproval,
    status: ApprovalStatus,
    staff: Staff,
    label: str,
    after_commit: list[Callable[[], None]],
) -> str:
    """Carry out a decision just made; return the line added to the channel message."""
    verb = {
        ApprovalStatus.APPROVED: "Approved",
        ApprovalStatus.REJECTED: "Rejected",
        ApprovalStatus.CANCELED: "Canceled",
    }[status]
    line = f"*{verb} by {staff.name}.*"
    if status != ApprovalStatus.APPROVED:
        return line
    if approval.kind == ApprovalKind.ADJUSTMENT:
        arguments = approval.arguments
        entry = post_adjustment(
            session,
            account_id=int(arguments["account_id"]),
            amount=Decimal(str(arguments["amount"])),
            key=f"slack-adjustment:{approval.id}",
            effective_date=get_settings().today(),
            actor=label,
            memo=f"Adjustment #{approval.id}: {arguments['reason']}"[:200],
        )
        approval.result = {"journal_entry_id": entry.id}
        return f"{line} Posted as journal entry {entry.id}."
    approval_id = approval.id
    after_commit.append(lambda: _start_bill_run(approval_id))
    return f"{line} The bill run has started; its summary follows here."


def _start_bill_run(approval_id: int) -> None:
    try:
        approved_bill_run_task.delay(approval_id)
    except Exception:
        # Without Redis the task runs here and its errors propagate; with Redis this is
        # a broker failure. Either way the approval remains, and the run can be repeated.
        log.exception("bill run for approval %s did not start or failed", approval_id)


def _deny(session: Session, actor: str, action: str, arguments: dict[str, Any], why: str) -> None:
    record(session, actor=actor, action=action, outcome="denied", arguments=arguments, detail=why)


def _record_failure(
    actor: str, action: str, arguments: dict[str, Any], outcome: str, detail: str
) -> None:
    with session_scope() as session:
        record(
            session, actor=actor, action=action, outcome=outcome, arguments=arguments, detail=detail
        )


def _original_summary(body: dict[str, Any]) -> str | None:
    blocks = (body.get("message") or {}).get("blocks") or []
    if blocks and blocks[0].get("type") == "section":
        return str(blocks[0].get("text", {}).get("text") or "") or None
    return None


def _deliver(reply: Reply, respond: Respond, client: WebClient, channel_id: str) -> None:
    _safe(lambda: respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral"))
    if reply.channel_text is not None:
        _safe(
            lambda: client.chat_postMessage(
                channel=channel_id, text=reply.channel_text, blocks=reply.channel_blocks
            )
        )


def _safe(call: Callable[[], Any]) -> None:
    try:
        call()
    except (SlackClientError, OSError) as error:
        log.error("Slack reply failed: %s", error)
