"""Who is calling: a verified caller ID, or the account number and the service ZIP code.

    start ──caller ID verified──▶ account ("1 for the account ending 4567 …, 9 for another")
      └──otherwise──▶ number (keys or speech, then #) ──▶ zip ──▶ menu

Nothing about an account is said before one of the two checks passes. A number and ZIP
code that do not match are refused with the same words whichever was wrong; each refusal
is audited with the numbers masked, and the third sends the caller to staff or the
office hours.
"""

from __future__ import annotations

import logging

from app.accounts.models import Account
from app.audit.service import record
from app.messaging.consent import masked_phone
from app.messaging.identity import account_by_number_and_zip, verified_accounts
from ivr_flows import menu, people
from ivr_flows.speech import N_, digits_from, spoken_digits
from ivr_flows.turn import MAX_ATTEMPTS, Line, Step, Turn, ask

log = logging.getLogger(__name__)

#: Keys 1 to 8 pick a caller's accounts; 9 is for another account number.
MAX_OFFERED = 8
OTHER_ACCOUNT_KEY = "9"


def start(turn: Turn) -> None:
    if _offered_accounts(turn):
        choose_account(turn)
    else:
        ask_number(turn)


def _offered_accounts(turn: Turn) -> list[Account]:
    return verified_accounts(turn.session, turn.caller)[:MAX_OFFERED]


def choose_account(turn: Turn, attempt: int = 1) -> None:
    accounts = _offered_accounts(turn)
    if not accounts:
        ask_number(turn, attempt)
        return
    lines = [
        Line(
            N_("For the account ending %(last4)s, press %(key)s."),
            {"last4": spoken_digits(account.number[-4:]), "key": key},
        )
        for key, account in enumerate(accounts, start=1)
    ]
    lines.append(Line(N_("To enter a different account number, press 9.")))
    ask(
        turn,
        prompt=Step.ACCOUNT,
        action=Step.ACCOUNT_CHOICE,
        attempt=attempt,
        fallback=people.fallback,
        lines=lines,
    )


def account_choice(turn: Turn) -> None:
    if turn.digits == OTHER_ACCOUNT_KEY:
        ask_number(turn)
        return
    accounts = _offered_accounts(turn)
    if turn.digits.isdigit() and 1 <= int(turn.digits) <= len(accounts):
        identified(turn, accounts[int(turn.digits) - 1], "caller_id")
        return
    choose_account(turn, turn.attempt + 1)


def ask_number(turn: Turn, attempt: int = 1) -> None:
    ask(
        turn,
        prompt=Step.NUMBER,
        action=Step.NUMBER_ENTERED,
        attempt=attempt,
        fallback=people.fallback,
        num_digits=None,
        speech=True,
        finish_on_key="#",
        rejected=[Line(N_("Sorry, that is not an account number."))],
        lines=[
            Line(
                N_(
                    "Please enter your account number on the keypad, or say it one digit "
                    "at a time, then press the pound key."
                )
            ),
        ],
    )


def number_entered(turn: Turn) -> None:
    number = digits_from(turn.digits, turn.speech)
    if not number:
        ask_number(turn, turn.attempt + 1)
        return
    turn.call.entered_number = number[:20]
    ask_zip(turn)


def ask_zip(turn: Turn, attempt: int = 1) -> None:
    ask(
        turn,
        prompt=Step.ZIP,
        action=Step.ZIP_ENTERED,
        attempt=attempt,
        fallback=people.fallback,
        num_digits=5,
        speech=True,
        rejected=[Line(N_("Sorry, a ZIP code has five digits."))],
        lines=[Line(N_("Please enter the five-digit ZIP code of your service address."))],
    )


def zip_entered(turn: Turn) -> None:
    zip_code = digits_from(turn.digits, turn.speech)
    if len(zip_code) != 5:
        ask_zip(turn, turn.attempt + 1)
        return
    number = turn.call.entered_number
    if number is None:
        ask_number(turn)
        return
    turn.call.entered_number = None
    account = account_by_number_and_zip(turn.session, number, zip_code)
    if account is None:
        _deny(turn, number)
        return
    identified(turn, account, "number_zip")


def _deny(turn: Turn, number: str) -> None:
    call = turn.call
    call.identify_failures += 1
    record(
        turn.session,
        actor=f"ivr:{masked_phone(turn.caller)}",
        action="ivr.identify",
        outcome="denied",
        arguments={
            "call_sid": call.call_sid,
            "account": masked_phone(number),
            "failures": call.identify_failures,
        },
    )
    log.info(
        "call %s: account %s and ZIP code did not match (%s of %s)",
        call.call_sid,
        masked_phone(number),
        call.identify_failures,
        MAX_ATTEMPTS,
    )
    turn.note("identify_denied")
    if call.identify_failures >= MAX_ATTEMPTS:
        turn.say(N_("Sorry, we could not verify your account."))
        people.fallback(turn)
        return
    turn.say(N_("Sorry, we could not find an account with that number and ZIP code."))
    ask_number(turn)


def identified(turn: Turn, account: Account, method: str) -> None:
    turn.call.account_id = account.id
    turn.note(f"identified_{method}")
    log.info(
        "call %s identified account %s by %s", turn.call.call_sid, account.masked_number, method
    )
    turn.say(N_("Thank you."))
    menu.menu(turn)
