"""What the IVR says and how: voices, translated prompts, and numbers made speakable.

Text-to-speech reads ``100234567`` as one large number, so account and confirmation
numbers are spoken digit by digit (digits separated by spaces). Amounts are spoken as
dollars and cents, without a thousands separator, because ``1,234`` is read as a decimal
in Spanish. Dates are spoken as the language writes them (``March 12, 2024``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_time

from app.i18n import BABEL_LOCALES, format_date, normalize_language, translations


def N_(message: str) -> str:  # noqa: N802 - the gettext marker Babel extracts
    """Mark ``message`` as a catalog msgid; it is translated when spoken."""
    return message


@dataclass(frozen=True)
class Voice:
    """The ``language`` and ``voice`` attributes of every ``<Say>`` in one language."""

    language: str
    voice: str


#: The voice of each supported language.
VOICES = {
    "en": Voice("en-US", "Polly.Joanna"),
    "es": Voice("es-MX", "Polly.Mia"),
}

#: Amazon Polly's standard voices for the locales we may use, from Polly's "Available
#: voices" table (docs.aws.amazon.com/polly/latest/dg/available-voices.html). Twilio names
#: them ``Polly.<name>``, and a voice given a language it does not speak makes ``<Say>``
#: fail, so a test checks ``VOICES`` against this table.
POLLY_VOICES = {
    "en-US": {"Ivy", "Joanna", "Kendra", "Kimberly", "Salli", "Joey", "Justin", "Matthew"},
    "es-MX": {"Mia"},
    "es-US": {"Lupe", "Penelope", "Miguel"},
}

#: The ``language`` of ``<Pay>``, which picks the language of Twilio's own payment
#: prompts (our ``<Prompt>`` elements replace the main ones).
# NOTE: Twilio's <Pay> reference lists es-US and es-ES but not es-MX as far as we could
# check, so Spanish calls use es-US there.
PAY_LANGUAGES = {"en": "en-US", "es": "es-US"}


def voice_for(language: str) -> Voice:
    return VOICES[normalize_language(language)]


def translate(language: str, message: str, **values: object) -> str:
    """Return ``message`` from the catalog of ``language`` with its placeholders filled."""
    text = translations(language).gettext(message)
    return text % values if values else text


def spoken_digits(number: str) -> str:
    """Return ``100234567`` as ``1 0 0 2 3 4 5 6 7``, so each digit is read on its own."""
    return " ".join(character for character in number if character.isdigit())


def spoken_amount(amount: Decimal, language: str) -> str:
    """Return an amount in words for dollars and cents, such as ``1234 dollars and 50 cents``.

    The sign is dropped: callers say "balance" or "credit" around it.
    """
    cents_total = int((abs(amount) * 100).to_integral_value())
    dollars, cents = divmod(cents_total, 100)
    dollar_text = _count(language, dollars, N_("1 dollar"), N_("%(count)s dollars"))
    if cents == 0:
        return dollar_text
    cent_text = _count(language, cents, N_("1 cent"), N_("%(count)s cents"))
    if dollars == 0:
        return cent_text
    return translate(
        language, N_("%(dollars)s and %(cents)s"), dollars=dollar_text, cents=cent_text
    )


def _count(language: str, count: int, one: str, many: str) -> str:
    return translate(language, one) if count == 1 else translate(language, many, count=count)


def spoken_date(day: dt.date, language: str) -> str:
    """Return a local date as the language writes it out, such as ``12 de marzo de 2024``."""
    return format_date(day, language, style="long")


def spoken_time(clock: dt.time, language: str) -> str:
    """Return a clock time such as ``8:00 AM`` or ``8:00 a.m.``, with plain spaces."""
    locale = BABEL_LOCALES[normalize_language(language)]
    return format_time(clock, format="short", locale=locale).replace("\u202f", " ")


_ENGLISH_DIGITS = "zero one two three four five six seven eight nine".split()
_SPANISH_DIGITS = "cero uno dos tres cuatro cinco seis siete ocho nueve".split()
#: Number words a caller may say, in English and Spanish; "oh" is a common zero.
_DIGIT_WORDS = {
    word: str(value)
    for words in (_ENGLISH_DIGITS, _SPANISH_DIGITS)
    for value, word in enumerate(words)
} | {"oh": "0", "una": "1"}
_TOKENS = re.compile(r"\d+|[^\W\d_]+")


def digits_from(keyed: str, said: str = "") -> str:
    """Return the digits a caller keyed, or else the digits in what they said.

    Speech recognition returns ``100 234 567``, ``1 0 0 2`` or number words; words that
    are not digits are ignored.
    """
    keyed_digits = "".join(character for character in keyed if character.isdigit())
    if keyed_digits:
        return keyed_digits
    found = []
    for token in _TOKENS.findall(said.casefold()):
        if token.isdigit():
            found.append(token)
        elif token in _DIGIT_WORDS:
            found.append(_DIGIT_WORDS[token])
    return "".join(found)
