"""Twilio's side of a voice call, one TwiML document at a time, for the call simulator.

``play_document`` runs a TwiML ``<Response>`` the way Twilio's voice engine does and
returns what the caller heard and the request Twilio would make next. It does no I/O of
its own: the caller's keys come from a ``Phone`` and a ``<Pay>`` charge goes through a
``PayConnector``, so tests drive it with scripted objects and no server.

Verbs and what the player does with them:

- ``<Say>``, ``<Play>``, ``<Pause>``: heard, then the next verb.
- ``<Gather>``: its nested verbs are heard, then the phone's input is posted to the
  action (``Digits``, or ``SpeechResult`` and ``Confidence``). On no input Twilio goes on
  to the next verb, or posts an empty ``Digits`` when ``actionOnEmptyResult="true"``.
- ``<Redirect>``: the next request, with no verb fields.
- ``<Pay>``: the card number is asked for up to ``maxAttempts`` times, the connector
  charges or tokenizes, and the action gets the ``Result`` fields with masked card data.
- ``<Dial>``: heard as a transfer; the simulated call ends there.
- ``<Hangup>``, ``<Reject>`` and the end of the document end the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Protocol
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

#: The key syntax for a caller's entry at a ``<Gather>`` or ``<Pay>`` prompt.
HANG_UP = "hangup"
SPEECH_PREFIX = "say:"
#: The recognition confidence sent with a simulated ``SpeechResult``.
SPEECH_CONFIDENCE = "0.92"
#: Card fields the simulated caller keys after the card number (a future expiry).
CARD_EXPIRY = ("12", "30")
CARD_SECURITY_CODE = "123"
CARD_POSTAL_CODE = "78701"
CARD_TYPES = (
    ("amex", re.compile(r"3[47]\d{13}")),
    ("visa", re.compile(r"4\d{12}(\d{3})?(\d{3})?")),
    ("mastercard", re.compile(r"(5[1-5]\d{14}|2[2-7]\d{14})")),
    ("discover", re.compile(r"6(011|5\d\d)\d{12}")),
)


class TwimlError(ValueError):
    """The app returned a document that is not TwiML the player can run."""


@dataclass(frozen=True)
class Heard:
    """One thing the caller hears or sees: spoken text, audio, a transfer, a hang-up."""

    kind: str
    text: str
    language: str | None = None
    voice: str | None = None


@dataclass(frozen=True)
class Entry:
    """The caller's answer to one prompt: keys, recognized speech, silence or a hang-up."""

    digits: str = ""
    speech: str | None = None
    hung_up: bool = False

    @classmethod
    def parse(cls, text: str) -> Entry:
        """Read the simulator's key syntax: ``123#``, ``say:100234567``, ``hangup`` or ``""``."""
        stripped = text.strip()
        if stripped.lower() == HANG_UP:
            return cls(hung_up=True)
        if stripped.lower().startswith(SPEECH_PREFIX):
            return cls(speech=stripped[len(SPEECH_PREFIX) :].strip())
        return cls(digits=stripped.replace(" ", ""))

    @property
    def empty(self) -> bool:
        return not self.digits and not self.speech and not self.hung_up


@dataclass(frozen=True)
class GatherPrompt:
    """The input a ``<Gather>`` accepts: keys, speech, how many and the end key."""

    inputs: frozenset[str]
    num_digits: int | None
    finish_on_key: str
    timeout: int
    language: str | None


@dataclass(frozen=True)
class PayPrompt:
    """The request of a ``<Pay>``: a charge of ``charge_amount``, or a token when it is 0."""

    charge_amount: Decimal
    currency: str
    description: str | None
    token_type: str | None
    connector: str
    valid_card_types: tuple[str, ...]
    max_attempts: int
    parameters: dict[str, str]
    attempt: int


@dataclass(frozen=True)
class Card:
    """A card the simulated caller keyed in; only the connector sees the full number."""

    number: str
    brand: str
    exp_month: str
    exp_year: str
    security_code: str
    postal_code: str

    @property
    def masked(self) -> str:
        return "x" * (len(self.number) - 4) + self.number[-4:]


@dataclass(frozen=True)
class ConnectorOutcome:
    """The payment connector's result: a charge or token id, or an error."""

    confirmation_code: str | None = None
    token: str | None = None
    profile_id: str | None = None
    error: str | None = None
    error_code: str | None = None


class Phone(Protocol):
    """The caller's side: hears each line and answers prompts."""

    def hear(self, line: Heard) -> None: ...

    def answer(self, prompt: GatherPrompt) -> Entry: ...

    def card_number(self, prompt: PayPrompt) -> Entry: ...


class PayConnector(Protocol):
    """The payment processor behind ``<Pay>`` (Stripe in the demo)."""

    def process(self, prompt: PayPrompt, card: Card) -> ConnectorOutcome: ...


@dataclass(frozen=True)
class NextRequest:
    """The request Twilio makes next: an absolute URL, its method and the verb's fields."""

    url: str
    method: str
    params: dict[str, str]


@dataclass
class Turn:
    """The result of one document: the lines heard, the next request, the end of the call."""

    heard: list[Heard] = field(default_factory=list)
    next: NextRequest | None = None
    #: None while the call goes on; "hangup", "transfer", "caller hung up", ...
    ended: str | None = None


def play_document(twiml: str, document_url: str, phone: Phone, connector: PayConnector) -> Turn:
    """Run one TwiML document fetched from ``document_url`` and return what it did."""
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError as error:
        raise TwimlError(f"the response is not XML ({error}): {twiml[:200]!r}") from error
    if root.tag != "Response":
        raise TwimlError(f"the document's root is <{root.tag}>, not <Response>")
    player = _Player(document_url, phone, connector)
    for verb in root:
        if player.play(verb):
            return player.turn
    player.turn.ended = "end of document"
    return player.turn


class _Player:
    def __init__(self, document_url: str, phone: Phone, connector: PayConnector) -> None:
        self.document_url = document_url
        self.phone = phone
        self.connector = connector
        self.turn = Turn()

    def hear(self, line: Heard) -> None:
        self.turn.heard.append(line)
        self.phone.hear(line)

    def play(self, verb: Element) -> bool:
        """Play one verb; return True when the document stops here."""
        if verb.tag in ("Say", "Play", "Pause"):
            self.speak(verb)
            return False
        if verb.tag == "Gather":
            return self.gather(verb)
        if verb.tag == "Redirect":
            self.turn.next = NextRequest(self.url(verb.text), _method(verb), {})
            return True
        if verb.tag == "Pay":
            return self.pay(verb)
        if verb.tag == "Dial":
            self.hear(Heard("dial", _dial_target(verb)))
            self.turn.ended = "transfer"
            return True
        if verb.tag in ("Hangup", "Reject"):
            self.hear(Heard("hangup", verb.tag.lower()))
            self.turn.ended = verb.tag.lower()
            return True
        self.hear(Heard("note", f"<{verb.tag}> is not simulated; the call ends"))
        self.turn.ended = f"unsupported <{verb.tag}>"
        return True

    def speak(self, verb: Element) -> None:
        if verb.tag == "Say":
            self.hear(Heard("say", _spoken(verb), verb.get("language"), verb.get("voice")))
        elif verb.tag == "Play":
            self.hear(Heard("play", (verb.text or "").strip() or "audio"))
        else:
            self.hear(Heard("pause", verb.get("length", "1")))

    def gather(self, verb: Element) -> bool:
        for child in verb:
            if child.tag in ("Say", "Play", "Pause"):
                self.speak(child)
        prompt = GatherPrompt(
            inputs=frozenset((verb.get("input") or "dtmf").split()),
            num_digits=_int(verb.get("numDigits")),
            finish_on_key=verb.get("finishOnKey", "#"),
            timeout=_int(verb.get("timeout")) or 5,
            language=verb.get("language"),
        )
        entry = self.phone.answer(prompt)
        if entry.hung_up:
            self.turn.ended = "caller hung up"
            return True
        params = _gather_fields(prompt, entry)
        if params is None:
            if verb.get("actionOnEmptyResult", "false").lower() != "true":
                return False
            params = {"Digits": ""} if "dtmf" in prompt.inputs else {}
        self.turn.next = NextRequest(self.url(verb.get("action")), _method(verb), params)
        return True

    def pay(self, verb: Element) -> bool:
        amount = _decimal(verb.get("chargeAmount"))
        base = PayPrompt(
            charge_amount=amount,
            currency=(verb.get("currency") or "usd").lower(),
            description=verb.get("description"),
            token_type=verb.get("tokenType"),
            connector=verb.get("paymentConnector") or "Default",
            valid_card_types=tuple((verb.get("validCardTypes") or "visa mastercard amex").split()),
            max_attempts=max(1, _int(verb.get("maxAttempts")) or 1),
            parameters={
                str(p.get("name")): str(p.get("value"))
                for p in verb.iter("Parameter")
                if p.get("name")
            },
            attempt=1,
        )
        params = self.collect_payment(verb, base)
        self.turn.next = NextRequest(self.url(verb.get("action")), _method(verb), params)
        if params["Result"] == "caller-hung-up":
            # Twilio still posts the action, but nobody is left to hear its answer.
            self.turn.ended = "caller hung up"
        return True

    def collect_payment(self, verb: Element, base: PayPrompt) -> dict[str, str]:
        fields = {"PaymentMethod": "credit-card"}
        error_type: str | None = None
        for attempt in range(1, base.max_attempts + 1):
            prompt = replace(base, attempt=attempt)
            if not self.play_prompt(verb, "payment-card-number", error_type, attempt):
                note = "Twilio asks for the card number"
                self.hear(Heard("note", note if error_type is None else f"{note} ({error_type})"))
            entry = self.phone.card_number(prompt)
            if entry.hung_up:
                return {**fields, "Result": "caller-hung-up"}
            if entry.digits.startswith("*"):
                return {**fields, "Result": "caller-interrupted-with-star"}
            number = entry.digits.rstrip("#")
            if not number:
                error_type = "timeout"
                continue
            card = _card(number, prompt.valid_card_types)
            if card is None:
                error_type = "invalid-card-number"
                continue
            asked = self.card_details(verb, attempt)
            outcome = self.connector.process(prompt, card)
            fields.update(_card_fields(card, asked))
            if outcome.error is not None:
                # NOTE: the error fields carry Stripe's decline code and message. Twilio's own
                # numeric error code for a connector error (64xxx) is not simulated.
                fields.update(
                    Result="payment-connector-error",
                    ConnectorError=outcome.error_code or "",
                    PaymentError=outcome.error,
                )
                return fields
            fields["Result"] = "success"
            if outcome.confirmation_code:
                fields["PaymentConfirmationCode"] = outcome.confirmation_code
            if outcome.token:
                fields["PaymentToken"] = outcome.token
            if outcome.profile_id:
                fields["ProfileId"] = outcome.profile_id
            return fields
        return {**fields, "Result": "too-many-failed-attempts"}

    def card_details(self, verb: Element, attempt: int) -> set[str]:
        """Play the prompts after the card number, which the caller answers with test values.

        Returns the steps asked: the expiry always, the security code and the ZIP code
        unless ``securityCode`` or ``postalCode`` is ``false``.
        """
        month, year = CARD_EXPIRY
        steps = [("expiration-date", month + year)]
        if verb.get("securityCode", "true").lower() != "false":
            steps.append(("security-code", CARD_SECURITY_CODE))
        if verb.get("postalCode", "true").lower() != "false":
            steps.append(("postal-code", CARD_POSTAL_CODE))
        for step, keys in steps:
            self.play_prompt(verb, step, None, attempt)
            self.hear(Heard("note", f"the caller keys {keys}"))
        self.play_prompt(verb, "payment-processing", None, attempt)
        return {step for step, _ in steps}

    def play_prompt(self, verb: Element, wanted: str, error_type: str | None, attempt: int) -> bool:
        """Play the app's ``<Prompt>`` for this step, error and attempt; False if it has none.

        A prompt with an ``errorType`` plays only after that error and one with an
        ``attempt`` list only on those attempts; after an error with no prompt of its own,
        the plain prompt plays again.
        """
        candidates = [
            prompt
            for prompt in verb.iter("Prompt")
            if prompt.get("for") == wanted
            and (not prompt.get("attempt") or str(attempt) in str(prompt.get("attempt")).split())
        ]
        chosen = [p for p in candidates if error_type in (p.get("errorType") or "").split()]
        chosen = chosen or [p for p in candidates if not p.get("errorType")]
        if not chosen:
            return False
        for child in chosen[0]:
            self.speak(child)
        return True

    def url(self, target: str | None) -> str:
        """Resolve an action or Redirect URL against the document's URL, as Twilio does."""
        return urljoin(self.document_url, (target or "").strip()) if target else self.document_url


def _gather_fields(prompt: GatherPrompt, entry: Entry) -> dict[str, str] | None:
    """Return the fields Twilio posts for the entry, or None when it heard nothing usable."""
    if entry.speech is not None and "speech" in prompt.inputs and entry.speech:
        return {"SpeechResult": entry.speech, "Confidence": SPEECH_CONFIDENCE}
    if not entry.digits or "dtmf" not in prompt.inputs:
        return None
    digits, finished_on = entry.digits, ""
    if prompt.finish_on_key and prompt.finish_on_key in digits:
        digits = digits.split(prompt.finish_on_key, 1)[0]
        finished_on = prompt.finish_on_key
    if prompt.num_digits is not None:
        digits = digits[: prompt.num_digits]
    if not digits:
        return None
    fields = {"Digits": digits}
    if finished_on:
        fields["FinishedOnKey"] = finished_on
    return fields


def _card(number: str, valid_types: tuple[str, ...]) -> Card | None:
    """Return the card when the number passes the Luhn check and is of an accepted brand."""
    if not number.isdigit() or not _luhn_valid(number):
        return None
    brand = next((name for name, pattern in CARD_TYPES if pattern.fullmatch(number)), None)
    if brand is None or brand not in valid_types:
        return None
    month, year = CARD_EXPIRY
    return Card(number, brand, month, year, CARD_SECURITY_CODE, CARD_POSTAL_CODE)


def _card_fields(card: Card, asked: set[str]) -> dict[str, str]:
    """Return the card fields Twilio posts to the action: masked number, type, expiry, ZIP."""
    fields = {
        "PaymentCardNumber": card.masked,
        "PaymentCardType": card.brand,
        "ExpirationDate": card.exp_month + card.exp_year,
    }
    if "postal-code" in asked:
        fields["PaymentCardPostalCode"] = card.postal_code
    if "security-code" in asked:
        fields["SecurityCode"] = "x" * len(card.security_code)
    return fields


def _luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _spoken(verb: Element) -> str:
    """Return the words of a ``<Say>``, reading SSML ``<sub>`` as its alias."""
    parts = [verb.text or ""]
    for child in verb:
        if child.tag == "sub" and child.get("alias"):
            parts.append(str(child.get("alias")))
        else:
            parts.append(_spoken(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _dial_target(verb: Element) -> str:
    nouns = [(child.text or "").strip() for child in verb]
    return " ".join(filter(None, [(verb.text or "").strip(), *nouns])) or "(no number)"


def _method(verb: Element) -> str:
    return (verb.get("method") or "POST").upper()


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation as error:
        raise TwimlError(f"<Pay chargeAmount={value!r}> is not a decimal amount") from error
