"""``upm sim call PHONE``: play a phone call against a running app and print what it says.

The answers to the IVR's prompts come from ``--keys`` in order, or from the keyboard.
A card for ``<Pay>`` is charged in the demo's local Stripe, as Twilio's Stripe connector
would charge it; the app then sees only masked card fields. After the call, the texts the
app queued to the caller (a payment receipt) are printed.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import typer

from app.cli.sim_outbound import last_outbound_id, print_new_outbound
from app.demo.call_simulator import CallError, CallSetup, Transport, simulate_call
from app.demo.channels import check_phone, demo_secret, twilio_signing_token
from app.demo.demo_stripe import running_demo_stripe
from app.demo.pay_connector import StripePayConnector
from app.demo.twiml_player import Card, ConnectorOutcome, Entry, GatherPrompt, Heard, PayPrompt
from app.settings import get_settings

#: Each pause is played in real time, up to this many seconds.
MAX_PAUSE_SECONDS = 5.0


class PrintingPhone:
    """The caller: prints what the IVR says and answers from a list of keys or the keyboard.

    With a list, the caller hangs up when the list runs out.
    """

    def __init__(self, keys: list[str] | None, *, pause_scale: float = 1.0) -> None:
        self.keys = keys
        self.pause_scale = pause_scale

    def hear(self, line: Heard) -> None:
        if line.kind == "say":
            voice = ", ".join(filter(None, [line.language, line.voice]))
            typer.echo(f"IVR ({voice}): {line.text}" if voice else f"IVR: {line.text}")
        elif line.kind == "pause":
            seconds = min(float(line.text or 1), MAX_PAUSE_SECONDS) * self.pause_scale
            time.sleep(seconds)
        elif line.kind == "dial":
            typer.echo(f"-- transferred to {line.text}")
        elif line.kind == "hangup":
            typer.echo("-- the IVR hangs up")
        elif line.kind == "play":
            typer.echo(f"-- plays {line.text}")
        else:
            typer.echo(f"-- {line.text}")

    def answer(self, prompt: GatherPrompt) -> Entry:
        listens = " or ".join(sorted(prompt.inputs))
        return self._entry(f"keys ({listens}; empty for silence, hangup to hang up)")

    def card_number(self, prompt: PayPrompt) -> Entry:
        return self._entry(f"card number (attempt {prompt.attempt}; * cancels)", secret=True)

    def _entry(self, label: str, *, secret: bool = False) -> Entry:
        if self.keys is None:
            try:
                text = input(f"   {label}> ")
            except EOFError:
                text = "hangup"
        elif self.keys:
            text = self.keys.pop(0)
            shown = _masked_card(text) if secret else text
            typer.echo(f"   caller> {shown}" if shown else "   caller> (silence)")
        else:
            typer.echo("   caller> (no keys left: hangs up)")
            text = "hangup"
        return Entry.parse(text)


class PrintingConnector:
    """The Stripe connector, printing what it did so the person at the keyboard sees it."""

    def __init__(self, connector: StripePayConnector) -> None:
        self.connector = connector

    def process(self, prompt: PayPrompt, card: Card) -> ConnectorOutcome:
        what = f"charge of {prompt.charge_amount} {prompt.currency.upper()}"
        if prompt.charge_amount <= 0:
            what = "card token"
        outcome = self.connector.process(prompt, card)
        if outcome.error is not None:
            typer.echo(f"-- Stripe: {what} failed for card {card.masked}: {outcome.error}")
        else:
            made = outcome.confirmation_code or outcome.token
            typer.echo(f"-- Stripe: {what} on card {card.masked}: {made}")
        return outcome


def call_command(
    phone: str = typer.Argument(
        ..., help="Caller's number in E.164 form, such as +15550100123.", callback=check_phone
    ),
    keys: str | None = typer.Option(
        None,
        help="Answers to the IVR's prompts in order, separated by commas: keys such as 1 or "
        "100234567#, say:WORDS for speech, an empty entry for silence, hangup, and a card "
        "number at a <Pay> prompt. The caller hangs up when they run out. Without this "
        "option the answers are read from the keyboard.",
    ),
    to: str | None = typer.Option(
        None, help="The number called; default UPM_TWILIO_BILLING_NUMBER or the from-number."
    ),
    url: str = typer.Option("http://127.0.0.1:8000", help="Base URL of the running app."),
    call_sid: str | None = typer.Option(
        None, help="CallSid for the whole call; a new random one by default."
    ),
    max_requests: int = typer.Option(
        80, min=1, help="Stop the call after this many requests to the app."
    ),
    wait: float = typer.Option(
        2.0, min=0, help="Seconds to wait for texts the app queues to PHONE after the call."
    ),
) -> None:
    """Play a signed phone call against the app and print what the IVR says."""
    settings = get_settings()
    after_id = last_outbound_id(phone)
    auth_token = twilio_signing_token(settings.twilio_auth_token)
    stripe_base, stripe_key = settings.stripe_api_base, settings.stripe_secret_key
    if not stripe_key:
        demo = running_demo_stripe(settings)
        if demo is not None:
            stripe_base, stripe_key = demo.api_base, demo.secret_key
    setup = CallSetup(
        caller=phone,
        called=to or settings.billing_number or demo_secret("UPM_TWILIO_FROM_NUMBER"),
        public_base_url=settings.public_base_url,
        auth_token=auth_token,
        account_sid=settings.twilio_account_sid or "AC" + "0" * 32,
        max_requests=max_requests,
        **({"call_sid": call_sid} if call_sid else {}),
    )
    answers = keys.split(",") if keys is not None else None
    if answers is None and not sys.stdin.isatty():
        answers = [line.rstrip("\n") for line in sys.stdin]
    typer.echo(f"call {setup.call_sid} from {phone} to {setup.called or '(no number)'}")
    try:
        record = simulate_call(
            setup,
            PrintingPhone(answers),
            PrintingConnector(StripePayConnector(stripe_base, stripe_key)),
            http_transport(url),
        )
    except urllib.error.URLError as error:
        typer.echo(
            f"could not reach {url}: {error.reason}; is `upm demo` or `upm serve` running?",
            err=True,
        )
        raise typer.Exit(1) from error
    except CallError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"call ended ({record.ended}) after {len(record.requests)} requests; "
        f"status callback: HTTP {record.status_callback}"
    )
    if after_id is not None:
        print_new_outbound(phone, after_id, wait)
    if record.ended.startswith("application error") or record.ended.startswith("stopped"):
        raise typer.Exit(1)


def http_transport(app_url: str) -> Transport:
    """Return a transport that sends each request to the app at ``app_url`` over HTTP."""

    def send(
        method: str, path: str, fields: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, str]:
        data = urlencode(fields).encode() if method != "GET" else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own app
            app_url.rstrip("/") + path,
            data=data,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    return send


def _masked_card(text: str) -> str:
    digits = text.strip()
    if len(digits) >= 12 and digits.isdigit():
        return "x" * (len(digits) - 4) + digits[-4:]
    return digits
