"""Card payments through Stripe: customers, saved cards, charges, links and refunds."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.models import PaymentLink, SavedCard, StripeCustomer
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from app.payments.service import (
    change_status,
    check_amount,
    check_refund,
    create_payment,
    lock_account,
    queue_notice,
    record_refund,
)
from app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "stripe"


def ensure_customer(session: Session, gateway: StripeGateway, account: Account) -> StripeCustomer:
    """Return the account's Stripe customer, creating it once."""
    found = session.scalar(select(StripeCustomer).where(StripeCustomer.account_id == account.id))
    if found is not None:
        return found
    customer_ref = gateway.create_customer(
        name=account.customer.name, account_number=account.number, key=f"customer:{account.id}"
    )
    found = StripeCustomer(account_id=account.id, customer_ref=customer_ref)
    session.add(found)
    session.flush()
    return found


def save_card(
    session: Session,
    gateway: StripeGateway,
    *,
    account_id: int,
    payment_method_ref: str,
    make_default: bool = True,
) -> SavedCard:
    """Attach a Stripe PaymentMethod to the account; keep only brand, last 4 and expiry."""
    existing = session.scalar(
        select(SavedCard).where(SavedCard.payment_method_ref == payment_method_ref)
    )
    if existing is not None:
        if existing.account_id != account_id:
            raise Conflict("that card is saved on another account", code="card_on_other_account")
        return existing
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account id {account_id} not found", code="account_not_found")
    customer = ensure_customer(session, gateway, account)
    details = gateway.attach_card(
        customer_ref=customer.customer_ref, payment_method_ref=payment_method_ref
    )
    if make_default:
        for card in active_cards(session, account_id):
            card.is_default = False
    card = SavedCard(
        account_id=account_id,
        payment_method_ref=payment_method_ref,
        is_default=make_default,
        **details,
    )
    session.add(card)
    session.flush()
    return card


def active_cards(session: Session, account_id: int) -> list[SavedCard]:
    return list(
        session.scalars(
            select(SavedCard)
            .where(SavedCard.account_id == account_id, SavedCard.removed_at.is_(None))
            .order_by(SavedCard.is_default.desc(), SavedCard.id)
        )
    )


def default_card(session: Session, account_id: int) -> SavedCard | None:
    cards = active_cards(session, account_id)
    return cards[0] if cards else None


def charge_saved_card(
    session: Session,
    gateway: StripeGateway,
    *,
    account_id: int,
    amount: Decimal,
    card: SavedCard,
    channel: PaymentChannel,
    idempotency_key: str,
    actor: str,
    off_session: bool,
    bill_id: int | None = None,
    stripe_key: str | None = None,
) -> Payment:
    """Charge a saved card once per idempotency key and post the payment if it succeeds.

    A repeat with the same key returns the first payment. If that payment's outcome is
    still unknown (Stripe timed out), the call goes to Stripe again with the same Stripe
    idempotency key, which returns the first PaymentIntent instead of a new charge.
    """
    check_amount(amount)
    if card.account_id != account_id or card.removed_at is not None:
        raise InvalidInput(
            f"card {card.label} is not an active card of this account", code="card_not_usable"
        )
    lock_account(session, account_id)
    customer = session.scalar(select(StripeCustomer).where(StripeCustomer.account_id == account_id))
    if customer is None:
        raise Conflict("the account has no Stripe customer", code="no_stripe_customer")
    payment = create_payment(
        session,
        account_id=account_id,
        amount=amount,
        channel=channel,
        method=PaymentMethod.CARD,
        provider=PROVIDER,
        idempotency_key=idempotency_key,
        taken_by=actor,
        received_on=get_settings().today(),
        method_label=card.label,
        bill_id=bill_id,
    )
    if payment.status != PaymentStatus.PENDING:
        return payment
    result = gateway.charge(
        amount=amount,
        customer_ref=customer.customer_ref,
        payment_method_ref=card.payment_method_ref,
        off_session=off_session,
        metadata={
            "upm_account_id": str(account_id),
            "upm_payment_key": idempotency_key,
            "upm_channel": channel.value,
        },
        key=stripe_key or f"pay:{idempotency_key}",
    )
    if result.payment_intent_ref:
        payment.external_ref = result.payment_intent_ref
    source = f"stripe charge {result.payment_intent_ref or 'declined'}"
    if result.succeeded:
        change_status(session, payment, PaymentStatus.SUCCEEDED, source=source)
    elif result.status in ("processing", "requires_capture"):
        change_status(session, payment, PaymentStatus.PROCESSING, source=source)
    else:
        payment.failure_code = result.decline_code or result.status
        payment.failure_message = (result.message or result.status)[:300]
        change_status(session, payment, PaymentStatus.FAILED, source=source, reason=result.status)
        queue_notice(
            session,
            NoticeKind.PAYMENT_DECLINED,
            account_id=account_id,
            payment=payment,
            key=f"declined:{payment.id}",
            decline_code=payment.failure_code,
        )
    session.flush()
    return payment


def start_payment_link(
    session: Session,
    *,
    account_id: int,
    amount: Decimal,
    channel: PaymentChannel,
    idempotency_key: str,
    actor: str,
) -> PaymentLink:
    """Create a link to our hosted card page for one amount, once per idempotency key."""
    check_amount(amount)
    existing = session.scalar(
        select(PaymentLink).where(PaymentLink.idempotency_key == idempotency_key)
    )
    if existing is not None:
        if existing.account_id != account_id or existing.amount != amount:
            raise Conflict(
                f"idempotency key {idempotency_key!r} already made a link for another "
                "account or amount",
                code="idempotency_key_reused",
            )
        return existing
    settings = get_settings()
    link = PaymentLink(
        token=secrets.token_urlsafe(24),
        idempotency_key=idempotency_key,
        account_id=account_id,
        amount=amount,
        channel=channel.value,
        created_by=actor,
        expires_at=utcnow() + dt.timedelta(hours=settings.payment_link_hours),
    )
    session.add(link)
    session.flush()
    return link


def link_url(link: PaymentLink) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/pay/{link.token}"


def open_link(session: Session, gateway: StripeGateway, token: str) -> tuple[PaymentLink, str]:
    """Return a live link and the client secret of its PaymentIntent (created once).

    A later visit reads the link's PaymentIntent back from Stripe instead of creating it
    again. Stripe may drop an idempotency key once it is 24 hours old, and a link lives
    for UPM_PAYMENT_LINK_HOURS (72 by default).
    """
    link = session.scalar(select(PaymentLink).where(PaymentLink.token == token))
    if link is None:
        raise NotFound("this payment link is not valid", code="payment_link_not_found")
    if link.expires_at <= utcnow():
        raise Conflict("this payment link has expired; ask for a new one", code="link_expired")
    if link.payment_id is not None:
        payment = session.get(Payment, link.payment_id)
        if payment is not None and payment.status == PaymentStatus.SUCCEEDED:
            raise Conflict("this payment link was already paid", code="link_paid")
    if link.payment_intent_ref is not None:
        intent = gateway.retrieve_intent(link.payment_intent_ref)
        if intent.get("status") == "succeeded":
            # Paid, but neither the webhook nor the return page has posted it yet.
            raise Conflict("this payment link was already paid", code="link_paid")
        return link, str(intent["client_secret"])
    intent_ref, client_secret = gateway.create_intent(
        amount=link.amount,
        metadata={
            "upm_account_id": str(link.account_id),
            "upm_payment_key": link.idempotency_key,
            "upm_channel": link.channel,
        },
        key=f"link:{link.id}",
    )
    link.payment_intent_ref = intent_ref
    payment = create_payment(
        session,
        account_id=link.account_id,
        amount=link.amount,
        channel=PaymentChannel(link.channel),
        method=PaymentMethod.CARD,
        provider=PROVIDER,
        external_ref=intent_ref,
        idempotency_key=link.idempotency_key,
        taken_by=link.created_by,
        received_on=get_settings().today(),
        method_label="card",
    )
    link.payment_id = payment.id
    session.flush()
    return link, client_secret


def refund_card_payment(
    session: Session,
    gateway: StripeGateway,
    *,
    payment: Payment,
    amount: Decimal,
    idempotency_key: str,
    actor: str,
    reason: str | None = None,
) -> Refund:
    """Refund part or all of a card payment; the cap is checked before Stripe is called."""
    if payment.provider != PROVIDER or payment.external_ref is None:
        raise InvalidInput(
            f"payment {payment.id} was not taken by card through Stripe", code="not_a_card_payment"
        )
    session.scalar(select(Payment.id).where(Payment.id == payment.id).with_for_update())
    earlier = session.scalar(select(Refund).where(Refund.idempotency_key == idempotency_key))
    if earlier is not None:
        if earlier.payment_id != payment.id or earlier.amount != amount:
            raise Conflict(
                f"idempotency key {idempotency_key!r} already refunded {earlier.amount} on "
                f"payment {earlier.payment_id}; send a new key for a new refund",
                code="idempotency_key_reused",
            )
        return earlier
    check_refund(session, payment, amount)
    record(
        session,
        actor=actor,
        action="payment.refund",
        outcome="requested",
        target=f"payment:{payment.id}",
        arguments={"amount": str(amount), "reason": reason},
    )
    refund_ref, refunded = gateway.refund(
        intent_ref=payment.external_ref, amount=amount, key=f"refund:{idempotency_key}"
    )
    return record_refund(
        session,
        payment,
        amount=refunded,
        refund_ref=refund_ref,
        actor=actor,
        effective_date=get_settings().today(),
        reason=reason,
        idempotency_key=idempotency_key,
    )


def finish_link(session: Session, gateway: StripeGateway, token: str) -> Payment:
    """Ask Stripe how the link's PaymentIntent ended and apply it, as a webhook would.

    The browser's redirect proves nothing, so the outcome is read from Stripe. The
    webhook may arrive before or after this; either one posts the payment, once.
    """
    link = session.scalar(select(PaymentLink).where(PaymentLink.token == token))
    if link is None or link.payment_id is None or link.payment_intent_ref is None:
        raise NotFound("this payment link is not valid", code="payment_link_not_found")
    payment = session.get(Payment, link.payment_id)
    if payment is None:
        raise NotFound("this payment link is not valid", code="payment_link_not_found")
    intent = gateway.retrieve_intent(link.payment_intent_ref)
    status = {
        "succeeded": PaymentStatus.SUCCEEDED,
        "processing": PaymentStatus.PROCESSING,
        "canceled": PaymentStatus.CANCELED,
    }.get(str(intent.get("status")))
    if status is not None:
        change_status(
            session, payment, status, source=f"payment link {link.id} return", strict=False
        )
    return payment
