"""Links that open one bill for a customer, without a login.

The token is random (192 bits) and only its SHA-256 digest is stored, so a copy of the
database opens no bill. A link expires after ``UPM_BILL_LINK_HOURS``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class BillLink(Base):
    __tablename__ = "bill_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Hex SHA-256 of the token in the URL.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    #: The page's language: the language the customer asked in.
    language: Mapped[str] = mapped_column(String(5))
    #: Who asked for it, such as ``sms:…0123``.
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
