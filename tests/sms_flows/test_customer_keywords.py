"""Customer keywords through the signed webhook, in English and Spanish.

The reply language is the keyword's own (SALDO gets Spanish from any customer), and a word
both languages share, or an unknown one, gets the customer's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.billing.models import Bill, BillMeterSegment
from app.inbound.models import InboundEvent
from app.payments.cards.models import PaymentLink
from app.premises.models import ServiceAgreement
from app.settings import Settings
from tests.app.factories import City
from tests.payments.helpers import issue_bill
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    SPANISH_PHONE,
    Household,
    add_household,
    post_payment,
    reply_of,
)

HELP_EN = (
    "City of Riverbend Utilities: text BAL for your balance, PAY to pay, BILL, USAGE, "
    "AUTOPAY, or LEAK or OUTAGE to report a problem. Support: +15125550100. "
    "Reply STOP to stop texts. Msg and data rates may apply."
)
HELP_ES = (
    "City of Riverbend Utilities: escriba SALDO para su saldo, PAGAR para pagar, FACTURA, "
    "CONSUMO, AUTOPAGO, o FUGA o CORTE para reportar un problema. Ayuda: +15125550100. "
    "Responda PARAR para dejar de recibir textos. Pueden aplicar cargos por mensajes y datos."
)
UNKNOWN_EN = (
    "Sorry, we did not understand. Text BAL, PAY, BILL, USAGE, AUTOPAY, LEAK, OUTAGE or HELP."
)
UNKNOWN_ES = (
    "No entendimos su mensaje. Escriba SALDO, PAGAR, FACTURA, CONSUMO, AUTOPAGO, FUGA, CORTE "
    "o AYUDA."
)


def balance_en(last4: str) -> str:
    return f"Account ending {last4}: $84.12 is due December 10, 2026. Text PAY to pay it."


def balance_es(last4: str) -> str:
    return (
        f"Cuenta que termina en {last4}: debe $84.12, con vencimiento el 10 de diciembre de "
        "2026. Escriba PAGAR para pagarlo."
    )


def test_bal_in_english(sms: Callable[..., Any], households: dict[str, Household]) -> None:
    reply = reply_of(sms(CUSTOMER_PHONE, "BAL"))

    assert reply == balance_en(households["en"].last4)


def test_saldo_in_spanish(sms: Callable[..., Any], households: dict[str, Household]) -> None:
    reply = reply_of(sms(SPANISH_PHONE, "saldo"))

    assert reply == balance_es(households["es"].last4)


def test_keyword_language_beats_customer_language(
    sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    assert reply_of(sms(SPANISH_PHONE, "Balance")) == balance_en(households["es"].last4)
    assert reply_of(sms(CUSTOMER_PHONE, "¡Saldo!")) == balance_es(households["en"].last4)


def test_bal_shows_past_due_part(
    sms: Callable[..., Any], households: dict[str, Household], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One day after the due date, all of the 84.12 is past due.
    monkeypatch.setattr(Settings, "today", lambda self: dt.date(2026, 12, 11))

    reply = reply_of(sms(CUSTOMER_PHONE, "BAL"))

    assert reply == (
        f"Account ending {households['en'].last4}: $84.12 is due December 10, 2026. "
        "$84.12 of it is past due. Text PAY to pay it."
    )


def test_bal_with_credit(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    # A payment of 100.00 against the 84.12 bill leaves a credit of 15.88.
    post_payment(session, households["en"].account_id, "100.00", "overpaid")

    reply = reply_of(sms(CUSTOMER_PHONE, "bal"))

    assert reply == (
        f"Account ending {households['en'].last4} has a credit of $15.88. Nothing is due."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [("BAL", "Account ending {last4}: nothing is due."),
     ("SALDO", "Cuenta que termina en {last4}: no debe nada.")],
)
def test_bal_with_nothing_due(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    body: str, expected: str,
) -> None:
    # A payment of 84.12 against the 84.12 bill leaves 0.00.
    post_payment(session, households["en"].account_id, "84.12", "paid")

    reply = reply_of(sms(CUSTOMER_PHONE, body))

    assert reply == expected.format(last4=households["en"].last4)


@pytest.mark.parametrize("body", ["HELP", "help!", "Info"])
def test_help_in_english(sms: Callable[..., Any], households: dict[str, Household],
                         body: str) -> None:
    assert reply_of(sms(CUSTOMER_PHONE, body)) == HELP_EN


@pytest.mark.parametrize("body", ["AYUDA", "ayuda", " Ayuda. "])
def test_ayuda_in_spanish(sms: Callable[..., Any], households: dict[str, Household],
                          body: str) -> None:
    assert reply_of(sms(CUSTOMER_PHONE, body)) == HELP_ES


def test_info_in_customer_language(
    sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    assert reply_of(sms(SPANISH_PHONE, "INFO")) == HELP_ES


def test_unknown_text_gets_short_help(
    sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    assert reply_of(sms(CUSTOMER_PHONE, "hello there")) == UNKNOWN_EN
    assert reply_of(sms(SPANISH_PHONE, "hola")) == UNKNOWN_ES
    assert reply_of(sms(CUSTOMER_PHONE, "")) == UNKNOWN_EN
    assert reply_of(sms(CUSTOMER_PHONE, "💧💧")) == UNKNOWN_EN


@pytest.mark.parametrize("body", [" PAY ", "Pay.", "pay 💧", "PAY\n"])
def test_pay_matches_despite_noise(
    session: Session, sms: Callable[..., Any], households: dict[str, Household], body: str
) -> None:
    # No saved card, so PAY answers with a payment link for the amount due.
    reply = reply_of(sms(CUSTOMER_PHONE, body))

    link = session.scalars(select(PaymentLink)).one()
    assert reply == (
        f"Pay $84.12 for account ending {households['en'].last4} at "
        f"https://upm.example.test/pay/{link.token} (the link works for 72 hours)."
    )
    assert link.amount == Decimal("84.12")
    assert link.channel == "sms"
    assert link.account_id == households["en"].account_id


def test_pagar_link_in_spanish(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    reply = reply_of(sms(SPANISH_PHONE, "PAGAR"))

    link = session.scalars(select(PaymentLink)).one()
    assert reply == (
        f"Pague $84.12 de la cuenta que termina en {households['es'].last4} en "
        f"https://upm.example.test/pay/{link.token} (el enlace vale por 72 horas)."
    )


def test_pay_with_nothing_owed(
    session: Session, customer_city: City, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    paid_up = add_household(session, customer_city, phone="+15550100130", total="84.12")
    # The bill is paid in full by a posted payment of 84.12.
    post_payment(session, paid_up.account_id, "84.12", "paid")

    reply = reply_of(sms("+15550100130", "PAY"))

    assert reply == (
        f"Nothing is due on account ending {paid_up.last4}, so there is nothing to pay."
    )
    assert session.scalar(select(func.count()).select_from(PaymentLink)) == 0


def add_usage(session: Session, household: Household, city: City) -> None:
    """Read 2,800, 5,100, 3,200 and 4,000 gallons on bills for Aug to Nov 2026.

    The household's own bill is the October one.
    """
    agreement_id = session.scalars(
        select(ServiceAgreement.id).where(ServiceAgreement.account_id == household.account_id)
    ).first()
    assert agreement_id is not None
    account = session.get_one(Account, household.account_id)
    for month, gallons in [(8, "2800"), (9, "5100"), (10, "3200"), (11, "4000")]:
        start = dt.date(2026, month, 1)
        if month == 10:
            bill = session.get_one(Bill, household.bill_id)
        else:
            bill = issue_bill(session, city, account, "30.00", period_start=start)
        session.add(BillMeterSegment(
            bill_id=bill.id, service_agreement_id=agreement_id, meter_serial="W-100",
            start_date=start, start_value=Decimal("0"), end_date=start + dt.timedelta(days=29),
            end_value=Decimal(gallons), consumption=Decimal(gallons), unit="gal",
        ))
    session.flush()


def test_usage_lists_latest_three_periods(
    session: Session, customer_city: City, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    household = add_household(session, customer_city, phone="+15550100131")
    add_usage(session, household, customer_city)
    session.commit()

    reply = reply_of(sms("+15550100131", "USAGE"))

    assert reply == (
        f"Use on account ending {household.last4}: Nov 2026 4,000 gal; Oct 2026 3,200 gal; "
        "Sep 2026 5,100 gal. Text BILL for your latest bill."
    )


def test_consumo_in_spanish(
    session: Session, customer_city: City, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    household = add_household(session, customer_city, phone="+15550100132", language="es")
    add_usage(session, household, customer_city)
    session.commit()

    reply = reply_of(sms("+15550100132", "consumo"))

    assert reply == (
        f"Consumo de la cuenta que termina en {household.last4}: nov 2026 4,000 gal; "
        "oct 2026 3,200 gal; sep 2026 5,100 gal. Escriba FACTURA para recibir su factura."
    )


def test_usage_without_reads(sms: Callable[..., Any], households: dict[str, Household]) -> None:
    # The household's only bill was posted without meter reads.
    reply = reply_of(sms(CUSTOMER_PHONE, "usage"))

    assert reply == (
        f"Account ending {households['en'].last4} has no billed use on record yet."
    )


def test_every_text_claimed_once(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    first = reply_of(sms(CUSTOMER_PHONE, "BAL", sid="SM000000000000000000000000000000b1"))
    again = reply_of(sms(CUSTOMER_PHONE, "BAL", sid="SM000000000000000000000000000000b1"))

    assert first == balance_en(households["en"].last4)
    assert again is None
    assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1
