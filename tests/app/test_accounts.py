"""Account numbers with a Luhn check digit, and account search."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from stdnum import luhn

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


def test_search_finds_by_name_address_and_number(session: Session) -> None:
    city = City(session)
    account, premise = city.account("Grace Hopper")
    city.agreement(account, premise, city.tariff(trash_tariff()))
    assert [a.id for a in search_accounts(session, "hopper")] == [account.id]
    assert [a.id for a in search_accounts(session, "1 test st")] == [account.id]
    assert [a.id for a in search_accounts(session, account.number)] == [account.id]


def test_unknown_account_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="account 100000017 not found"):
        get_account_by_number(session, "100000017")
