"""Who a caller or texter is: verified phone contacts, account number and service ZIP."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.accounts.numbers import account_number
from app.messaging.identity import account_by_number_and_zip, verified_accounts
from tests.app.factories import City, water_tariff

PHONE = "+15550100123"


def add_phone(session: Session, account: Account, phone: str, *, verified: bool) -> None:
    session.add(
        Contact(account_id=account.id, kind=ContactKind.PHONE, value=phone, verified=verified)
    )
    session.flush()


@pytest.fixture
def city(session: Session) -> City:
    return City(session)


def test_verified_phone_finds_its_accounts(session: Session, city: City) -> None:
    first, _ = city.account("Pat Doe")
    second, _ = city.account("Pat Doe Rental")
    add_phone(session, first, PHONE, verified=True)
    add_phone(session, second, PHONE, verified=True)

    found = verified_accounts(session, PHONE)

    assert [account.id for account in found] == sorted(
        [first.id, second.id], key=lambda account_id: session.get_one(Account, account_id).number
    )


def test_unverified_phone_finds_nothing(session: Session, city: City) -> None:
    account, _ = city.account()
    add_phone(session, account, PHONE, verified=False)

    assert verified_accounts(session, PHONE) == []
    assert verified_accounts(session, "") == []


def test_email_contact_not_phone(session: Session, city: City) -> None:
    account, _ = city.account()
    session.add(Contact(account_id=account.id, kind=ContactKind.EMAIL, value=PHONE, verified=True))
    session.flush()

    assert verified_accounts(session, PHONE) == []


@pytest.fixture
def served(session: Session, city: City) -> Account:
    """An account with water service at a premise in ZIP 78701."""
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    return account


@pytest.mark.parametrize("zip_code", ["78701", " 78701 ", "78701-1234"])
def test_number_and_service_zip_match(session: Session, served: Account, zip_code: str) -> None:
    assert account_by_number_and_zip(session, served.number, zip_code) is served


def test_spaced_account_number_matches(session: Session, served: Account) -> None:
    spaced = f"{served.number[:3]} {served.number[3:6]} {served.number[6:]}"

    assert account_by_number_and_zip(session, spaced, "78701") is served


@pytest.mark.parametrize("zip_code", ["78702", "7870", "abcde", ""])
def test_wrong_zip_gives_nothing(session: Session, served: Account, zip_code: str) -> None:
    assert account_by_number_and_zip(session, served.number, zip_code) is None


def test_bad_or_unknown_number_gives_nothing(session: Session, served: Account) -> None:
    mistyped = served.number[:-1] + str((int(served.number[-1]) + 1) % 10)

    assert account_by_number_and_zip(session, mistyped, "78701") is None
    assert account_by_number_and_zip(session, "12345", "78701") is None
    assert account_by_number_and_zip(session, account_number(99_999_999), "78701") is None


def test_account_without_service_has_no_zip(session: Session, city: City) -> None:
    account, _ = city.account()

    assert account_by_number_and_zip(session, account.number, "78701") is None
