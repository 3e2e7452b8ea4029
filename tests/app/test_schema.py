"""Schema: migrations match the models, and exact decimals survive both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.db import ScaledDecimal, UTCDateTime
from app.ledger.chart import REVENUE_BY_SERVICE
from app.ledger.models import EntryKind, Posting
from app.ledger.service import PostingLine, post_entry
from app.models import Base
from tests.app.factories import City


def test_migrations_match_models(db_url: str) -> None:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_scaled_decimal_rejects_float() -> None:
    column = ScaledDecimal(12, 2)
    with pytest.raises(TypeError, match="float 0.1"):
        column.process_bind_param(0.1, create_engine("sqlite://").dialect)


def test_scaled_decimal_rejects_extra_places() -> None:
    column = ScaledDecimal(12, 2)
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        column.process_bind_param(Decimal("1.005"), create_engine("sqlite://").dialect)


def test_utc_datetime_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(dt.datetime(2026, 1, 1), create_engine("sqlite://").dialect)


def test_sums_of_cents_are_exact(session: Session) -> None:
    # 0.10 + 0.20 is 0.30000000000000004 in binary floating point, but the ledger sums exactly.
    account, _ = City(session).account()
    for number, amount in enumerate(["0.10", "0.20"] * 500):
        post_entry(
            session, key=f"k{number}", kind=EntryKind.ADJUSTMENT,
            effective_date=dt.date(2026, 1, 1), memo="m", actor="t",
            lines=[PostingLine("1200", Decimal(amount), account.id),
                   PostingLine(REVENUE_BY_SERVICE["water"], -Decimal(amount))],
        )
    total = session.scalar(select(func.sum(Posting.amount)).where(Posting.account_id == account.id))
    assert total == Decimal("150.00")
    assert isinstance(total, Decimal)
