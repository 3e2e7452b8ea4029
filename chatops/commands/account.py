"""``/upm account <query>``: a Block Kit card of one account, or a list to choose from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from app.accounts.models import Account
from app.accounts.service import search_accounts, service_address
from app.billing.models import Bill
from app.errors import InvalidInput, NotFound
from app.payments.channels import look_up
from app.premises.models import Premise, ServiceAgreement
from app.settings import get_settings
from app.web.formatting import format_money as money
from app.work_orders.models import WorkOrder
from app.work_orders.service import OPEN
from chatops.context import CommandContext, Reply, fields, section

#: Accounts listed when a search matches more than one.
LIST_LIMIT = 10


def handle(context: CommandContext, arguments: str) -> Reply:
    query = arguments.strip()
    if not query:
        raise InvalidInput(
            "give an account number, customer name, phone number or service address, "
            "such as `/upm account 100000017`",
            code="account_query_missing",
        )
    found = search_accounts(context.session, query, limit=LIST_LIMIT)
    if not found.accounts:
        raise NotFound(f"no account matches {query!r}", code="account_not_found")
    if len(found.accounts) > 1:
        return _choices(context, query, found.accounts, found.total)
    return account_card(context, found.accounts[0])


def _choices(context: CommandContext, query: str, accounts: list[Account], total: int) -> Reply:
    lines = [
        f"• `{account.number}` {account.customer.name}, "
        f"{service_address(context.session, account.id) or 'no service address'}"
        for account in accounts
    ]
    more = f" (first {len(accounts)} of {total})" if total > len(accounts) else ""
    text = f"{total} accounts match {query!r}{more}; pick one:\n" + "\n".join(lines)
    return Reply(text=text, blocks=[section(text)])


def account_card(context: CommandContext, account: Account) -> Reply:
    session = context.session
    owed = look_up(session, account.id)
    today = get_settings().today()
    services = session.execute(
        select(ServiceAgreement.service, Premise.address)
        .join(Premise, Premise.id == ServiceAgreement.premise_id)
        .where(
            ServiceAgreement.account_id == account.id,
            ServiceAgreement.start_date <= today,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > today),
        )
        .order_by(ServiceAgreement.id)
    ).all()
    last_bill = session.scalar(
        select(Bill)
        .where(Bill.account_id == account.id)
        .order_by(Bill.bill_date.desc(), Bill.id.desc())
        .limit(1)
    )
    orders = list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.account_id == account.id, WorkOrder.status.in_(OPEN))
            .order_by(WorkOrder.due_at)
        )
    )

    due = money(owed.amount_due) + (f" due {owed.due_date}" if owed.due_date else "")
    if owed.past_due > 0:
        due += f" ({money(owed.past_due)} past due)"
    service_text = "\n".join(f"{service} at {address}" for service, address in services)
    bill_text = (
        f"{last_bill.bill_date}: {money(last_bill.total)}, due {last_bill.due_date}"
        if last_bill
        else "none yet"
    )
    order_text = "\n".join(
        f"#{order.number} {order.type.value.replace('_', ' ')}, "
        f"{order.status.value.replace('_', ' ')}, {order.priority.value}"
        for order in orders
    )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{account.customer.name}: {account.number}"},
        },
        fields(("Balance", money(owed.balance)), ("Amount due", due)),
        fields(
            ("Services", service_text or "no active service"),
            ("Last bill", bill_text),
        ),
        section(f"*Open work orders*\n{order_text or 'none'}"),
    ]
    text = (
        f"{account.customer.name} ({account.number}): balance {money(owed.balance)}, "
        f"amount due {due}; last bill {bill_text}; {len(orders)} open work orders"
    )
    return Reply(text=text, blocks=blocks)
