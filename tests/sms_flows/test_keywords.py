"""Keyword classification of inbound customer texts in English and Spanish."""

from __future__ import annotations

import pytest

from sms_flows.keywords import PHRASES, WORDS, Classification, Keyword, classify, normalize_words

K = Keyword

CASES: list[tuple[str, Keyword | None, str]] = [
    # English, one word.
    ("BAL", K.BAL, "en"),
    ("balance", K.BAL, "en"),
    ("pay", K.PAY, "en"),
    ("Yes", K.YES, "en"),
    ("autopay", K.AUTOPAY, "en"),
    ("BILL", K.BILL, "en"),
    ("usage", K.USAGE, "en"),
    ("Leak", K.LEAK, "en"),
    ("OUTAGE", K.OUTAGE, "en"),
    ("help", K.HELP, "en"),
    ("start", K.START, "en"),
    ("UNSTOP", K.START, "en"),
    # English opt-out variants.
    ("STOP", K.STOP, "en"),
    ("stopall", K.STOP, "en"),
    ("Unsubscribe", K.STOP, "en"),
    ("cancel", K.STOP, "en"),
    ("END", K.STOP, "en"),
    ("quit", K.STOP, "en"),
    ("optout", K.STOP, "en"),
    ("revoke", K.STOP, "en"),
    # Spanish, with and without accents.
    ("SALDO", K.BAL, "es"),
    ("pagar", K.PAY, "es"),
    ("si", K.YES, "es"),
    ("Sí", K.YES, "es"),
    ("SÍ", K.YES, "es"),
    ("autopago", K.AUTOPAY, "es"),
    ("Factura", K.BILL, "es"),
    ("consumo", K.USAGE, "es"),
    ("fuga", K.LEAK, "es"),
    ("apagon", K.OUTAGE, "es"),
    ("Apagón", K.OUTAGE, "es"),
    ("APAGÓN", K.OUTAGE, "es"),
    ("corte", K.OUTAGE, "es"),
    ("ayuda", K.HELP, "es"),
    ("parar", K.STOP, "es"),
    ("Alto", K.STOP, "es"),
    ("baja", K.STOP, "es"),
    ("cancelar", K.STOP, "es"),
    ("comenzar", K.START, "es"),
    ("INICIAR", K.START, "es"),
    # Spaces, punctuation and emoji around the word.
    (" stop. ", K.STOP, "en"),
    ("¡Saldo! 💧", K.BAL, "es"),
    ("¿saldo?", K.BAL, "es"),
    ("💧💧 leak!!!", K.LEAK, "en"),
    ("\tBILL\n", K.BILL, "en"),
    ('"pay"', K.PAY, "en"),
    ("👍 Sí 👍", K.YES, "es"),
    ("ＳＴＯＰ", K.STOP, "en"),  # full-width letters
    # Only the first word counts.
    ("stop texting me", K.STOP, "en"),
    ("Pay my bill please", K.PAY, "en"),
    ("yes, go ahead", K.YES, "en"),
    ("Sí, por favor", K.YES, "es"),
    ("fuga en la calle", K.LEAK, "es"),
    ("cancel autopay", K.STOP, "en"),
    ("STOP ALL", K.STOP, "en"),
    ("Dónde está mi factura", None, "en"),
    # Multi-word forms, only as the whole message.
    ("opt out", K.STOP, "en"),
    ("Opt-Out!", K.STOP, "en"),
    ("auto pay", K.AUTOPAY, "en"),
    ("AUTO-PAY", K.AUTOPAY, "en"),
    ("auto pago", K.AUTOPAY, "es"),
    ("opt out now", None, "en"),
    ("auto pay 4567", K.AUTOPAY, "en"),
    ("opt out 4567", None, "en"),
    ("auto pay off please", None, "en"),
    # Turning autopay off.
    ("AUTOPAY OFF", K.AUTOPAY_OFF, "en"),
    ("auto pay off", K.AUTOPAY_OFF, "en"),
    ("Autopay off!", K.AUTOPAY_OFF, "en"),
    ("AUTOPAY OFF 4567", K.AUTOPAY_OFF, "en"),
    ("autopago no", K.AUTOPAY_OFF, "es"),
    ("AUTOPAGO APAGAR", K.AUTOPAY_OFF, "es"),
    ("auto pago no", K.AUTOPAY_OFF, "es"),
    ("Autopago, apagar 4567", K.AUTOPAY_OFF, "es"),
    ("autopay of", K.AUTOPAY, "en"),
    # Unknown words.
    ("hello", None, "en"),
    ("balances", None, "en"),
    ("stopp", None, "en"),
    ("1234", None, "en"),
    ("", None, "en"),
    ("   ", None, "en"),
    ("💧🔥", None, "en"),
    ("?!", None, "en"),
    ("ok", None, "en"),
]


@pytest.mark.parametrize(("text", "keyword", "language"), CASES)
def test_classify_table(text: str, keyword: Keyword | None, language: str) -> None:
    assert classify(text) == Classification(keyword, language)


@pytest.mark.parametrize(
    ("text", "default_language", "expected"),
    [
        ("NO", "es", Classification(K.NO, "es")),
        ("no", "en", Classification(K.NO, "en")),
        ("No gracias", "es", Classification(K.NO, "es")),
        ("info", "es", Classification(K.HELP, "es")),
        ("INFO", "en", Classification(K.HELP, "en")),
        ("hola", "es", Classification(None, "es")),
        ("", "es-MX", Classification(None, "es")),
        # A word's own language wins over the default.
        ("saldo", "en", Classification(K.BAL, "es")),
        ("balance", "es", Classification(K.BAL, "en")),
        # An unsupported default becomes English.
        ("no", "fr", Classification(K.NO, "en")),
    ],
)
def test_classify_default_language(
    text: str, default_language: str, expected: Classification
) -> None:
    assert classify(text, default_language) == expected


def test_yes_is_not_opt_in() -> None:
    assert classify("YES").keyword is K.YES
    assert classify("YES").keyword is not K.START


def test_every_keyword_has_english_and_spanish_word() -> None:
    forms = [*WORDS.values(), *PHRASES.values()]
    for keyword in Keyword:
        languages = {language for found, language in forms if found is keyword}
        assert "en" in languages or None in languages, keyword
        assert "es" in languages or None in languages, keyword


def test_word_table_keys_normalized() -> None:
    for word in WORDS:
        assert normalize_words(word) == [word]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¡Saldo! 💧", ["saldo"]),
        ("  APAGÓN  en   Niño ", ["apagon", "en", "nino"]),
        ("opt-out", ["opt", "out"]),
        ("snake_case", ["snake", "case"]),
        ("", []),
    ],
)
def test_normalize_words(text: str, expected: list[str]) -> None:
    assert normalize_words(text) == expected
