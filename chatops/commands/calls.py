"""``/upm calls``: today's calls by outcome, and the callback and arrangement requests.

Staff call customers back from this list, so it shows the caller's full number. The
alert posted when a request arrives shows only the last four digits.
"""

from __future__ import annotations

import datetime as dt

from app.accounts.models import Account
from app.calls import service
from app.calls.models import CallOutcome, CallRequest
from app.errors import InvalidInput
from app.i18n import format_local_time
from app.settings import get_settings
from chatops.context import CommandContext, Reply, fields, section

LABELS = {
    CallOutcome.SELF_SERVED: "self-served",
    CallOutcome.TRANSFERRED: "to staff",
    CallOutcome.ABANDONED: "abandoned",
    None: "under way",
}
KINDS = {"callback": "callback", "arrangement": "payment arrangement"}


def handle_list(context: CommandContext, arguments: str) -> Reply:
    session = context.session
    settings = get_settings()
    today = settings.today()
    midnight = dt.datetime.combine(today, dt.time(), settings.zone).astimezone(dt.UTC)
    counts = service.outcome_counts(session, midnight)
    share = service.containment(counts)
    requests = service.open_requests(session)
    waiting = service.count_open_requests(session)

    outcome_text = ", ".join(
        f"{LABELS[outcome]} {counts[outcome]}" for outcome in LABELS if counts.get(outcome)
    )
    containment = "no finished calls yet" if share is None else f"{share:.0%} self-served"
    summary = (
        f"Calls on {today}: {sum(counts.values())} ({outcome_text or 'none'}; {containment}). "
        f"Open requests: {waiting}."
    )
    lines = [_request_line(context, request) for request in requests]
    if waiting > len(requests):
        lines.append(f"…and {waiting - len(requests)} more, oldest first")
    blocks = [
        section(f"*Calls today, {today}*"),
        fields(("Outcomes", outcome_text or "none"), ("Containment", containment)),
        section("*Open requests*\n" + ("\n".join(lines) or "none")),
    ]
    if requests:
        blocks.append(section("Close one after calling back: `/upm calls close <request>`"))
    return Reply(text=summary, blocks=blocks)


def handle_close(context: CommandContext, arguments: str) -> Reply:
    text = arguments.strip().lstrip("#")
    if not text.isdigit():
        raise InvalidInput(
            f"{arguments.strip() or 'nothing'} is not a request number; type "
            "`/upm calls close 12` with a number from `/upm calls`",
            code="call_request_number",
        )
    request, closed = service.close_request(context.session, int(text))
    if not closed:
        return Reply(text=f"Request #{request.id} was already closed.")
    return Reply(
        text=f"Request #{request.id} ({KINDS[request.kind.value]}) closed.",
        channel_text=f"{context.staff.name} closed call request #{request.id}.",
    )


def _request_line(context: CommandContext, request: CallRequest) -> str:
    account = context.session.get(Account, request.account_id) if request.account_id else None
    whom = f"account {account.number}" if account else "no account identified"
    when = format_local_time(request.created_at, "en")
    return (
        f"#{request.id} {KINDS[request.kind.value]}: {request.phone}, {whom}, "
        f"{'Spanish' if request.language == 'es' else 'English'}, asked at {when}"
    )
