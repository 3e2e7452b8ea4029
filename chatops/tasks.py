"""The Celery task behind an approved bill run: bill, then post the summary to Slack."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackClientError
from sqlalchemy import select

from app.accounts.models import Account
from app.audit.service import record
from app.billing.models import BillRunException
from app.billing.tasks import bill_run_task
from app.celery_app import celery_app
from app.db import session_scope
from app.errors import DomainError
from chatops.alerts import AlertKind, post_alert, web_client
from chatops.models import SlackApproval

log = logging.getLogger(__name__)

#: Exceptions listed in the channel message; the bill run's page lists them all.
EXCEPTIONS_SHOWN = 10

ExceptionRow = tuple[str, str, str]


# NOTE: a worker finds this task only if it imports chatops.tasks, and app/celery_app.py's
# ``include`` list does not name it yet. Without Redis the task runs in-process.
@celery_app.task(name="chatops.approved_bill_run", bind=True, max_retries=3)
def approved_bill_run_task(self: Any, approval_id: int) -> dict[str, Any]:
    """Run the bill run an approval names and post its summary to the request's channel.

    Safe to retry: the bill run skips accounts already billed.
    """
    with session_scope() as session:
        approval = session.get(SlackApproval, approval_id)
        if approval is None:
            raise ValueError(f"approval {approval_id} not found")
        cycle = str(approval.arguments["cycle"])
        period = str(approval.arguments["period"])
        channel = approval.channel_id
        actor = approval.decided_by or approval.requested_by

    log.info("approved bill run %s: cycle %s period %s", approval_id, cycle, period)
    try:
        # Called directly, the billing task runs here, inside this one.
        result: dict[str, Any] = bill_run_task(cycle, period, actor)
    except DomainError as error:
        log.warning("approved bill run %s failed: %s", approval_id, error.message)
        _save(approval_id, actor, {"error": error.message}, outcome="failed")
        failure = f"Bill run #{approval_id} ({cycle} {period}) failed: {error.message}"
        _post(channel, f":x: {failure}")
        post_alert(AlertKind.BILL_RUN_EXCEPTIONS, failure)
        return {"error": error.message}

    exceptions = _exceptions(int(result["run_id"]))
    _save(approval_id, actor, result, outcome="ok")
    _post(channel, _summary_text(approval_id, result, exceptions))
    if exceptions:
        post_alert(
            AlertKind.BILL_RUN_EXCEPTIONS,
            f"{len(exceptions)} accounts not billed in cycle {cycle}, {period} "
            f"(run {result['run_id']}):\n" + _exception_lines(exceptions),
        )
    return result


def _exceptions(run_id: int) -> list[ExceptionRow]:
    """Return the run's exceptions as (account number, code, message), by account."""
    with session_scope() as session:
        rows = session.execute(
            select(Account.number, BillRunException.code, BillRunException.message)
            .join(Account, Account.id == BillRunException.account_id)
            .where(BillRunException.bill_run_id == run_id)
            .order_by(Account.number, BillRunException.id)
        )
        return [(number, code, message) for number, code, message in rows]


def _save(approval_id: int, actor: str, result: dict[str, Any], *, outcome: str) -> None:
    with session_scope() as session:
        approval = session.get(SlackApproval, approval_id)
        if approval is not None:
            approval.result = result
        record(
            session,
            actor=actor,
            action="slack.billrun.run",
            outcome=outcome,
            target=f"slack_approval:{approval_id}",
            arguments=result,
        )


def _summary_text(approval_id: int, result: dict[str, Any], exceptions: list[ExceptionRow]) -> str:
    text = (
        f":white_check_mark: Bill run #{approval_id} finished for cycle {result['cycle']}, "
        f"{result['period']}: {result['bills_created']} bills created "
        f"({result['bills_in_run']} in the run), ${result['total_billed']} billed; "
        f"{len(exceptions)} exceptions."
    )
    if exceptions:
        text += "\n" + _exception_lines(exceptions)
    return text


def _exception_lines(exceptions: list[ExceptionRow]) -> str:
    shown = exceptions[:EXCEPTIONS_SHOWN]
    lines = [f"• {number}: {code}: {message}" for number, code, message in shown]
    hidden = len(exceptions) - len(shown)
    if hidden > 0:
        lines.append(f"…and {hidden} more")
    return "\n".join(lines)


def _post(channel: str, text: str) -> None:
    try:
        web_client().chat_postMessage(channel=channel, text=text, unfurl_links=False)
    except SlackClientError as error:
        log.error("bill run summary not posted to %s: %s", channel, error)
