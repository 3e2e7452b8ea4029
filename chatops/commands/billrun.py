"""``/upm billrun <cycle> <period>``: preview the counts, then wait for Approve or Cancel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from app.billing.models import Bill, BillingCycle, BillRun
from app.billing.periods import parse_period
from app.errors import InvalidInput, NotFound
from app.premises.models import Premise, ServiceAgreement
from app.settings import get_settings
from chatops.approvals import CANCEL, create_request, request_blocks
from chatops.context import CommandContext, Reply
from chatops.models import ApprovalKind


def handle(context: CommandContext, arguments: str) -> Reply:
    words = arguments.split()
    if len(words) != 2:
        raise InvalidInput(
            "usage: `/upm billrun <cycle> <period>`, such as `/upm billrun C1 2026-11`",
            code="usage",
        )
    session = context.session
    cycle = session.scalar(select(BillingCycle).where(BillingCycle.code == words[0]))
    if cycle is None:
        known = ", ".join(session.scalars(select(BillingCycle.code).order_by(BillingCycle.code)))
        raise NotFound(
            f"billing cycle {words[0]!r} not found; known cycles: {known or 'none'}",
            code="cycle_not_found",
        )
    period = parse_period(words[1])
    today = get_settings().today()
    if period.end > today:
        raise InvalidInput(
            f"period {period.label} has not ended; it can be billed from {period.end}",
            code="period_not_ended",
        )

    accounts = (
        session.scalar(
            select(func.count(func.distinct(ServiceAgreement.account_id)))
            .join(Premise, Premise.id == ServiceAgreement.premise_id)
            .where(
                Premise.cycle_id == cycle.id,
                ServiceAgreement.start_date < period.end,
                or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > period.start),
            )
        )
        or 0
    )
    billed = (
        session.scalar(
            select(func.count(Bill.id))
            .join(BillRun, BillRun.id == Bill.bill_run_id)
            .where(BillRun.cycle_id == cycle.id, BillRun.period_start == period.start)
        )
        or 0
    )
    preview = {"accounts": accounts, "already_billed": billed, "to_bill": max(accounts - billed, 0)}
    approval = create_request(
        context,
        ApprovalKind.BILL_RUN,
        {"cycle": cycle.code, "period": period.label},
        preview,
    )
    summary = (
        f"*Bill run #{approval.id} for cycle {cycle.code}, {period.label}* "
        f"(requested by {context.staff.name})\n"
        f"{accounts} accounts with service in the period, {billed} already billed, "
        f"{preview['to_bill']} to bill. Bill date {period.end}, due "
        f"{period.end + dt.timedelta(days=get_settings().bill_due_days)}."
    )
    return Reply(
        text=f"Bill run request #{approval.id} posted for approval.",
        channel_text=summary,
        channel_blocks=request_blocks(approval, summary, decline=CANCEL),
    )
