"""A customer's report of a problem at a premise: one open work order per problem.

Customers report the same leak more than once: a text, a second text a minute later, then
a call. Each channel calls :func:`report_problem`, which returns the open order of the
same type and priority at the premise (or, with no premise on file, on the account)
instead of creating another. The caller tells the customer that order's number. Staff get
an alert only for a new order, raised by a Celery task after the caller commits.

Two reports at once are serialized on the premise's (or account's) row, so they cannot
both miss the open order and both create one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.alerts import PROBLEM_REPORTED, raise_alert
from app.db import session_scope
from app.messaging.after_commit import apply_after_commit
from app.premises.models import Premise
from app.work_orders.models import Priority, WorkOrder, WorkOrderType
from app.work_orders.service import OPEN, Actor, create_order

log = logging.getLogger(__name__)

#: The Celery task that alerts staff to a newly reported problem.
REPORT_ALERT_TASK = "work_orders.report_alert"


@dataclass(frozen=True)
class Report:
    """The work order a report names, and whether the report created it."""

    order: WorkOrder
    created: bool


def report_problem(
    session: Session,
    *,
    type: WorkOrderType,  # noqa: A002 - the work order's own term
    priority: Priority,
    actor: Actor,
    idempotency_key: str,
    account_id: int | None,
    premise_id: int | None,
    notes: str,
    alert: str,
    now: dt.datetime | None = None,
) -> Report:
    """Return the open order for this problem at the premise, else create one.

    ``alert`` is how the staff alert names the report, such as "texted about a leak";
    it is raised only when the order is new.
    """
    lock_location(session, account_id, premise_id)
    already = open_order_at(
        session, type=type, priority=priority, account_id=account_id, premise_id=premise_id
    )
    if already is not None and already.idempotency_key != idempotency_key:
        log.info("report %s names open work order %s", idempotency_key, already.number)
        return Report(already, created=False)
    order = create_order(
        session,
        type=type,
        priority=priority,
        actor=actor,
        idempotency_key=idempotency_key,
        account_id=account_id,
        premise_id=premise_id,
        notes=notes,
        now=now,
    )
    apply_after_commit(session, REPORT_ALERT_TASK, [order.id, alert])
    return Report(order, created=True)


def open_order_at(
    session: Session,
    *,
    type: WorkOrderType,  # noqa: A002 - the work order's own term
    priority: Priority | None,
    account_id: int | None,
    premise_id: int | None,
) -> WorkOrder | None:
    """Return the oldest open order of ``type`` at the premise, or on the account without one.

    ``priority`` None matches an order of any priority.
    """
    conditions = [
        WorkOrder.premise_id == premise_id
        if premise_id is not None
        else WorkOrder.account_id == account_id,
        WorkOrder.type == type,
        WorkOrder.status.in_(OPEN),
    ]
    if priority is not None:
        conditions.append(WorkOrder.priority == priority)
    return session.scalar(select(WorkOrder).where(*conditions).order_by(WorkOrder.id).limit(1))


def lock_location(session: Session, account_id: int | None, premise_id: int | None) -> None:
    """Lock the premise's row, or the account's without a premise (a no-op on SQLite)."""
    if premise_id is not None:
        session.scalar(select(Premise.id).where(Premise.id == premise_id).with_for_update())
    elif account_id is not None:
        session.scalar(select(Account.id).where(Account.id == account_id).with_for_update())


@shared_task(name=REPORT_ALERT_TASK)
def report_alert(order_id: int, alert: str) -> str:
    """Tell staff about a work order a customer's report created."""
    with session_scope() as session:
        order = session.get(WorkOrder, order_id)
        if order is None:
            log.warning("report alert: work order id %s not found", order_id)
            return "missing"
        premise = session.get(Premise, order.premise_id) if order.premise_id else None
        account = session.get(Account, order.account_id) if order.account_id else None
        place = premise.address if premise is not None else "no premise on file"
        account_label = account.masked_number if account is not None else "none"
        message = (
            f"A customer {alert}: work order {order.number} "
            f"({order.priority.value}) at {place}, account {account_label}."
        )
    raise_alert(PROBLEM_REPORTED, message)
    return "alerted"
