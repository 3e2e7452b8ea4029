"""Every e-mail sent to a customer, from the decision to send it to the SMTP result.

A row is written in the transaction that decides to send, under a key made of our own
ids, so the same decision twice stores one e-mail. A Celery task sends it after that
transaction commits. Status moves forward only: queued, then sent or failed, or
not_configured when ``UPM_SMTP_URL`` is unset.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class EmailMessage(Base):
    """One e-mail to a customer's address."""

    __tablename__ = "email_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made of our ids, such as ``leak_episode:12:contact:40``.
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: The template under ``templates/email/``, such as ``leak``.
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5), default="en")
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
