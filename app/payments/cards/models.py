"""Stripe customers, saved cards and payment links, per account.

Stripe holds the card numbers. We keep its ids, the brand, the last four digits and
the expiry, which is all a receipt or a prompt ever shows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, utcnow


class StripeCustomer(Base):
    __tablename__ = "stripe_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    customer_ref: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SavedCard(Base):
    __tablename__ = "saved_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    payment_method_ref: Mapped[str] = mapped_column(String(80), unique=True)
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def label(self) -> str:
        return f"{self.brand.title()} ending {self.last4}"


class PaymentLink(Base):
    """A link we can text or e-mail: it opens our hosted card page for one amount.

    The token is random and single-purpose. The PaymentIntent is created once per link
    with an idempotency key derived from the link id.
    """

    __tablename__ = "payment_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    channel: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payment_intent_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
