"""Opening accounts and finding them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind, Customer
from app.accounts.numbers import FIRST_BASE, account_number, validate_account_number
from app.errors import InvalidInput, NotFound
from app.premises.models import Premise, ServiceAgreement


def next_account_base(session: Session) -> int:
    """Return the base number after the highest one in use."""
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


@dataclass(frozen=True)
class SearchResult:
    """Accounts found, with the total before the list was cut at ``limit``."""

    accounts: list[Account]
    total: int


MIN_DIGITS = 4


def _search_conditions(text: str) -> list[ColumnElement[bool]]:
    """Match a number against account numbers and phones, other text against the rest.

    A query of digits (spaces and dashes allowed) is an account number or a phone
    number: it must be at least four digits and matches as one run, never digit by digit.
    Any other query matches names, service addresses and e-mail addresses as typed.
    """
    compact = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    if compact.lstrip("+").isdigit():
        digits = compact.lstrip("+")
        if len(digits) < MIN_DIGITS:
            raise InvalidInput(
                f"search number {text!r} is too short; type at least {MIN_DIGITS} digits "
                "of the account or phone number",
                code="search_too_short",
            )
        return [
            Account.number.like(f"{digits}%"),
            and_(Contact.kind == ContactKind.PHONE, Contact.value.like(f"%{digits}%")),
        ]
    pattern = f"%{text.lower()}%"
    return [
        func.lower(Customer.name).like(pattern),
        func.lower(Premise.address).like(pattern),
        and_(Contact.kind == ContactKind.EMAIL, func.lower(Contact.value).like(pattern)),
    ]


def search_accounts(session: Session, query: str, *, limit: int = 50) -> SearchResult:
    """Find accounts by number, phone, customer name, service address or e-mail."""
    text = query.strip()
    if len(text) < 2:
        raise InvalidInput(
            f"search text {query!r} is too short; type at least two characters",
            code="search_too_short",
        )
    matching = (
        select(Account.id)
        .join(Customer, Customer.id == Account.customer_id)
        .outerjoin(ServiceAgreement, ServiceAgreement.account_id == Account.id)
        .outerjoin(Premise, Premise.id == ServiceAgreement.premise_id)
        .outerjoin(Contact, Contact.account_id == Account.id)
        .where(or_(*_search_conditions(text)))
        .distinct()
    )
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    accounts = session.scalars(
        select(Account).where(Account.id.in_(matching)).order_by(Account.number).limit(limit)
    )
    return SearchResult(list(accounts), total)


def service_address(session: Session, account_id: int) -> str | None:
    """Return the address of the account's first premise, for lists of accounts."""
    return session.scalar(
        select(Premise.address)
        .join(ServiceAgreement, ServiceAgreement.premise_id == Premise.id)
        .where(ServiceAgreement.account_id == account_id)
        .order_by(ServiceAgreement.id)
        .limit(1)
    )
