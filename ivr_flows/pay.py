"""Paying: the amount due with the saved card, or a new card through ``<Pay>``.

    pay ── 1 ──▶ queue the saved-card charge (Celery) ──▶ check … check ──▶ menu
        ── 2 ──▶ card_pay.collect (the amount due)
        ── 3 ──▶ card_pay.ask_amount (an amount keyed in)
        ── * ──▶ menu

The prompt names the amount and the card, so pressing 1 confirms both. The charge goes
to Stripe from a Celery task, because Stripe may take seconds, and ``check`` reads the
payment by its idempotency key every few seconds, a bounded number of times.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.calls.models import CallOutcome
from app.payments.cards.models import SavedCard
from app.payments.cards.service import default_card
from app.payments.channels import look_up
from app.payments.models import Payment, PaymentStatus
from ivr_flows import calls, card_pay, menu, people, tasks
from ivr_flows.speech import N_, spoken_amount, spoken_digits
from ivr_flows.turn import Line, Step, Turn, ask

#: Checks of a queued charge before the caller is asked to look at the balance later.
MAX_CHECKS = 4
#: Seconds of silence before each look.
CHECK_PAUSE = 2


def start(turn: Turn, attempt: int = 1) -> None:
    account_id = turn.call.account_id
    assert account_id is not None, "the routes check that the call has an account"
    due = look_up(turn.session, account_id).amount_due
    card = default_card(turn.session, account_id)
    turn.call.pending_amount = due if due > 0 else None
    language = turn.language
    lines: list[Line] = []
    if due > 0:
        amount = spoken_amount(due, language)
        lines.append(Line(N_("The amount due is %(amount)s."), {"amount": amount}))
        if card is not None:
            lines.append(
                Line(
                    N_(
                        "To pay %(amount)s now with your saved card, a %(brand)s ending in "
                        "%(last4)s, press 1."
                    ),
                    {
                        "amount": amount,
                        "brand": card.brand.title(),
                        "last4": spoken_digits(card.last4),
                    },
                )
            )
        lines.append(Line(N_("To pay %(amount)s with a new card, press 2."), {"amount": amount}))
    else:
        lines.append(Line(N_("Nothing is due now.")))
    lines.append(Line(N_("To pay a different amount with a new card, press 3.")))
    lines.append(Line(N_("To return to the main menu, press star.")))
    ask(
        turn,
        prompt=Step.PAY,
        action=Step.PAY_CHOICE,
        attempt=attempt,
        fallback=people.fallback,
        lines=lines,
    )


def pay_choice(turn: Turn) -> None:
    amount = turn.call.pending_amount
    account_id = turn.call.account_id
    assert account_id is not None, "the routes check that the call has an account"
    card = default_card(turn.session, account_id)
    # UPM_MAX_PHONE_PAYMENT caps only keyed amounts (3): it guards against a mistyped
    # amount, while the amount due of 1 and 2 comes from the ledger, and a customer with
    # a large bill must still be able to pay it by phone.
    if turn.digits == "1" and amount is not None and card is not None:
        charge_saved_card(turn, card, amount)
    elif turn.digits == "2" and amount is not None:
        card_pay.collect(turn, amount, tries=1)
    elif turn.digits == "3":
        card_pay.ask_amount(turn)
    elif turn.digits == "*":
        menu.menu(turn)
    else:
        start(turn, turn.attempt + 1)


def charge_saved_card(turn: Turn, card: SavedCard, amount: Decimal) -> None:
    """Queue the charge once the call's transaction commits, then wait for its result."""
    call = turn.call
    key = f"ivr:{call.call_sid}:pay:{call.turn}"
    call.pending_payment_key = key
    call.pay_error = None
    call_sid, account_id, card_id = call.call_sid, call.account_id, card.id
    turn.after_commit.append(
        lambda: tasks.charge_saved_card.delay(call_sid, account_id, str(amount), key, card_id)
    )
    turn.note("pay_saved_card")
    turn.say(N_("Please wait while we process your payment."))
    turn.response.pause(length=CHECK_PAUSE)
    turn.redirect(Step.PAY_CHECK, attempt=1)


def check(turn: Turn) -> None:
    """Tell the caller how the queued charge went, or look again a little later."""
    call = turn.call
    if call.pending_payment_key is None:
        menu.menu(turn)
        return
    payment = turn.session.scalar(
        select(Payment).where(Payment.idempotency_key == call.pending_payment_key)
    )
    status = payment.status if payment is not None else None
    if payment is not None and status == PaymentStatus.SUCCEEDED:
        call.pending_payment_key = None
        paid(turn, payment)
    elif status in (PaymentStatus.FAILED, PaymentStatus.CANCELED) or (
        call.pay_error and call.pay_error != "gateway_unavailable"
    ):
        call.pending_payment_key = None
        turn.note("pay_saved_card_failed")
        turn.say(N_("We could not take this payment. Nothing was charged."))
        start(turn)
    elif call.pay_error is None and turn.attempt < MAX_CHECKS:
        turn.response.pause(length=CHECK_PAUSE)
        turn.redirect(Step.PAY_CHECK, attempt=turn.attempt + 1)
    else:
        # Stripe did not answer, or is still processing: the charge may yet go through.
        call.pending_payment_key = None
        turn.note("pay_saved_card_unknown")
        unconfirmed(turn)


def paid(turn: Turn, payment: Payment) -> None:
    turn.note("paid")
    calls.settle(turn.call, CallOutcome.SELF_SERVED)
    turn.say(
        N_(
            "Thank you. Your payment of %(amount)s is received. Your confirmation number is "
            "%(number)s."
        ),
        amount=spoken_amount(payment.amount, turn.language),
        number=spoken_digits(str(payment.id)),
    )
    menu.menu(turn)


def unconfirmed(turn: Turn) -> None:
    turn.say(
        N_(
            "We could not confirm your payment yet. Please check your balance later before "
            "you pay again."
        )
    )
    menu.menu(turn)
