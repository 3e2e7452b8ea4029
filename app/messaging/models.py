"""Consent to texts per program, and every text sent to a customer.

An ``OutboundMessage`` is written in the transaction that decides to send it, under a key
made of our own ids, so the same decision twice stores one message. A Celery task sends it
after that transaction commits. Its status moves forward only: queued (or deferred for
quiet hours), then sending, then Twilio's own statuses; suppressed when the number opted
out of the program; not_configured when Twilio is not set up (the demo).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, str_enum, utcnow


class Program(enum.StrEnum):
    """The subject of a text; a customer opts out of each program separately."""

    BILLING = "billing"
    ALERTS = "alerts"


class SmsConsent(Base):
    """Whether a phone number takes texts of a program; no row means it does."""

    __tablename__ = "sms_consents"
    __table_args__ = (UniqueConstraint("phone", "program"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    program: Mapped[Program] = mapped_column(str_enum(Program, 20))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    #: keyword (STOP, START and their variants), twilio_21610, or staff.
    source: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboundMessage(Base):
    """One text to a customer, from the decision to send it to Twilio's last status."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made of our ids, such as ``payment_received:812``: one decision, one message.
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    program: Mapped[Program] = mapped_column(str_enum(Program, 20))
    #: What the text says: bill_ready, due_reminder, payment_received, leak, ...
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5), default="en")
    to_number: Mapped[str] = mapped_column(String(20), index=True)
    from_number: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(10))
    segments: Mapped[int] = mapped_column(Integer)
    #: Emergency alerts go out during quiet hours; nothing else does.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: The earliest instant the message may go out (the end of quiet hours).
    send_after: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    message_sid: Mapped[str | None] = mapped_column(String(40), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
