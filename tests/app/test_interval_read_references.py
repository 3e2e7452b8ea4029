"""Interval reads name a real register and read import, checked by triggers (migration 0015).

The triggers replace foreign keys for speed, so these tests hold them to what a foreign
key would refuse, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.meters.models import IntervalRead, ReadImport, Register
from tests.app.factories import City

START = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)


def interval_register(session: Session) -> Register:
    city = City(session)
    _account, premise = city.account()
    register = city.meter(premise, "AMI-1", "water", "gal")
    flow = Register(meter_id=register.meter_id, code="F", unit="gal", interval=True)
    session.add(flow)
    session.flush()
    return flow


def read_import(session: Session) -> ReadImport:
    batch = ReadImport(filename="reads.csv", file_format="interval", sha256="0" * 64, content=b"x")
    session.add(batch)
    session.flush()
    return batch


def row(register_id: int, import_id: int | None, hours: int = 0) -> dict[str, object]:
    return {
        "register_id": register_id,
        "start_at": START + dt.timedelta(hours=hours),
        "seconds": 3600,
        "value": Decimal("1.5"),
        "quality": None,
        "import_id": import_id,
    }


def test_reads_of_known_register_and_import_are_stored(session: Session) -> None:
    register = interval_register(session)
    batch = read_import(session)
    rows = [row(register.id, batch.id, hours) for hours in range(3)] + [row(register.id, None, 3)]
    session.execute(insert(IntervalRead), rows)
    session.flush()
    assert len(session.query(IntervalRead).all()) == 4


def test_unknown_register_is_refused(session: Session) -> None:
    register = interval_register(session)
    with pytest.raises(DBAPIError, match="register"):
        rows = [row(register.id, None), row(register.id + 99, None, 1)]
        session.execute(insert(IntervalRead), rows)


def test_unknown_import_is_refused(session: Session) -> None:
    register = interval_register(session)
    batch = read_import(session)
    with pytest.raises(DBAPIError, match="read import"):
        session.execute(insert(IntervalRead), [row(register.id, batch.id + 99)])


def test_update_to_unknown_register_is_refused(session: Session) -> None:
    register = interval_register(session)
    session.execute(insert(IntervalRead), [row(register.id, None)])
    with pytest.raises(DBAPIError, match="register"):
        session.execute(update(IntervalRead).values(register_id=register.id + 99))


def test_register_with_interval_reads_cannot_be_deleted(session: Session) -> None:
    register = interval_register(session)
    session.execute(insert(IntervalRead), [row(register.id, None)])
    with pytest.raises(DBAPIError, match="register has interval reads|register [0-9]+ has"):
        session.execute(delete(Register).where(Register.id == register.id))


def test_import_with_interval_reads_cannot_be_deleted(session: Session) -> None:
    register = interval_register(session)
    batch = read_import(session)
    session.execute(insert(IntervalRead), [row(register.id, batch.id)])
    with pytest.raises(DBAPIError, match="read import"):
        session.execute(delete(ReadImport).where(ReadImport.id == batch.id))


def test_register_without_interval_reads_can_be_deleted(session: Session) -> None:
    register = interval_register(session)
    session.execute(delete(Register).where(Register.id == register.id))
    assert session.get(Register, register.id) is None
