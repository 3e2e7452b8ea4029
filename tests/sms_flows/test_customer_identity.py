"""Who may see or pay: only a verified contact of an account, and crews keep their flow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Contact, ContactKind
from app.audit.models import AuditEvent
from app.messaging.models import Program, SmsConsent
from app.payments.cards.models import PaymentLink
from app.work_orders.models import WorkOrder
from tests.app.factories import City
from tests.sms_flows.conftest import TECH_PHONE
from tests.sms_flows.customer_fixtures import (
    CUSTOMER_PHONE,
    STRANGER_PHONE,
    UNVERIFIED_PHONE,
    Household,
    add_household,
    reply_of,
)

NOT_REGISTERED = (
    "This number is not registered with City of Riverbend Utilities. To get texts about "
    "your account, call +15125550100 to add this number to it."
)
NOT_REGISTERED_ES = (
    "Este teléfono no figura en las cuentas de City of Riverbend Utilities. Para recibir "
    "textos sobre su cuenta, llame al +15125550100 y agregue este teléfono a ella."
)


@pytest.mark.parametrize("body", ["BAL", "PAY", "BILL", "USAGE", "AUTOPAY", "YES", "hello"])
def test_unknown_and_unverified_get_same_reply(
    session: Session, sms: Callable[..., Any], households: dict[str, Household], body: str
) -> None:
    stranger = reply_of(sms(STRANGER_PHONE, body))
    unverified = reply_of(sms(UNVERIFIED_PHONE, body))

    assert stranger == NOT_REGISTERED
    assert unverified == NOT_REGISTERED
    assert session.scalar(select(func.count()).select_from(PaymentLink)) == 0
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("LEAK", "This number is not registered with City of Riverbend Utilities. To report a "
         "leak or an outage, call +15125550100."),
        ("outage", "This number is not registered with City of Riverbend Utilities. To report a "
         "leak or an outage, call +15125550100."),
        ("FUGA", "Este teléfono no figura en las cuentas de City of Riverbend Utilities. Para "
         "reportar una fuga o un corte, llame al +15125550100."),
    ],
)
def test_unregistered_report_gets_office_number(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    body: str, expected: str,
) -> None:
    stranger = reply_of(sms(STRANGER_PHONE, body))
    unverified = reply_of(sms(UNVERIFIED_PHONE, body))

    assert stranger == expected
    assert unverified == expected
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_unregistered_reply_in_spanish(
    sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    assert reply_of(sms(STRANGER_PHONE, "SALDO")) == NOT_REGISTERED_ES


def test_denials_audited_with_masked_number(
    session: Session, sms: Callable[..., Any], households: dict[str, Household]
) -> None:
    reply_of(sms(STRANGER_PHONE, "BAL", sid="SM000000000000000000000000000000d1"))
    reply_of(sms(UNVERIFIED_PHONE, "PAY", sid="SM000000000000000000000000000000d2"))

    denials = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "sms.unregistered").order_by(AuditEvent.id)
    ).all()
    assert [denial.actor for denial in denials] == ["sms:…0999", "sms:…0555"]
    assert [denial.outcome for denial in denials] == ["denied", "denied"]
    assert denials[0].arguments == {"message_sid": "SM000000000000000000000000000000d1"}
    assert all(STRANGER_PHONE not in str(denial.arguments) for denial in denials)


def test_help_answers_anyone(sms: Callable[..., Any], households: dict[str, Household]) -> None:
    reply = reply_of(sms(STRANGER_PHONE, "HELP"))

    assert reply is not None
    assert reply.startswith("City of Riverbend Utilities: text BAL for your balance")
    assert "Support: +15125550100." in reply


@pytest.fixture
def two_accounts(
    session: Session, customer_city: City, households: dict[str, Household]
) -> dict[str, Household]:
    """CUSTOMER_PHONE is also verified on a second account, which owes 20.00."""
    second = add_household(session, customer_city, phone=CUSTOMER_PHONE, total="20.00")
    session.commit()
    return {"84.12": households["en"], "20.00": second}


def test_several_accounts_ask_which(
    sms: Callable[..., Any], two_accounts: dict[str, Household]
) -> None:
    first, second = sorted(two_accounts.values(), key=lambda household: household.number)

    reply = reply_of(sms(CUSTOMER_PHONE, "BAL"))

    assert reply == (
        f"This number is on the accounts ending {first.last4}, {second.last4}. Text BAL and "
        f"the last 4 digits of one, such as BAL {first.last4}."
    )


@pytest.mark.parametrize("owed", ["84.12", "20.00"])
def test_last_four_digits_pick_account(
    sms: Callable[..., Any], two_accounts: dict[str, Household], owed: str
) -> None:
    household = two_accounts[owed]

    reply = reply_of(sms(CUSTOMER_PHONE, f"BAL {household.last4}"))

    assert reply == (
        f"Account ending {household.last4}: ${owed} is due December 10, 2026. "
        "Text PAY to pay it."
    )


def test_full_number_picks_account(
    sms: Callable[..., Any], two_accounts: dict[str, Household]
) -> None:
    household = two_accounts["20.00"]

    reply = reply_of(sms(CUSTOMER_PHONE, f"saldo {household.number}"))

    assert reply == (
        f"Cuenta que termina en {household.last4}: debe $20.00, con vencimiento el 10 de "
        "diciembre de 2026. Escriba PAGAR para pagarlo."
    )


def test_unmatched_digits_ask_again(
    sms: Callable[..., Any], two_accounts: dict[str, Household]
) -> None:
    first = min(two_accounts.values(), key=lambda household: household.number)

    reply = reply_of(sms(CUSTOMER_PHONE, "SALDO 0000"))

    assert reply is not None
    assert reply.startswith("Este teléfono tiene las cuentas que terminan en")
    assert reply.endswith(f"como SALDO {first.last4}.")


def test_crew_phone_reaches_crew_flow(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    dispatched: Callable[..., int],
) -> None:
    number = dispatched()

    reply = reply_of(sms(TECH_PHONE, f"ACCEPT {number}"))

    assert reply == f"Accepted work order {number}. Reply ENROUTE {number} when you leave."


def test_crew_help_stays_crew_help(
    sms: Callable[..., Any], households: dict[str, Household], dispatched: Callable[..., int]
) -> None:
    dispatched()

    reply = reply_of(sms(TECH_PHONE, "HELP"))

    assert reply is not None
    assert reply.startswith("Reply with: ACCEPT 1002")


def test_crew_phone_stop_is_consent(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    dispatched: Callable[..., int],
) -> None:
    dispatched()

    reply = reply_of(sms(TECH_PHONE, "STOP"))

    assert reply is None
    opted = session.scalars(select(SmsConsent).where(SmsConsent.phone == TECH_PHONE)).all()
    assert {row.program for row in opted} == {Program.BILLING, Program.ALERTS}
    assert all(row.opted_out for row in opted)


def test_crew_phone_that_is_also_customer(
    session: Session, sms: Callable[..., Any], households: dict[str, Household],
    dispatched: Callable[..., int],
) -> None:
    number = dispatched()
    session.add(Contact(account_id=households["en"].account_id, kind=ContactKind.PHONE,
                        value=TECH_PHONE, verified=True))
    session.commit()

    reply = reply_of(sms(TECH_PHONE, f"ACCEPT {number}"))

    assert reply == f"Accepted work order {number}. Reply ENROUTE {number} when you leave."
