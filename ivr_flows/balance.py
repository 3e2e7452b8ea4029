"""The balance read-out: the account number, balance, amount due, due date, last payment."""

from __future__ import annotations

from app.accounts.models import Account
from app.calls.models import CallOutcome
from app.payments.channels import look_up
from ivr_flows import calls, menu
from ivr_flows.speech import N_, spoken_amount, spoken_date, spoken_digits
from ivr_flows.turn import Turn


def read(turn: Turn) -> None:
    account = turn.session.get(Account, turn.call.account_id)
    assert account is not None, "the routes check that the call has an account"
    owed = look_up(turn.session, account.id)
    language = turn.language

    turn.say(N_("Account %(number)s."), number=spoken_digits(account.number))
    if owed.balance < 0:
        turn.say(
            N_("You have a credit of %(amount)s."), amount=spoken_amount(owed.balance, language)
        )
    else:
        turn.say(N_("Your balance is %(amount)s."), amount=spoken_amount(owed.balance, language))

    if owed.amount_due > 0 and owed.due_date is not None:
        turn.say(
            N_("The amount due is %(amount)s, due %(date)s."),
            amount=spoken_amount(owed.amount_due, language),
            date=spoken_date(owed.due_date, language),
        )
    elif owed.amount_due > 0:
        turn.say(
            N_("The amount due is %(amount)s."), amount=spoken_amount(owed.amount_due, language)
        )
    else:
        turn.say(N_("Nothing is due now."))

    last = owed.last_payment
    if last is None:
        turn.say(N_("There are no payments on this account yet."))
    else:
        turn.say(
            N_("Your last payment was %(amount)s on %(date)s."),
            amount=spoken_amount(last.amount, language),
            date=spoken_date(last.received_on, language),
        )

    turn.note("balance")
    calls.settle(turn.call, CallOutcome.SELF_SERVED)
    menu.menu(turn)
