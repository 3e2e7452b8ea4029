"""One webhook request of a call: its step, the call record, and the TwiML being built.

Every URL the IVR hands Twilio is absolute (the public base URL, so it is the URL Twilio
signs) and carries ``v``, the call's turn number when the document was made. The step
and ``v`` together name a request once, so a repeated delivery is recognised while a
second visit to the same menu in the same call is not. Prompts that wait for keys also
carry ``a``, the attempt: no input or a wrong key comes back with ``a`` one higher, and
after ``MAX_ATTEMPTS`` the caller goes to a person or hears the office hours.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from twilio.twiml import TwiML
from twilio.twiml.voice_response import Gather, VoiceResponse

from app.calls.models import Call
from app.settings import get_settings
from ivr_flows.speech import N_, translate, voice_for

#: Tries at one prompt (the first and two re-prompts) before the caller is helped otherwise.
MAX_ATTEMPTS = 3
#: Seconds ``<Gather>`` waits for the first key.
KEY_TIMEOUT = 6
#: Both languages, for what is said before the caller chose one.
BOTH_LANGUAGES = ("en", "es")


class Step(enum.StrEnum):
    """The path of each step under ``/twilio/voice``; ``routes.py`` maps them to handlers."""

    INCOMING = ""
    LANGUAGE = "language"
    LANGUAGE_CHOICE = "language/choice"
    ACCOUNT = "account"
    ACCOUNT_CHOICE = "account/choice"
    NUMBER = "number"
    NUMBER_ENTERED = "number/entered"
    ZIP = "zip"
    ZIP_ENTERED = "zip/entered"
    MENU = "menu"
    MENU_CHOICE = "menu/choice"
    PAY = "pay"
    PAY_CHOICE = "pay/choice"
    PAY_CHECK = "pay/check"
    PAY_AMOUNT = "pay/amount"
    PAY_AMOUNT_ENTERED = "pay/amount/entered"
    PAY_CARD_RESULT = "pay/card/result"
    PAY_CARD_FAILED = "pay/card/failed"
    PAY_CARD_RETRY = "pay/card/retry"
    REPORT = "report"
    REPORT_CHOICE = "report/choice"
    PERSON = "person"
    PERSON_CHOICE = "person/choice"
    PERSON_DIALED = "person/dialed"


@dataclass(frozen=True)
class Line:
    """One sentence of a prompt: a catalog msgid, its values, and its language if not the call's."""

    message: str
    values: dict[str, object] = field(default_factory=dict)
    language: str | None = None


#: What a menu says before its choices again when the key pressed is not one of them.
WRONG_KEY = Line(N_("Sorry, that key is not one of the choices. Please press one of these keys."))


@dataclass
class Turn:
    """The state one step handler reads and the response it writes."""

    session: Session
    call: Call
    form: FormData
    step: Step
    #: The attempt of the prompt this request answers (``a`` in the URL).
    attempt: int
    #: The ``<Pay>`` attempt this request answers (``t`` in the URL).
    tries: int
    now: dt.datetime
    response: VoiceResponse = field(default_factory=VoiceResponse)
    #: Work to start once the transaction has committed, such as queueing a charge.
    after_commit: list[Callable[[], object]] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.call.language

    @property
    def caller(self) -> str:
        return str(self.form.get("From") or "")

    @property
    def digits(self) -> str:
        return str(self.form.get("Digits") or "").strip()

    @property
    def speech(self) -> str:
        return str(self.form.get("SpeechResult") or "")

    def text(self, message: str, **values: object) -> str:
        return translate(self.language, message, **values)

    def say(
        self,
        message: str,
        *,
        into: TwiML | None = None,
        language: str | None = None,
        **values: object,
    ) -> None:
        """Add a ``<Say>`` of a catalog message with the voice of the call's language."""
        language = language or self.language
        voice = voice_for(language)
        target = into if into is not None else self.response
        target.say(
            translate(language, message, **values), voice=voice.voice, language=voice.language
        )

    def url(self, step: Step, *, attempt: int = 1, tries: int | None = None) -> str:
        query: dict[str, int] = {"v": self.call.turn, "a": attempt}
        if tries is not None:
            query["t"] = tries
        base = get_settings().public_base_url.rstrip("/")
        path = "/twilio/voice" + (f"/{step.value}" if step.value else "")
        return f"{base}{path}?{urlencode(query)}"

    def gather(
        self,
        action: Step,
        *,
        attempt: int,
        num_digits: int | None = 1,
        speech: bool = False,
        finish_on_key: str | None = None,
        timeout: int = KEY_TIMEOUT,
    ) -> Gather:
        """Add a ``<Gather>`` that posts to ``action``; the caller adds its prompts."""
        voice = voice_for(self.language)
        options: dict[str, object] = {}
        if speech:
            options["speech_timeout"] = "auto"
        return self.response.gather(
            input="dtmf speech" if speech else "dtmf",
            action=self.url(action, attempt=attempt),
            method="POST",
            timeout=timeout,
            num_digits=num_digits,
            finish_on_key=finish_on_key,
            language=voice.language,
            **options,
        )

    def redirect(self, step: Step, *, attempt: int = 1, tries: int | None = None) -> None:
        self.response.redirect(self.url(step, attempt=attempt, tries=tries), method="POST")

    def note(self, label: str) -> None:
        """Add a step or an event to the call's path."""
        self.call.path = [*self.call.path, label][-200:]


def ask(
    turn: Turn,
    *,
    prompt: Step,
    action: Step,
    attempt: int,
    lines: Sequence[Line],
    fallback: Callable[[Turn], None],
    num_digits: int | None = 1,
    speech: bool = False,
    finish_on_key: str | None = None,
    rejected: Sequence[Line] = (WRONG_KEY,),
    languages: Sequence[str] | None = None,
) -> None:
    """Ask for keys: a ``<Gather>`` to ``action``, then a ``<Redirect>`` for no input.

    The redirect goes to ``prompt`` with the attempt one higher, and an attempt past
    ``MAX_ATTEMPTS`` calls ``fallback`` instead of asking again. A second attempt starts
    with ``rejected`` when the caller's keys or words at ``action`` were refused, and with
    "Sorry, I did not get that." after silence. Those lines are said in each of
    ``languages`` (the call's language when None); the ``lines`` carry their own.
    """
    if attempt > MAX_ATTEMPTS:
        fallback(turn)
        return
    if attempt > 1:
        answered = turn.step == action and bool(turn.digits or turn.speech)
        apology = rejected if answered else (Line(N_("Sorry, I did not get that.")),)
        for language in languages or (turn.language,):
            for line in apology:
                turn.say(line.message, language=line.language or language, **line.values)
    gather = turn.gather(
        action,
        attempt=attempt,
        num_digits=num_digits,
        speech=speech,
        finish_on_key=finish_on_key,
    )
    for line in lines:
        turn.say(line.message, into=gather, language=line.language, **line.values)
    turn.redirect(prompt, attempt=attempt + 1)
