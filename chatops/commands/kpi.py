"""``/upm kpi``: today's payments by channel, open work orders and bills issued today."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from app.billing.models import Bill
from app.payments.models import Payment, PaymentStatus
from app.settings import get_settings
from app.work_orders.models import WorkOrder
from app.work_orders.service import OPEN, overdue
from chatops.context import CommandContext, Reply, fields, section

#: Payments that count as money in: the ones still pending or that failed do not.
COUNTED = (PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED)


def handle(context: CommandContext, arguments: str) -> Reply:
    session = context.session
    settings = get_settings()
    today = settings.today()
    # Bills carry their period's bill date, so "issued today" is by creation instant
    # from the utility's local midnight.
    midnight = dt.datetime.combine(today, dt.time(), settings.zone).astimezone(dt.UTC)

    payments = session.execute(
        select(Payment.channel, func.count(Payment.id), func.sum(Payment.amount))
        .where(Payment.received_on == today, Payment.status.in_(COUNTED))
        .group_by(Payment.channel)
        .order_by(Payment.channel)
    ).all()
    orders = session.execute(
        select(WorkOrder.status, func.count(WorkOrder.id))
        .where(WorkOrder.status.in_(OPEN))
        .group_by(WorkOrder.status)
    ).all()
    late = len(overdue(session))
    bills, billed = session.execute(
        select(func.count(Bill.id), func.sum(Bill.total)).where(Bill.created_at >= midnight)
    ).one()

    total = sum((amount or Decimal(0) for _, _, amount in payments), Decimal("0.00"))
    payment_text = (
        "\n".join(
            f"{channel.value.replace('_', ' ')}: {count}, ${amount}"
            for channel, count, amount in payments
        )
        or "none"
    )
    order_text = (
        "\n".join(f"{status.value.replace('_', ' ')}: {count}" for status, count in orders)
        or "none"
    )
    open_count = sum(count for _, count in orders)
    text = (
        f"KPIs for {today}: payments ${total} ({sum(c for _, c, _ in payments)}); "
        f"{open_count} open work orders ({late} overdue); {bills} bills issued "
        f"(${billed or Decimal('0.00')})"
    )
    blocks = [
        section(f"*Today, {today}*"),
        fields(
            (f"Payments (${total})", payment_text),
            (f"Open work orders ({open_count}, {late} overdue)", order_text),
        ),
        fields(("Bills issued today", f"{bills}, ${billed or Decimal('0.00')}")),
    ]
    return Reply(text=text, blocks=blocks)
