"""Opening accounts and finding them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, Customer
from app.accounts.numbers import FIRST_BASE, account_number, validate_account_number
from app.errors import InvalidInput, NotFound
from app.premises.models import Premise, ServiceAgreement


def next_account_base(session: Session) -> int:
    """The base number after the highest one in use."""
    highest = session.scalar(select(func.max(Account.number)))
    if highest is None:
        return FIRST_BASE
    return int(highest[:-1]) + 1


def open_account(session: Session, *, customer: Customer, opened_on: dt.date) -> Account:
    account = Account(
        number=account_number(next_account_base(session)),
        customer=customer,
        opened_on=opened_on,
    )
    session.add(account)
    session.flush()
    return account


def get_account_by_number(session: Session, number: str) -> Account:
    compact = validate_account_number(number)
    account = session.scalar(select(Account).where(Account.number == compact))
    if account is None:
        raise NotFound(f"account {number} not found", code="account_not_found")
    return account


def search_accounts(session: Session, query: str, *, limit: int = 50) -> list[Account]:
    """Find accounts by number, customer name, service address or contact."""
    text = query.strip()
    if len(text) < 2:
        raise InvalidInput(
            f"search text {query!r} is too short; type at least two characters",
            code="search_too_short",
        )
    pattern = f"%{text.lower()}%"
    digits = "".join(ch for ch in text if ch.isdigit())
    conditions = [
        func.lower(Customer.name).like(pattern),
        func.lower(Premise.address).like(pattern),
        func.lower(Contact.value).like(pattern),
    ]
    if digits:
        conditions.append(Account.number.like(f"%{digits}%"))
        conditions.append(Contact.value.like(f"%{digits}%"))
    statement = (
        select(Account)
        .join(Customer, Customer.id == Account.customer_id)
        .outerjoin(ServiceAgreement, ServiceAgreement.account_id == Account.id)
        .outerjoin(Premise, Premise.id == ServiceAgreement.premise_id)
        .outerjoin(Contact, Contact.account_id == Account.id)
        .where(or_(*conditions))
        .distinct()
        .order_by(Account.number)
        .limit(limit)
    )
    return list(session.scalars(statement))
