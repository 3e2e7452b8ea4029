"""``upm import-reads`` with register-read CSV files written by the test."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.meters.models import Meter, Read, ReadImportError, Register
from tests.cli.support import flat

Upm = Callable[..., Result]
SERIAL = "WM-0001"
HEADER = "meter,register,read_date,value,unit\n"
GOOD_ROWS = f"{SERIAL},1,2026-10-01,1200,gal\n{SERIAL},1,2026-11-01,5400.5,gal\n"


@pytest.fixture
def register_id(session: Session) -> int:
    """A water meter ``WM-0001`` with register 1 in gallons; returns the register id."""
    meter = Meter(serial=SERIAL, service="water", model="test meter")
    session.add(meter)
    session.flush()
    register = Register(meter_id=meter.id, code="1", unit="gal", dials=7, interval=False)
    session.add(register)
    session.commit()
    return register.id


def _stored_reads(session: Session, register_id: int) -> list[tuple[dt.date, Decimal]]:
    session.rollback()  # End the open transaction so the query includes the command's commits.
    return [
        (read_date, value)
        for read_date, value in session.execute(
            select(Read.read_date, Read.value)
            .where(Read.register_id == register_id)
            .order_by(Read.read_date)
        )
    ]


def test_import_reads_stores_rows(
    upm: Upm, session: Session, register_id: int, tmp_path: Path
) -> None:
    reads_file = tmp_path / "route7.csv"
    reads_file.write_text(HEADER + GOOD_ROWS, encoding="utf-8")

    result = upm("import-reads", str(reads_file))

    assert result.exit_code == 0
    output = flat(result.output)
    assert "2 rows read, 2 reads stored, 0 already on file, 0 rows kept for review" in output
    assert _stored_reads(session, register_id) == [
        (dt.date(2026, 10, 1), Decimal("1200")),
        (dt.date(2026, 11, 1), Decimal("5400.5")),
    ]


def test_import_reads_same_file_adds_nothing(
    upm: Upm, session: Session, register_id: int, tmp_path: Path
) -> None:
    reads_file = tmp_path / "route7.csv"
    reads_file.write_text(HEADER + GOOD_ROWS, encoding="utf-8")

    first = upm("import-reads", str(reads_file))
    reads_after_first = _stored_reads(session, register_id)
    second = upm("import-reads", str(reads_file))

    assert first.exit_code == 0
    assert second.exit_code == 0
    assert "route7.csv was already imported" in flat(second.output)
    assert "nothing added" in flat(second.output)
    assert len(reads_after_first) == 2
    assert _stored_reads(session, register_id) == reads_after_first


def test_import_reads_bad_row_exits_1(
    upm: Upm, session: Session, register_id: int, tmp_path: Path
) -> None:
    reads_file = tmp_path / "route7-december.csv"
    # Line 3 (the header is line 1) has a value in exponent notation, which is rejected.
    reads_file.write_text(
        HEADER + f"{SERIAL},1,2026-12-01,6000,gal\n{SERIAL},1,2026-12-02,1e3,gal\n",
        encoding="utf-8",
    )

    result = upm("import-reads", str(reads_file))

    assert result.exit_code == 1
    assert "2 rows read, 1 read stored, 0 already on file, 1 row kept for review" in flat(
        result.stdout
    )
    review = flat(result.stderr)
    assert "Rows kept for review" in review
    assert re.search(r"│ 3 │", review)
    assert "1e3" in review
    assert _stored_reads(session, register_id) == [(dt.date(2026, 12, 1), Decimal("6000"))]
    error_lines = session.execute(select(ReadImportError.line_number)).scalars().all()
    assert error_lines == [3]


def test_import_reads_missing_file_exits_2(
    upm: Upm, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relative name keeps the message short enough that rich does not fold the path.
    monkeypatch.chdir(tmp_path)

    result = upm("import-reads", "no-such-file.csv")

    assert result.exit_code == 2
    message = flat(result.stderr)
    assert "file_not_found" in message
    assert "file no-such-file.csv not found" in message
    assert result.stdout.strip() == ""
