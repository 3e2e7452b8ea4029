"""LEAK and OUTAGE: a customer's report becomes a work order at the account's premise.

Both are emergency priority (due the same day), because a text cannot tell a leak at the
meter from one in the yard, nor one house without water from a main break. Staff lower
the priority once they know. A second report of a problem whose order is still open gets
that order's number (``app.work_orders.reports``); staff are alerted to new orders only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.premises.models import ServiceAgreement
from app.settings import get_settings
from app.work_orders import reports
from app.work_orders.models import Priority, WorkOrderType
from app.work_orders.service import Actor
from sms_flows import replies
from sms_flows.inbound import Request
from sms_flows.keywords import Keyword

ORDER_TYPES = {
    Keyword.LEAK: WorkOrderType.LEAK_INVESTIGATION,
    Keyword.OUTAGE: WorkOrderType.SERVICE_INVESTIGATION,
}
#: The words the staff alert uses for each report.
ALERTS = {Keyword.LEAK: "texted about a leak", Keyword.OUTAGE: "texted about an outage"}

#: Characters of the customer's text kept in the order's notes.
NOTES_LIMIT = 300


def report_problem(session: Session, request: Request) -> str:
    """Name the open order for this problem, else create one, and reply with its number."""
    text = request.text
    report = reports.report_problem(
        session,
        type=ORDER_TYPES[request.keyword],
        priority=Priority.EMERGENCY,
        actor=Actor(text.actor),
        idempotency_key=f"sms:{text.message_sid}",
        account_id=request.account.id,
        premise_id=service_premise_id(session, request.account.id),
        notes=f"Reported by text: {' '.join(text.body.split())[:NOTES_LIMIT]}",
        alert=ALERTS[request.keyword],
    )
    return replies.render(
        "report",
        request.language,
        kind=request.keyword.value.lower(),
        number=report.order.number,
        already_open=not report.created,
    )


def service_premise_id(
    session: Session, account_id: int, today: dt.date | None = None
) -> int | None:
    """Return the premise of the account's first service in effect today, else its latest.

    None when the account has no service agreement; the order then names only the account.
    """
    day = today or get_settings().today()
    agreements = select(ServiceAgreement.premise_id).where(
        ServiceAgreement.account_id == account_id
    )
    current = session.scalar(
        agreements.where(
            ServiceAgreement.start_date <= day,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > day),
        )
        .order_by(ServiceAgreement.id)
        .limit(1)
    )
    if current is not None:
        return current
    return session.scalar(
        agreements.order_by(ServiceAgreement.start_date.desc(), ServiceAgreement.id.desc()).limit(1)
    )
