"""Staff pages for work orders: the open list with overdue ones first, and one order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.db import utcnow
from app.meters.models import Meter
from app.premises.models import Premise
from app.settings import get_settings
from app.web.dependencies import get_session
from app.web.formatting import make_templates
from app.work_orders.dispatch import CrewMessage
from app.work_orders.models import Crew, Staff, WorkOrder
from app.work_orders.service import OPEN, get_order

router = APIRouter(include_in_schema=False)
templates = make_templates()


def _local(instant: dt.datetime | None) -> str:
    """Show a UTC instant in the utility's time zone, as staff read the clock."""
    if instant is None:
        return ""
    return instant.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M %Z")


templates.env.filters["local"] = _local
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/work-orders", response_class=HTMLResponse)
def order_list(request: Request, session: SessionDep) -> HTMLResponse:
    orders = session.scalars(
        select(WorkOrder).where(WorkOrder.status.in_(OPEN)).order_by(WorkOrder.due_at)
    ).all()
    return templates.TemplateResponse(
        request,
        "work_orders/list.html",
        {
            "orders": orders,
            "now": utcnow(),
            "names": _names(session, orders),
        },
    )


@router.get("/work-orders/{number}", response_class=HTMLResponse)
def order_page(request: Request, number: int, session: SessionDep) -> HTMLResponse:
    order = get_order(session, number)
    texts = session.scalars(
        select(CrewMessage).where(CrewMessage.work_order_id == order.id).order_by(CrewMessage.id)
    ).all()
    return templates.TemplateResponse(
        request,
        "work_orders/order.html",
        {
            "order": order,
            "texts": texts,
            "now": utcnow(),
            "names": _names(session, [order]),
        },
    )


def _names(session: Session, orders: Sequence[WorkOrder]) -> dict[str, dict[int, str]]:
    """Look up the labels the pages show: addresses, meters, account numbers, crews, people."""
    items = list(orders)
    premises = {o.premise_id for o in items if o.premise_id}
    accounts = {o.account_id for o in items if o.account_id}
    meters = {o.meter_id for o in items if o.meter_id}
    return {
        "meter": dict(
            session.execute(select(Meter.id, Meter.serial).where(Meter.id.in_(meters))).all()
        ),
        "premise": dict(
            session.execute(
                select(Premise.id, Premise.address).where(Premise.id.in_(premises))
            ).all()
        ),
        "account": {
            aid: f"…{number[-4:]}"
            for aid, number in session.execute(
                select(Account.id, Account.number).where(Account.id.in_(accounts))
            ).all()
        },
        "crew": dict(session.execute(select(Crew.id, Crew.code)).all()),
        "staff": dict(session.execute(select(Staff.id, Staff.name)).all()),
    }
