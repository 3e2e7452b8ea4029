"""Premises (service locations) and the service agreements that bill them.

A service agreement ties one account to one premise for one service on one tariff,
from ``start_date`` up to but not including ``end_date`` (open when ``None``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.tariffs.models import Tariff


class ServiceType(enum.StrEnum):
    WATER = "water"
    SEWER = "sewer"
    TRASH = "trash"
    ELECTRIC = "electric"
    GAS = "gas"


class Premise(Base):
    __tablename__ = "premises"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip_code: Mapped[str] = mapped_column(String(10), index=True)
    route: Mapped[str] = mapped_column(String(20))
    route_sequence: Mapped[int] = mapped_column(Integer, default=0)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("billing_cycles.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agreements: Mapped[list[ServiceAgreement]] = relationship(back_populates="premise")


class ServiceAgreement(Base):
    __tablename__ = "service_agreements"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date > start_date", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    premise_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    service: Mapped[ServiceType] = mapped_column(str_enum(ServiceType))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    premise: Mapped[Premise] = relationship(back_populates="agreements")
    tariff: Mapped[Tariff] = relationship()
