"""Classify an inbound customer text as a keyword, in English or Spanish.

Matching ignores case, accents, punctuation, emoji and surrounding spaces, so
"¡Saldo! 💧" is BAL in Spanish and " stop. " is STOP in English. Only the first word
counts ("stop texting me" is STOP), unless the message is one of the multi-word forms:
OPT OUT, AUTO PAY, AUTO PAGO, and turning autopay off (AUTOPAY OFF, AUTOPAGO NO,
AUTOPAGO APAGAR). An autopay form may end with account digits ("AUTOPAY OFF 4567"), so a
number on several accounts can name one; OPT OUT must be the whole message.

NOTE: "cancel autopay" is STOP, because its first word is an opt-out keyword. Treating
an ambiguous opt-out as an opt-out is the safe reading for consent, so a reply should
tell the customer how to manage autopay.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from app.i18n import normalize_language


class Keyword(StrEnum):
    """A request that a customer can make by texting one word."""

    BAL = "BAL"
    PAY = "PAY"
    YES = "YES"
    NO = "NO"
    AUTOPAY = "AUTOPAY"
    AUTOPAY_OFF = "AUTOPAY OFF"
    BILL = "BILL"
    USAGE = "USAGE"
    LEAK = "LEAK"
    OUTAGE = "OUTAGE"
    HELP = "HELP"
    STOP = "STOP"
    START = "START"


#: Each accepted word, normalized, with its keyword and language. The language is None
#: for a word that both languages use, so the caller's default language applies.
WORDS: dict[str, tuple[Keyword, str | None]] = {
    "bal": (Keyword.BAL, "en"),
    "balance": (Keyword.BAL, "en"),
    "saldo": (Keyword.BAL, "es"),
    "pay": (Keyword.PAY, "en"),
    "pagar": (Keyword.PAY, "es"),
    "yes": (Keyword.YES, "en"),
    "si": (Keyword.YES, "es"),
    "no": (Keyword.NO, None),
    "autopay": (Keyword.AUTOPAY, "en"),
    "autopago": (Keyword.AUTOPAY, "es"),
    "bill": (Keyword.BILL, "en"),
    "factura": (Keyword.BILL, "es"),
    "usage": (Keyword.USAGE, "en"),
    "consumo": (Keyword.USAGE, "es"),
    "leak": (Keyword.LEAK, "en"),
    "fuga": (Keyword.LEAK, "es"),
    "outage": (Keyword.OUTAGE, "en"),
    "apagon": (Keyword.OUTAGE, "es"),
    "corte": (Keyword.OUTAGE, "es"),
    "help": (Keyword.HELP, "en"),
    "info": (Keyword.HELP, None),
    "ayuda": (Keyword.HELP, "es"),
    # Opt-out words. OPTOUT and REVOKE are accepted too, because a customer who sends
    # them means to opt out.
    "stop": (Keyword.STOP, "en"),
    "stopall": (Keyword.STOP, "en"),
    "unsubscribe": (Keyword.STOP, "en"),
    "cancel": (Keyword.STOP, "en"),
    "end": (Keyword.STOP, "en"),
    "quit": (Keyword.STOP, "en"),
    "optout": (Keyword.STOP, "en"),
    "revoke": (Keyword.STOP, "en"),
    "parar": (Keyword.STOP, "es"),
    "alto": (Keyword.STOP, "es"),
    "baja": (Keyword.STOP, "es"),
    "cancelar": (Keyword.STOP, "es"),
    # Opt-in words. YES is not one, because it replies to a question we asked.
    "start": (Keyword.START, "en"),
    "unstop": (Keyword.START, "en"),
    "comenzar": (Keyword.START, "es"),
    "iniciar": (Keyword.START, "es"),
}

#: Messages of more than one word that count only when they are the whole message.
PHRASES: dict[tuple[str, ...], tuple[Keyword, str | None]] = {
    ("opt", "out"): (Keyword.STOP, "en"),
    ("auto", "pay"): (Keyword.AUTOPAY, "en"),
    ("auto", "pago"): (Keyword.AUTOPAY, "es"),
    ("autopay", "off"): (Keyword.AUTOPAY_OFF, "en"),
    ("auto", "pay", "off"): (Keyword.AUTOPAY_OFF, "en"),
    ("autopago", "no"): (Keyword.AUTOPAY_OFF, "es"),
    ("autopago", "apagar"): (Keyword.AUTOPAY_OFF, "es"),
    ("auto", "pago", "no"): (Keyword.AUTOPAY_OFF, "es"),
    ("auto", "pago", "apagar"): (Keyword.AUTOPAY_OFF, "es"),
}

#: Phrase keywords that may be followed by the digits naming an account.
_WITH_DIGITS = {Keyword.AUTOPAY, Keyword.AUTOPAY_OFF}

# Runs of letters and digits. Emoji, punctuation and "_" are not word characters here.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Classification:
    """The keyword of a text (None when unknown) and the language to reply in."""

    keyword: Keyword | None
    language: str


def normalize_words(text: str) -> list[str]:
    """Split a text into lowercase words with accents, punctuation and emoji removed."""
    decomposed = unicodedata.normalize("NFKD", text)
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORD.findall(unaccented.casefold())


def classify(text: str, default_language: str = "en") -> Classification:
    """Classify an inbound text as a keyword and detect its language.

    The language is the keyword's own language. A word that both languages share (NO,
    INFO), an unknown word and an empty text take ``default_language``, which is
    normalized with :func:`app.i18n.normalize_language`.
    """
    fallback = normalize_language(default_language)
    words = normalize_words(text)
    if not words:
        return Classification(None, fallback)

    match = _phrase(words) or WORDS.get(words[0])
    if match is None:
        return Classification(None, fallback)

    keyword, language = match
    return Classification(keyword, language or fallback)


def _phrase(words: list[str]) -> tuple[Keyword, str | None] | None:
    """Match a multi-word form: the whole message, or an autopay form and account digits."""
    match = PHRASES.get(tuple(words))
    if match is not None:
        return match
    leading = list(words)
    while leading and leading[-1].isdigit():
        leading.pop()
    match = PHRASES.get(tuple(leading)) if len(leading) < len(words) else None
    return match if match is not None and match[0] in _WITH_DIGITS else None
