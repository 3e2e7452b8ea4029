"""Paying with a new card through Twilio ``<Pay>`` and its Stripe Pay Connector.

    pay/amount (dollars * cents #, up to UPM_MAX_PHONE_PAYMENT) ──▶ collect ──▶ <Pay>
    <Pay> ──▶ pay/card/result
    result: success ──▶ read the charge from Stripe, post once ──▶ confirmation ──▶ menu
            caller-interrupted-with-star ──▶ "canceled, nothing charged" ──▶ menu
            caller-hung-up ──▶ nothing posts, nothing to say
            too-many-failed-attempts ──▶ person
            a decline or any error ──▶ first time: 1 retry, 0 person, * menu; then person

Card numbers never reach us: Twilio collects them and the connector charges them. The
webhook carries the card masked (``xxxxxxxxxxxx4242``), and only its brand and last four
digits are logged or stored.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from starlette.datastructures import FormData

from app.accounts.models import Account
from app.errors import DomainError
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.twilio_pay import post_pay_charge
from app.settings import get_settings
from ivr_flows import menu, pay, people
from ivr_flows.speech import N_, PAY_LANGUAGES, spoken_amount
from ivr_flows.turn import Line, Step, Turn, ask

log = logging.getLogger(__name__)

#: Keyed amounts: up to seven digits of dollars, then star and one or two digits of cents.
#: ``UPM_MAX_PHONE_PAYMENT`` bounds the amount; this only bounds the keys.
AMOUNT_KEYS = re.compile(r"(\d{1,7})(?:\*(\d{1,2}))?")
#: Card attempts the caller gets: the first and one retry after a decline.
MAX_TRIES = 2
#: Tries <Pay> gives the caller within one attempt to key a valid card, date and code.
PAY_MAX_ATTEMPTS = 2

#: Our prompts for <Pay>'s steps, spoken in the call's voice.
PAY_PROMPTS = {
    "payment-card-number": N_("Please enter your card number, then press the pound key."),
    "expiration-date": N_(
        "Please enter the expiration date: two digits for the month and two for the year."
    ),
    "security-code": N_("Please enter the security code on your card."),
    "postal-code": N_("Please enter the ZIP code of your card's billing address."),
    "payment-processing": N_("Please wait while we process your payment."),
}


#: Said again before the amount prompt when the keys were not an amount.
NOT_AN_AMOUNT = Line(
    N_(
        "Sorry, that is not an amount. Please enter an amount in dollars, then press pound; "
        "for cents, press star and two digits before pound."
    )
)


def parse_amount(keys: str) -> Decimal | None:
    """Return the amount of keys such as ``25*5`` (25.50), or None when it is not one."""
    matched = AMOUNT_KEYS.fullmatch(keys.strip().rstrip("#"))
    if matched is None:
        return None
    dollars, cents = matched.group(1), (matched.group(2) or "").ljust(2, "0")
    return Decimal(f"{int(dollars)}.{cents}")


def refusal(amount: Decimal | None, language: str) -> Line | None:
    """Return why a keyed amount cannot be paid by phone, or None when it can."""
    if amount is None:
        return NOT_AN_AMOUNT
    if amount <= 0:
        return Line(N_("Sorry, the amount must be more than zero."))
    limit = get_settings().max_phone_payment
    if amount > limit:
        return Line(
            N_(
                "Sorry, we can take at most %(limit)s in one payment by phone. "
                "Please enter a smaller amount."
            ),
            {"limit": spoken_amount(limit, language)},
        )
    return None


def ask_amount(turn: Turn, attempt: int = 1, refused: Line = NOT_AN_AMOUNT) -> None:
    ask(
        turn,
        prompt=Step.PAY_AMOUNT,
        action=Step.PAY_AMOUNT_ENTERED,
        attempt=attempt,
        fallback=people.fallback,
        num_digits=None,
        finish_on_key="#",
        rejected=(refused,),
        lines=[
            Line(
                N_(
                    "Enter the amount in dollars and cents, with the star key for the "
                    "decimal point, then press the pound key."
                )
            ),
            Line(N_("For example, for 25 dollars and 50 cents, press 2 5 star 5 0 pound.")),
        ],
    )


def amount_entered(turn: Turn) -> None:
    amount = parse_amount(turn.digits)
    refused = refusal(amount, turn.language)
    if refused is not None or amount is None:
        ask_amount(turn, turn.attempt + 1, refused or NOT_AN_AMOUNT)
        return
    collect(turn, amount, tries=1)


def collect(turn: Turn, amount: Decimal, *, tries: int) -> None:
    """Hand the caller to ``<Pay>`` for ``amount``; its result comes to ``pay/card/result``."""
    settings = get_settings()
    account = turn.session.get(Account, turn.call.account_id)
    assert account is not None, "the routes check that the call has an account"
    turn.call.pending_amount = amount
    turn.note("pay_new_card")
    turn.say(
        N_("You are paying %(amount)s with a new card. Press star at any time to cancel."),
        amount=spoken_amount(amount, turn.language),
    )
    verb = turn.response.pay(
        payment_connector=settings.twilio_pay_connector,
        charge_amount=f"{amount:.2f}",
        currency=settings.currency.lower(),
        action=turn.url(Step.PAY_CARD_RESULT, tries=tries),
        language=PAY_LANGUAGES[turn.language],
        max_attempts=PAY_MAX_ATTEMPTS,
        # The connector passes this on to the Stripe charge, so a clerk can match it.
        description=f"{settings.utility_name} account {account.number}",
    )
    for step, message in PAY_PROMPTS.items():
        turn.say(message, into=verb.prompt(for_=step))


def result(turn: Turn) -> None:
    outcome = str(turn.form.get("Result") or "")
    label = card_label(turn.form)
    log.info(
        "call %s: <Pay> result %s, card %s",
        turn.call.call_sid,
        outcome or "missing",
        label or "unknown",
    )
    turn.note(f"pay_card_{outcome or 'missing'}")
    if outcome == "success":
        _succeeded(turn, label)
    elif outcome == "caller-interrupted-with-star":
        turn.say(N_("Payment canceled. Nothing was charged."))
        menu.menu(turn)
    elif outcome == "caller-hung-up":
        return
    elif outcome == "too-many-failed-attempts":
        turn.say(N_("We could not read your card details. Nothing was charged."))
        people.person(turn)
    else:
        # payment-connector-error (a decline), validation-error, internal-error, or a
        # result Twilio adds later: nothing was charged that we know of.
        turn.say(N_("Your card was not accepted. Nothing was charged."))
        if turn.tries < MAX_TRIES:
            offer_retry(turn)
        else:
            people.person(turn)


def _succeeded(turn: Turn, label: str | None) -> None:
    code = str(turn.form.get("PaymentConfirmationCode") or "")
    account_id = turn.call.account_id
    assert account_id is not None, "the routes check that the call has an account"
    try:
        payment = post_pay_charge(
            turn.session,
            StripeGateway(),
            account_id=account_id,
            confirmation_code=code,
            call_sid=turn.call.call_sid,
            card_label=label,
            actor=f"ivr:{turn.call.call_sid}",
        )
    except DomainError as error:
        log.error(
            "call %s: <Pay> charge %r not posted: %s", turn.call.call_sid, code, error.message
        )
        turn.note("pay_card_unconfirmed")
        pay.unconfirmed(turn)
        return
    pay.paid(turn, payment)


def offer_retry(turn: Turn, attempt: int = 1) -> None:
    ask(
        turn,
        prompt=Step.PAY_CARD_FAILED,
        action=Step.PAY_CARD_RETRY,
        attempt=attempt,
        fallback=people.fallback,
        lines=[
            Line(N_("To try another card, press 1.")),
            Line(N_("To speak with a member of our staff, press 0.")),
            Line(N_("To return to the main menu, press star.")),
        ],
    )


def retry_choice(turn: Turn) -> None:
    amount = turn.call.pending_amount
    if turn.digits == "1" and amount is not None:
        collect(turn, amount, tries=MAX_TRIES)
    elif turn.digits == "0":
        people.person(turn)
    elif turn.digits == "*":
        menu.menu(turn)
    else:
        offer_retry(turn, turn.attempt + 1)


def card_label(form: FormData) -> str | None:
    """Return "Visa ending 4242" from the masked card Twilio reports, or None without one."""
    last4 = str(form.get("PaymentCardNumber") or "")[-4:]
    if len(last4) != 4 or not last4.isdigit():
        return None
    brand = str(form.get("PaymentCardType") or "card").replace("-", " ").title()
    return f"{brand} ending {last4}"[:60]
