"""Customers, their accounts and the contacts through which they reach us.

An account number is eight digits plus a Luhn check digit, so a mistyped digit or a
swap of two neighbours is caught before any lookup.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, str_enum, utcnow


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class ContactKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind), default=CustomerKind.PERSON)
    language: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    accounts: Mapped[list[Account]] = relationship(back_populates="customer")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[AccountStatus] = mapped_column(
        str_enum(AccountStatus), default=AccountStatus.ACTIVE
    )
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="accounts")
    contacts: Mapped[list[Contact]] = relationship(back_populates="account")

    @property
    def masked_number(self) -> str:
        """The number as shown in logs and messages: only the last four digits."""
        return "…" + self.number[-4:]


class Contact(Base):
    """A phone number (E.164) or e-mail address of an account, verified or not."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind))
    value: Mapped[str] = mapped_column(String(254), index=True)
    label: Mapped[str | None] = mapped_column(String(40))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship(back_populates="contacts")
