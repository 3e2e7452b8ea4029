"""Payment receipts in the customer's language: printable HTML and plain text for e-mail.

A receipt shows the utility, the receipt number (the payment id) and the local date and
time. It masks the account number to its last 4 digits. It gives the amount, the method,
the change for cash, the balance still due and any credit the payment left on the account.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.errors import Conflict, NotFound
from app.i18n import jinja_environment, normalize_language, translations
from app.ledger.models import Posting
from app.payments.counter.service import (
    CARD_LABEL,
    CHECK_LABEL,
    PROVIDER,
    approval_code_of,
    counter_payment,
)
from app.payments.models import NoticeKind, Payment, PaymentMethod
from app.payments.owed import amount_owed
from app.payments.service import queue_notice
from app.settings import get_settings

log = logging.getLogger(__name__)

HTML_TEMPLATE = "receipts/receipt.html"
TEXT_TEMPLATE = "receipts/receipt.txt"


@dataclass(frozen=True)
class Receipt:
    """The content of one receipt. Amounts stay Decimal, and the templates format them."""

    language: str
    utility_name: str
    number: int
    received_on: dt.date
    received_at: dt.datetime
    customer_name: str
    #: The account number masked to its last 4 digits, such as ``…1234``.
    account: str
    #: The payment method in the receipt's language, such as ``Cheque 1180``.
    method: str
    approval_code: str | None
    amount: Decimal
    #: Cash handed over and handed back, both None unless the payment was cash at the counter.
    tendered: Decimal | None
    change_due: Decimal | None
    #: Amount the account still owes, 0.00 when it is in credit.
    balance_due: Decimal
    #: None when ``balance_due`` is the balance right after this payment. Otherwise later
    #: entries changed it, and this is the date of that balance.
    balance_on: dt.date | None
    #: Part of this payment left as a credit on the account.
    credit_on_account: Decimal
    served_by: str


def build_receipt(session: Session, payment_id: int, language: str | None = None) -> Receipt:
    """Collect a posted payment's receipt, in ``language`` or else the customer's language."""
    payment = _posted_payment(session, payment_id)
    account = session.get_one(Account, payment.account_id)
    language = normalize_language(language or account.customer.language)
    settings = get_settings()
    today = settings.today()
    owed = amount_owed(session, account.id, today=today)
    tendered = change_due = None
    if payment.provider == PROVIDER and payment.method == PaymentMethod.CASH:
        counted = counter_payment(session, payment)
        tendered, change_due = counted.tendered, counted.change_due
    return Receipt(
        language=language,
        utility_name=settings.utility_name,
        number=payment.id,
        received_on=payment.received_on,
        received_at=payment.created_at,
        customer_name=account.customer.name,
        account=account.masked_number,
        method=describe_method(payment, translations(language).gettext),
        approval_code=approval_code_of(payment),
        amount=payment.amount,
        tendered=tendered,
        change_due=change_due,
        balance_due=owed.amount_due,
        balance_on=today if _posted_since(session, payment) else None,
        credit_on_account=payment.credit_on_account,
        served_by=payment.taken_by,
    )


def describe_method(payment: Payment, gettext: Callable[[str], str]) -> str:
    """Word a payment's method for the customer in the language of ``gettext``.

    Labels in another form than the counter writes are shown as stored.
    """
    label = payment.method_label or ""
    if payment.method == PaymentMethod.CASH:
        return gettext("Cash")
    check = CHECK_LABEL.fullmatch(label)
    if payment.method == PaymentMethod.CHECK and check:
        return gettext("Check %(number)s") % {"number": check["number"]}
    card = CARD_LABEL.fullmatch(label)
    if payment.method in (PaymentMethod.CARD, PaymentMethod.CARD_PRESENT) and card:
        return gettext("%(brand)s ending %(last4)s") % {
            "brand": card["brand"],
            "last4": card["last4"],
        }
    return label or payment.method.value


def render_receipt_html(receipt: Receipt) -> str:
    return jinja_environment(receipt.language).get_template(HTML_TEMPLATE).render(receipt=receipt)


def render_receipt_text(receipt: Receipt) -> str:
    return jinja_environment(receipt.language).get_template(TEXT_TEMPLATE).render(receipt=receipt)


def email_receipt(session: Session, payment_id: int) -> bool:
    """Queue the text receipt for e-mail to the account's address, once per payment.

    The messaging outbox delivers it. Returns False when it was already queued. An
    account with no e-mail address is a conflict, so the clerk can print it instead.
    """
    payment = _posted_payment(session, payment_id)
    address = _email_address(session, payment.account_id)
    receipt = build_receipt(session, payment_id)
    gettext = translations(receipt.language).gettext
    queued = queue_notice(
        session,
        NoticeKind.PAYMENT_RECEIVED,
        account_id=payment.account_id,
        payment=payment,
        key=f"receipt-email:{payment.id}",
        channel="email",
        to=address,
        language=receipt.language,
        subject=gettext("Your payment receipt from %(utility)s")
        % {"utility": receipt.utility_name},
        body=render_receipt_text(receipt),
    )
    log.info("receipt e-mail for payment %s queued=%s", payment.id, queued)
    return queued


def _posted_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id} not found", code="payment_not_found")
    if payment.provider != PROVIDER:
        raise NotFound(
            f"payment {payment_id} was not taken at the counter, so it has no counter "
            "receipt; see the account's payments page",
            code="not_a_counter_payment",
        )
    if payment.journal_entry_id is None:
        raise Conflict(
            f"payment {payment_id} is {payment.status.value} and was never received, so it "
            "has no receipt",
            code="payment_not_posted",
        )
    return payment


def _posted_since(session: Session, payment: Payment) -> bool:
    """Return whether a later journal entry touched the account after this payment."""
    later = session.scalar(
        select(Posting.id)
        .where(
            Posting.account_id == payment.account_id, Posting.entry_id > payment.journal_entry_id
        )
        .limit(1)
    )
    return later is not None


def _email_address(session: Session, account_id: int) -> str:
    address = session.scalar(
        select(Contact.value)
        .where(Contact.account_id == account_id, Contact.kind == ContactKind.EMAIL)
        .order_by(Contact.verified.desc(), Contact.id)
        .limit(1)
    )
    if address is None:
        account = session.get_one(Account, account_id)
        raise Conflict(
            f"account {account.masked_number} has no e-mail address; add one to the "
            "account or print the receipt",
            code="no_email_address",
        )
    return address
