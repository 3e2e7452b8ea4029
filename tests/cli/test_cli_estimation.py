"""``upm reads estimate`` and ``upm heat-factor set|list`` against a migrated database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.billing.heat_factors import HeatFactor
from app.meters.models import Read, ReadType
from tests.app.factories import City, water_tariff
from tests.cli.support import flat

Upm = Callable[..., Result]


def test_heat_factor_set_and_list(upm: Upm, session: Session) -> None:
    City(session)
    session.commit()

    result = upm("heat-factor", "set", "--therms-per-ccf", "1.037", "--from", "2026-06-01",
                 "--cycle", "C1")
    listing = upm("heat-factor", "list")

    assert result.exit_code == 0, result.output
    assert "gas heat factor 1.037 therms per CCF from 2026-06-01 for cycle C1" in result.output
    assert "1.037" in listing.output
    factor = session.scalars(select(HeatFactor)).one()
    assert factor.therms_per_ccf == Decimal("1.037")
    assert factor.effective_from == dt.date(2026, 6, 1)
    assert session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "heat_factor.set")
    ).all() == ["created"]


def test_heat_factor_not_a_number(upm: Upm) -> None:
    result = upm("heat-factor", "set", "--therms-per-ccf", "1,037", "--from", "2026-06-01")

    assert result.exit_code == 2
    assert "heat factor '1,037' is not a number" in flat(result.output)


def test_reads_estimate_stores_estimate(upm: Upm, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-7", "water", "gal")
    # 3,000 gal in each of April and May is 6,000 / 61 days = 98.361 gal a day. The 30 days
    # of June give 2,950.8, so 2,951 after rounding to whole gallons like the reads.
    for day, value in ((dt.date(2026, 4, 1), "1000"), (dt.date(2026, 5, 1), "4000"),
                       (dt.date(2026, 6, 1), "7000")):
        city.read(register, day, value)
    session.commit()

    result = upm("reads", "estimate", "--cycle", "C1", "--date", "2026-07-01")

    assert result.exit_code == 0, result.output
    assert "1 read estimated" in result.output
    estimate = session.scalars(
        select(Read).where(Read.register_id == register.id, Read.read_type == ReadType.ESTIMATED)
    ).one()
    assert estimate.value == Decimal(9951)
    assert estimate.source == "estimate:recent_average"
