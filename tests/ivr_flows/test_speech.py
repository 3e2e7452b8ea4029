"""Speakable numbers, voices and keyed amounts, in English and Spanish."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ivr_flows.card_pay import parse_amount
from ivr_flows.speech import (
    PAY_LANGUAGES,
    POLLY_VOICES,
    VOICES,
    digits_from,
    spoken_amount,
    spoken_date,
    spoken_digits,
    spoken_time,
)


def test_account_number_spoken_digit_by_digit() -> None:
    assert spoken_digits("100234567") == "1 0 0 2 3 4 5 6 7"
    assert spoken_digits("1001") == "1 0 0 1"


@pytest.mark.parametrize(
    ("amount", "english", "spanish"),
    [
        ("1234.50", "1234 dollars and 50 cents", "1234 dólares con 50 centavos"),
        ("84.12", "84 dollars and 12 cents", "84 dólares con 12 centavos"),
        ("1.01", "1 dollar and 1 cent", "un dólar con un centavo"),
        ("12.00", "12 dollars", "12 dólares"),
        ("1.00", "1 dollar", "un dólar"),
        ("0.50", "50 cents", "50 centavos"),
        ("0.00", "0 dollars", "0 dólares"),
        ("-11.88", "11 dollars and 88 cents", "11 dólares con 88 centavos"),
    ],
)
def test_amount_spoken_as_dollars_and_cents(amount: str, english: str, spanish: str) -> None:
    assert spoken_amount(Decimal(amount), "en") == english
    assert spoken_amount(Decimal(amount), "es") == spanish


def test_date_spoken_in_each_language() -> None:
    assert spoken_date(dt.date(2024, 3, 12), "en") == "March 12, 2024"
    assert spoken_date(dt.date(2024, 3, 12), "es") == "12 de marzo de 2024"


def test_time_spoken_in_each_language() -> None:
    assert spoken_time(dt.time(8, 0), "en") == "8:00 AM"
    assert spoken_time(dt.time(17, 0), "es") == "5:00 p.m."


@pytest.mark.parametrize("language", sorted(VOICES))
def test_voice_valid_for_language(language: str) -> None:
    voice = VOICES[language]
    provider, name = voice.voice.split(".", 1)

    assert provider == "Polly"
    assert name in POLLY_VOICES[voice.language]


def test_each_language_has_voice() -> None:
    assert VOICES["en"].language == "en-US"
    assert VOICES["es"].language == "es-MX"
    assert set(PAY_LANGUAGES) == set(VOICES)


@pytest.mark.parametrize(
    ("keyed", "said", "expected"),
    [
        ("100000017", "", "100000017"),
        ("", "100 000 017", "100000017"),
        ("", "1 0 0 0 0 0 0 1 7", "100000017"),
        ("", "one oh oh zero zero zero zero one seven", "100000017"),
        ("", "uno cero cero cero cero cero cero uno siete", "100000017"),
        ("", "my account is 7 8 7 0 1", "78701"),
        ("", "I don't know", ""),
        ("78701", "12345", "78701"),
    ],
)
def test_digits_from_keys_or_speech(keyed: str, said: str, expected: str) -> None:
    assert digits_from(keyed, said) == expected


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("25*50", Decimal("25.50")),
        ("25*5", Decimal("25.50")),
        ("25", Decimal("25.00")),
        ("0*75", Decimal("0.75")),
        ("99999*99", Decimal("99999.99")),
        ("25*50#", Decimal("25.50")),
        # Zero and large amounts parse; card_pay.refusal turns them down with a reason.
        ("0", Decimal("0.00")),
        ("100000", Decimal("100000.00")),
    ],
)
def test_keyed_amount_parsed(keys: str, expected: Decimal) -> None:
    assert parse_amount(keys) == expected


@pytest.mark.parametrize("keys", ["", "*50", "25*505", "12345678", "2*5*0", "12a"])
def test_keyed_amount_rejected(keys: str) -> None:
    assert parse_amount(keys) is None
