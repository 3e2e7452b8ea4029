"""The main menu, heard once the caller is identified.

    menu ── 1 ──▶ balance (balance, amount due, due date, last payment) ──▶ menu
         ── 2 ──▶ pay
         ── 3 ──▶ report a problem ──▶ menu
         ── 4 ──▶ payment arrangement request ──▶ menu
         ── 0 ──▶ person

Every choice but pay and person ends with the menu again, so the caller can go on.
"""

from __future__ import annotations

from ivr_flows import balance, pay, people, report
from ivr_flows.speech import N_
from ivr_flows.turn import Line, Step, Turn, ask


def menu(turn: Turn, attempt: int = 1) -> None:
    ask(
        turn,
        prompt=Step.MENU,
        action=Step.MENU_CHOICE,
        attempt=attempt,
        fallback=people.fallback,
        lines=[
            Line(N_("For your balance and due date, press 1.")),
            Line(N_("To make a payment, press 2.")),
            Line(N_("To report a leak, no water, an outage or a meter problem, press 3.")),
            Line(N_("To ask for a payment arrangement, press 4.")),
            Line(N_("To speak with a member of our staff, press 0.")),
        ],
    )


def menu_choice(turn: Turn) -> None:
    choices = {
        "1": balance.read,
        "2": pay.start,
        "3": report.ask_problem,
        "4": people.arrangement,
        "0": people.person,
    }
    chosen = choices.get(turn.digits)
    if chosen is None:
        menu(turn, turn.attempt + 1)
    else:
        chosen(turn)
