"""The phone part of ``upm demo``: its own Stripe, the phone customers and their table."""

from __future__ import annotations

import atexit
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

from rich.table import Column, Table

from app.cli.common import clear_errors, console
from app.db import session_scope
from app.demo.demo_stripe import demo_files, demo_stripe
from app.demo.phone_customers import PhoneDemoReport, seed_phone_customers
from app.payments.cards.gateway import StripeGateway
from app.settings import Settings, get_settings


def start_phone_demo(settings: Settings, *, serve: bool) -> None:
    """Run ``phone_demo``; when the demo serves, keep its Stripe until the process exits."""
    stack = ExitStack()
    stack.enter_context(phone_demo(settings))
    if serve:
        atexit.register(stack.close)
        # uvicorn re-raises SIGTERM once it has shut down, which would end the process
        # without running atexit and leave localstripe running.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    else:
        stack.close()


def _exit_on_signal(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)


@contextmanager
def phone_demo(settings: Settings) -> Iterator[None]:
    """Start the demo's Stripe unless one is configured, seed the phone customers, print them.

    The demo's Stripe runs until the block ends, so the served app can charge cards.
    """
    with clear_errors(), demo_stripe(settings) as stripe:
        if stripe is not None:
            console.print(
                f"Stripe: localstripe at {stripe.api_base} for this demo only "
                f"(`upm sim call` finds it through {demo_files(settings)[0]})"
            )
        with session_scope() as session:
            report = seed_phone_customers(session, StripeGateway(get_settings()))
        print_phone_customers(report)
        yield


def print_phone_customers(report: PhoneDemoReport) -> None:
    # The phone and account numbers are what the tour types, so they never wrap or shrink.
    table = Table(
        Column("phone", no_wrap=True, min_width=12),
        Column("account", no_wrap=True, min_width=9),
        "customer",
        "language",
        "service ZIP",
        "amount due",
        "saved card",
        title="Phone customers (for `upm sim call` and `upm sim sms`)",
        title_justify="left",
    )
    for customer in report.customers:
        table.add_row(
            customer.phone,
            customer.account_number or "on no account",
            customer.name,
            customer.language,
            customer.zip_code,
            "" if customer.amount_due is None else f"{customer.amount_due:,.2f}",
            customer.card,
        )
    console.print(table)
    if report.cards_recreated:
        console.print(
            f"{report.cards_recreated} saved card(s) made again: the demo's Stripe had lost them"
        )
