"""The start of a call: a greeting in English and the language choice.

    incoming ──▶ language ("1 English, 2 Spanish") ──▶ identify.start

The language chosen holds for the rest of the call (``Call.language``). Until then every
re-prompt, and the transfer or the office hours after three tries, is said in both.
"""

from __future__ import annotations

from app.settings import get_settings
from ivr_flows import identify, people
from ivr_flows.speech import N_
from ivr_flows.turn import BOTH_LANGUAGES, Line, Step, Turn, ask

#: The key for each language on the greeting menu.
LANGUAGE_KEYS = {"1": "en", "2": "es"}


def incoming(turn: Turn) -> None:
    turn.say(N_("Thank you for calling %(utility)s."), utility=get_settings().utility_name)
    language(turn)


def language(turn: Turn, attempt: int = 1) -> None:
    ask(
        turn,
        prompt=Step.LANGUAGE,
        action=Step.LANGUAGE_CHOICE,
        attempt=attempt,
        fallback=lambda turn: people.fallback(turn, BOTH_LANGUAGES),
        languages=BOTH_LANGUAGES,
        lines=[
            Line(N_("For English, press 1."), language="en"),
            Line(N_("For Spanish, press 2."), language="es"),
        ],
    )


def language_choice(turn: Turn) -> None:
    chosen = LANGUAGE_KEYS.get(turn.digits)
    if chosen is None:
        language(turn, turn.attempt + 1)
        return
    turn.call.language = chosen
    identify.start(turn)
