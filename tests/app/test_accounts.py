"""Account numbers with a Luhn check digit, and account search."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from stdnum import luhn

from app.accounts.models import Contact, ContactKind
from app.accounts.numbers import account_number, validate_account_number
from app.accounts.service import get_account_by_number, search_accounts
from app.errors import InvalidInput, NotFound
from tests.app.factories import City, trash_tariff


def test_number_carries_luhn_digit() -> None:
    # Luhn of 10000001: doubling every second digit from the right gives a sum of 3,
    # so the check digit is 7.
    assert account_number(10_000_001) == "100000017"
    assert luhn.is_valid(account_number(12_345_678))


def test_swapped_digits_fail_check() -> None:
    good = account_number(12_345_678)
    swapped = good[:2] + good[3] + good[2] + good[4:]
    with pytest.raises(InvalidInput, match="fails its check digit"):
        validate_account_number(swapped)


def test_spaces_and_dashes_are_ignored() -> None:
    assert validate_account_number("1000-0001 7") == "100000017"


def test_wrong_length_names_format() -> None:
    with pytest.raises(InvalidInput, match="must be 9 digits"):
        validate_account_number("12345")


def test_numbers_follow_each_other(session: Session) -> None:
    city = City(session)
    first, _ = city.account("Ana")
    second, _ = city.account("Ben")
    assert first.number == "100000017"
    assert int(second.number[:-1]) == int(first.number[:-1]) + 1


def found(session: Session, query: str) -> list[int]:
    return [a.id for a in search_accounts(session, query).accounts]


def test_search_finds_by_name_address_and_number(session: Session) -> None:
    city = City(session)
    account, premise = city.account("Grace Hopper")
    city.agreement(account, premise, city.tariff(trash_tariff()))
    assert found(session, "hopper") == [account.id]
    assert found(session, "1 test st") == [account.id]
    assert found(session, account.number) == [account.id]


def test_search_digits_match_as_one_run(session: Session) -> None:
    # Account numbers 100000017, 100000025, ...: "100" is in every one, but a street
    # number query must not match them digit by digit.
    city = City(session)
    first, premise = city.account("Ana Lopez")
    premise.address = "100 Oak St"
    second, other = city.account("Ben Smith")
    other.address = "104 Maple Ave"
    session.add(Contact(account_id=second.id, kind=ContactKind.PHONE, value="+15125550142",
                        verified=True))
    city.agreement(first, premise, city.tariff(trash_tariff()))
    city.agreement(second, other, city.tariff(trash_tariff()))
    session.flush()
    assert found(session, "100 Oak St") == [first.id]
    assert found(session, "100000O58") == []
    assert found(session, "555-0142") == [second.id]
    assert found(session, second.number[:6]) == [first.id, second.id]


def test_search_short_number_is_rejected(session: Session) -> None:
    with pytest.raises(InvalidInput, match="at least 4 digits"):
        search_accounts(session, "100")


def test_search_reports_total_beyond_limit(session: Session) -> None:
    city = City(session)
    for _ in range(3):
        account, premise = city.account("Pat Smith")
        city.agreement(account, premise, city.tariff(trash_tariff()))
    result = search_accounts(session, "smith", limit=2)
    assert len(result.accounts) == 2
    assert result.total == 3


def test_unknown_account_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="account 100000017 not found"):
        get_account_by_number(session, "100000017")
