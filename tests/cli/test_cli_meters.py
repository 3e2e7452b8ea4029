"""``upm meters list``: serials with the premise, account and registers of each meter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from click.testing import Result
from sqlalchemy.orm import Session

from app.meters.models import IntervalRead, Register
from tests.app.factories import City, water_tariff
from tests.cli.support import flat

Upm = Callable[..., Result]


def test_list_shows_premise_account_and_registers(upm: Upm, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    water = city.meter(premise, "W-100", "water", "gal")
    flow = Register(meter_id=water.meter_id, code="F", unit="gal", interval=True)
    session.add(flow)
    session.flush()
    city.read(water, dt.date(2026, 11, 30), "1200")
    # The newest interval, 23:00 to midnight on December 1 in Chicago, is a later read.
    session.add(
        IntervalRead(
            register_id=flow.id,
            start_at=dt.datetime(2026, 12, 2, 5, tzinfo=dt.UTC),
            seconds=3600,
            value=Decimal(3),
        )
    )
    _vacant_account, vacant = city.account()
    city.meter(vacant, "W-200", "water", "ccf")
    session.commit()

    result = upm("meters", "list")

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "W-" in line]
    assert len(lines) == 2
    assert "W-100" in lines[0]
    assert "1 Test St" in lines[0]
    assert account.number in lines[0]
    assert "1 (gal), F (gal, interval)" in lines[0]
    assert "2026-12-01" in lines[0]
    # The second premise has no service agreement, so no account is shown.
    assert "W-200" in lines[1]
    assert account.number not in lines[1]


def test_list_filters_by_serial_and_service(upm: Upm, session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    city.meter(premise, "W-100", "water", "gal")
    city.meter(premise, "E-100", "electric", "kWh")
    session.commit()

    by_serial = upm("meters", "list", "--serial", "E-")
    by_service = upm("meters", "list", "--service", "water")
    none = upm("meters", "list", "--serial", "X")

    assert "E-100" in by_serial.output
    assert "W-100" not in by_serial.output
    assert "W-100" in by_service.output
    assert "E-100" not in by_service.output
    assert "No meters match." in flat(none.output)
