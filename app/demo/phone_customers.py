"""The demo's phone customers: numbers the call and text simulators play from.

- ``+15550100123`` is a verified contact of an English-speaking household with an open
  bill and a saved Visa card;
- ``+15550100124`` is the same for a Spanish-speaking household (``Customer.language``
  is ``es``);
- ``+15550100125`` is on no account, so it can only identify by account number and ZIP.

The cards are real objects in the demo's Stripe (localstripe, or the configured Stripe in
test mode), created from Stripe's test payment method ``pm_card_visa``. Running the seed
again adds nothing, but creates a card again if Stripe no longer has it (its store was
deleted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

import stripe
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.accounts.models import Account, AccountStatus, Contact, ContactKind, Customer
from app.accounts.models import CustomerKind as Kind
from app.db import utcnow
from app.payments import channels
from app.payments.autopay.models import AutopayEnrollment, EnrollmentStatus
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.models import SavedCard, StripeCustomer
from app.payments.cards.service import ensure_customer
from app.premises.models import Premise, ServiceAgreement

log = logging.getLogger(__name__)

ENGLISH_PHONE = "+15550100123"
SPANISH_PHONE = "+15550100124"
UNKNOWN_PHONE = "+15550100125"
#: Stripe's test payment method for a Visa ending 4242; attaching it makes a new card.
TEST_PAYMENT_METHOD = "pm_card_visa"


@dataclass(frozen=True)
class PhoneCustomer:
    phone: str
    language: str
    account_number: str = ""
    name: str = ""
    zip_code: str = ""
    amount_due: Decimal | None = None
    card: str = ""


@dataclass
class PhoneDemoReport:
    customers: list[PhoneCustomer] = field(default_factory=list)
    #: Cards made again because the demo's Stripe no longer had them.
    cards_recreated: int = 0


def seed_phone_customers(session: Session, gateway: StripeGateway) -> PhoneDemoReport:
    """Give the two demo numbers an account and a saved card each, once."""
    report = PhoneDemoReport()
    taken: set[int] = set()
    for phone, language in ((ENGLISH_PHONE, "en"), (SPANISH_PHONE, "es")):
        account = _account_of(session, phone)
        if account is None:
            account = _choose_account(session, language, taken)
            account.customer.language = language
            session.add(
                Contact(
                    account_id=account.id,
                    kind=ContactKind.PHONE,
                    value=phone,
                    label="mobile",
                    verified=True,
                    verified_at=utcnow(),
                )
            )
            log.info("demo phone …%s added to account %s", phone[-4:], account.masked_number)
        taken.add(account.id)
        card, recreated = _ensure_card(session, gateway, account)
        report.cards_recreated += recreated
        session.flush()
        report.customers.append(
            PhoneCustomer(
                phone=phone,
                language=account.customer.language,
                account_number=account.number,
                name=account.customer.name,
                zip_code=_zip_code(session, account.id),
                amount_due=channels.look_up(session, account.id).amount_due,
                card=card.label,
            )
        )
    report.customers.append(PhoneCustomer(phone=UNKNOWN_PHONE, language=""))
    return report


def _account_of(session: Session, phone: str) -> Account | None:
    return session.scalar(
        select(Account)
        .join(Contact, Contact.account_id == Account.id)
        .where(Contact.kind == ContactKind.PHONE, Contact.value == phone)
    )


def _choose_account(session: Session, language: str, taken: set[int]) -> Account:
    """Pick the first household, by account number, that owes money and has no autopay.

    A customer of ``language`` comes first; when the city has none that fits, the first
    household that fits becomes one.
    """
    autopay = exists().where(
        AutopayEnrollment.account_id == Account.id,
        AutopayEnrollment.status == EnrollmentStatus.ACTIVE,
    )
    candidates = session.scalars(
        select(Account)
        .join(Customer, Customer.id == Account.customer_id)
        .where(
            Account.status == AccountStatus.ACTIVE,
            Customer.kind == Kind.PERSON,
            ~autopay,
            ~exists().where(StripeCustomer.account_id == Account.id),
        )
        .order_by((Customer.language != language), Account.number)
    )
    for account in candidates:
        if account.id in taken or not _zip_code(session, account.id):
            continue
        if channels.look_up(session, account.id).amount_due > 0:
            return account
    raise LookupError(
        "no household in the demo city owes money without autopay; run the demo with "
        "more accounts (--accounts)"
    )


def _ensure_card(
    session: Session, gateway: StripeGateway, account: Account
) -> tuple[SavedCard, int]:
    """Return the account's default card, made in Stripe if it has none there; 1 if made."""
    card = session.scalar(
        select(SavedCard).where(
            SavedCard.account_id == account.id,
            SavedCard.removed_at.is_(None),
            SavedCard.is_default.is_(True),
        )
    )
    if card is not None and _known_to_stripe(gateway, card.payment_method_ref):
        return card, 0
    recreated = 1 if card is not None else 0
    customer = _stripe_customer(session, gateway, account)
    method = gateway.client.v1.payment_methods.attach(
        TEST_PAYMENT_METHOD, params={"customer": customer.customer_ref}
    )
    details = method.card
    if details is None:
        raise LookupError(f"Stripe returned {method.id} without card details")
    if card is None:
        card = SavedCard(account_id=account.id, is_default=True)
        session.add(card)
    card.payment_method_ref = str(method.id)
    card.brand = str(details.brand)
    card.last4 = str(details.last4)
    card.exp_month = int(details.exp_month)
    card.exp_year = int(details.exp_year)
    return card, recreated


def _stripe_customer(session: Session, gateway: StripeGateway, account: Account) -> StripeCustomer:
    """Return the account's Stripe customer, made again when Stripe lost it."""
    customer = ensure_customer(session, gateway, account)
    try:
        gateway.client.v1.customers.retrieve(customer.customer_ref)
    except stripe.InvalidRequestError:
        # A new key, because Stripe would return the lost customer for the old key.
        customer.customer_ref = gateway.create_customer(
            name=account.customer.name,
            account_number=account.number,
            key=f"customer:{account.id}:{utcnow():%Y%m%dT%H%M%S}",
        )
    return customer


def _known_to_stripe(gateway: StripeGateway, payment_method_ref: str) -> bool:
    try:
        gateway.client.v1.payment_methods.retrieve(payment_method_ref)
    except stripe.InvalidRequestError:
        return False
    return True


def _zip_code(session: Session, account_id: int) -> str:
    found = session.scalar(
        select(Premise.zip_code)
        .join(ServiceAgreement, ServiceAgreement.premise_id == Premise.id)
        .where(ServiceAgreement.account_id == account_id)
        .order_by(ServiceAgreement.id)
        .limit(1)
    )
    return found or ""
