"""Caller and texter identity: a verified phone contact, or an account number and ZIP code.

Nothing about an account is read out, sent or changed before one of these checks succeeds. A
number that is an unverified contact counts as unknown.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.accounts.numbers import validate_account_number
from app.errors import InvalidInput
from app.premises.models import Premise, ServiceAgreement


def verified_accounts(session: Session, phone: str) -> list[Account]:
    """Return the accounts that list ``phone`` as a verified contact, by account number."""
    if not phone:
        return []
    query = (
        select(Account)
        .join(Contact, Contact.account_id == Account.id)
        .where(
            Contact.kind == ContactKind.PHONE,
            Contact.value == phone,
            Contact.verified.is_(True),
        )
        .order_by(Account.number)
        .distinct()
    )
    return list(session.scalars(query))


def account_by_number_and_zip(session: Session, number: str, zip_code: str) -> Account | None:
    """Return the account when ``zip_code`` is the service ZIP code of one of its premises.

    A malformed number, an unknown number and a wrong ZIP code all give None, so the
    answer never tells which of the two was wrong.
    """
    try:
        compact = validate_account_number(number)
    except InvalidInput:
        return None
    expected_zip = zip_code.strip()[:5]
    if len(expected_zip) != 5 or not expected_zip.isdigit():
        return None
    account = session.scalar(select(Account).where(Account.number == compact))
    if account is None:
        return None
    zips = session.scalars(
        select(Premise.zip_code)
        .join(ServiceAgreement, ServiceAgreement.premise_id == Premise.id)
        .where(ServiceAgreement.account_id == account.id)
    )
    return account if any(z[:5] == expected_zip for z in zips) else None
