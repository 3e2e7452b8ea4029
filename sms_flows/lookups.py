"""Read-only keywords: BAL (what is owed), BILL (a link to the latest bill), USAGE."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.models import Bill, BillMeterSegment
from app.payments import channels
from app.portal.bill_links import create_bill_link
from app.settings import get_settings
from sms_flows import replies
from sms_flows.inbound import Request

#: Billing periods a USAGE reply lists, newest first. Three fit two segments for one
#: service; an account with several services gets longer replies.
USAGE_PERIODS = 3


def balance(session: Session, request: Request) -> str:
    """Reply with the amount due, its due date and any past-due part, the credit, or that
    nothing is due."""
    owed = channels.look_up(session, request.account.id)
    language = request.language
    nothing_due = owed.amount_due <= 0
    due_date = owed.due_date if not nothing_due else None
    return replies.render(
        "balance",
        language,
        last4=request.last4,
        nothing_due=nothing_due,
        amount_due=replies.money(owed.amount_due, language),
        due_date=replies.day(due_date, language) if due_date else None,
        past_due=replies.money(owed.past_due, language) if owed.past_due > 0 else None,
        credit=replies.money(-owed.balance, language) if owed.balance < 0 else None,
    )


def latest_bill(session: Session, account_id: int) -> Bill | None:
    return session.scalar(
        select(Bill)
        .where(Bill.account_id == account_id)
        .order_by(Bill.bill_date.desc(), Bill.id.desc())
        .limit(1)
    )


def bill_link(session: Session, request: Request) -> str:
    """Reply with a link to the account's latest bill, in the language of the request."""
    language = request.language
    bill = latest_bill(session, request.account.id)
    if bill is None:
        return replies.render("no_bill", language, last4=request.last4)
    url = create_bill_link(session, bill=bill, language=language, created_by=request.text.actor)
    return replies.render(
        "bill",
        language,
        last4=request.last4,
        total=replies.money(bill.total, language),
        due_date=replies.day(bill.due_date, language),
        url=url,
        hours=get_settings().bill_link_hours,
    )


def usage(session: Session, request: Request) -> str:
    """Reply with the metered consumption of the latest billed periods, by unit."""
    language = request.language
    bills = list(
        session.scalars(
            select(Bill)
            .where(Bill.account_id == request.account.id)
            .order_by(Bill.period_start.desc(), Bill.id.desc())
            .limit(USAGE_PERIODS)
        )
    )
    periods = []
    for bill in bills:
        totals = _consumption_by_unit(session, bill.id)
        if totals:
            amounts = [f"{replies.quantity(total, language)} {unit}" for unit, total in totals]
            periods.append((replies.month(bill.period_start, language), ", ".join(amounts)))
    if not periods:
        return replies.render("no_usage", language, last4=request.last4)
    return replies.render("usage", language, last4=request.last4, periods=periods)


def _consumption_by_unit(session: Session, bill_id: int) -> list[tuple[str, Decimal]]:
    """Sum a bill's metered consumption per unit, such as ``[("gal", 4000)]``."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    segments = session.scalars(
        select(BillMeterSegment)
        .where(BillMeterSegment.bill_id == bill_id)
        .order_by(BillMeterSegment.id)
    )
    for segment in segments:
        totals[segment.unit] += segment.consumption
    return list(totals.items())
