"""``upm reads held|accept|edit|reject|validate`` on reads imported with ``upm import-reads``."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.meters.models import Meter, Read, ReadStatus, Register
from tests.cli.support import flat

Upm = Callable[..., Result]
SERIAL = "WM-0001"
# Seven dials wrap at 10,000,000, so the drop from 1,205,400 to 300 is no rollover.
READS = (
    "meter,register,read_date,value,unit\n"
    f"{SERIAL},1,2026-10-01,1200000,gal\n"
    f"{SERIAL},1,2026-11-01,1205400,gal\n"
    f"{SERIAL},1,2026-12-01,300,gal\n"
)


@pytest.fixture
def held_read_id(upm: Upm, session: Session, tmp_path: Path) -> int:
    """Import three reads, of which the last is held, and return the held read's id."""
    meter = Meter(serial=SERIAL, service="water", model="test meter")
    session.add(meter)
    session.flush()
    session.add(Register(meter_id=meter.id, code="1", unit="gal", dials=7, interval=False))
    session.commit()
    reads_file = tmp_path / "route7.csv"
    reads_file.write_text(READS, encoding="utf-8")
    assert upm("import-reads", str(reads_file)).exit_code == 0
    session.rollback()
    statuses = session.execute(select(Read.id, Read.status).order_by(Read.read_date)).all()
    assert [status for _id, status in statuses] == [
        ReadStatus.VALID,
        ReadStatus.VALID,
        ReadStatus.HELD,
    ]
    return int(statuses[-1][0])


def test_held_lists_read_and_code(upm: Upm, held_read_id: int) -> None:
    result = upm("reads", "held")
    assert result.exit_code == 0
    row = rf"│ {held_read_id} +│ {SERIAL}/1 +│ 2026-12-01 +│ 300 gal +│ possible_meter_exchange: "
    assert re.search(row + "read 300 is near zero after read 1205400", result.output)
    assert "1 held read" in flat(result.output)


def test_accept_requires_reason(upm: Upm, held_read_id: int) -> None:
    result = upm("reads", "accept", str(held_read_id), "--reason", " ")
    assert result.exit_code == 2
    assert "(reason_required)" in flat(result.output)


def test_accept_makes_read_valid(upm: Upm, session: Session, held_read_id: int) -> None:
    result = upm("reads", "accept", str(held_read_id), "--reason", "new meter, order 12")
    assert result.exit_code == 0
    session.rollback()
    assert session.get_one(Read, held_read_id).status == ReadStatus.VALID
    assert upm("reads", "held").output.strip() == "No held reads."
    actor = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "reads.accept"))
    assert list(actor)[0].startswith("cli:")


def test_edit_replaces_read(upm: Upm, session: Session, held_read_id: int) -> None:
    result = upm("reads", "edit", str(held_read_id), "--value", "1210300", "--reason", "typo")
    assert result.exit_code == 0
    session.rollback()
    old = session.get_one(Read, held_read_id)
    assert old.status == ReadStatus.REPLACED
    assert old.replaced_by_id is not None
    new = session.get_one(Read, old.replaced_by_id)
    assert new.value == Decimal(1210300)
    assert f"read {held_read_id} replaced by read {new.id}" in flat(result.output)


def test_edit_bad_value_exits_2(upm: Upm, held_read_id: int) -> None:
    result = upm("reads", "edit", str(held_read_id), "--value", "12,5", "--reason", "typo")
    assert result.exit_code == 2
    assert "(invalid_read_value)" in flat(result.output)


def test_reject_and_validate(upm: Upm, session: Session, held_read_id: int) -> None:
    assert upm("reads", "reject", str(held_read_id), "--reason", "wrong meter").exit_code == 0
    session.rollback()
    assert session.get_one(Read, held_read_id).status == ReadStatus.REJECTED
    result = upm("reads", "validate")
    assert "0 reads validated, 0 reads held, 0 findings recorded" in flat(result.output)
