"""Cash drawer sessions at the front counter."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, str_enum, utcnow


class DrawerStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class DrawerSession(Base):
    """One clerk's shift at one drawer, from the opening float to the count at close.

    Expected cash is the float plus cash payments taken; the count at close is compared
    with it and the difference stored as the variance.
    """

    __tablename__ = "drawer_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    drawer: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[DrawerStatus] = mapped_column(str_enum(DrawerStatus), default=DrawerStatus.OPEN)
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opening_float: Mapped[Decimal] = mapped_column(Money())
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expected_cash: Mapped[Decimal | None] = mapped_column(Money())
    counted_cash: Mapped[Decimal | None] = mapped_column(Money())
    expected_checks: Mapped[Decimal | None] = mapped_column(Money())
    counted_checks: Mapped[Decimal | None] = mapped_column(Money())
    variance: Mapped[Decimal | None] = mapped_column(Money())
    #: Unique while open, so one drawer has one open session (NULL once closed).
    open_drawer: Mapped[str | None] = mapped_column(String(20), unique=True)
