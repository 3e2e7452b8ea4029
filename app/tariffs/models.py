"""Tariffs (rate schedules) and their versions with effective dates.

A version's ``document`` is the billing engine's native tariff document; a version
applies from ``effective_from`` until the next version's ``effective_from``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Tariff(Base):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(20))

    versions: Mapped[list[TariffVersion]] = relationship(
        back_populates="tariff", order_by="TariffVersion.effective_from"
    )


class TariffVersion(Base):
    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), index=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tariff: Mapped[Tariff] = relationship(back_populates="versions")
