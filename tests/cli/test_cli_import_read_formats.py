"""``upm import-reads`` with guessed formats, a mapping file and the drop folder."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.meters.models import Meter, Read, Register
from app.settings import get_settings
from tests.cli.support import flat

Upm = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[2]
TELEGRAMS = (
    '{"id": "WM-0002", "timestamp": "2024-06-18T10:00:00Z", "total_m3": 521.602}\n'
    '{"id": "WM-0002", "timestamp": "2024-06-18T10:15:00Z", "total_m3": 521.61}\n'
)


@pytest.fixture
def meter(session: Session) -> int:
    """Meter WM-0002 with register 1 in m3; returns the register id."""
    row = Meter(serial="WM-0002", service="water")
    session.add(row)
    session.flush()
    register = Register(meter_id=row.id, code="1", unit="m3", interval=False)
    session.add(register)
    session.commit()
    return register.id


def stored_values(session: Session) -> list[Decimal]:
    session.rollback()  # End the open transaction so the query includes the command's commits.
    return list(session.scalars(select(Read.value).order_by(Read.read_at)))


def test_jsonl_is_read_as_wmbus(upm: Upm, session: Session, meter: int, tmp_path: Path) -> None:
    telegrams = tmp_path / "receiver.jsonl"
    telegrams.write_text(TELEGRAMS, encoding="utf-8")

    result = upm("import-reads", str(telegrams))

    assert result.exit_code == 0
    assert "(wmbus): 2 rows read, 2 reads stored" in flat(result.output)
    assert stored_values(session) == [Decimal("521.602"), Decimal("521.61")]


def test_mapping_option_reads_mapped_csv(
    upm: Upm, session: Session, meter: int, tmp_path: Path
) -> None:
    mapping = tmp_path / "m3.mapping.toml"
    mapping.write_text(
        'kind = "register"\ndelimiter = ";"\ndecimal_comma = true\n'
        '[columns]\nmeter = "Meter"\nvalue = "Stand"\ntimestamp = "Zeit"\n'
        '[fixed]\nunit = "m3"\n',
        encoding="utf-8",
    )
    reads = tmp_path / "vendor.csv"
    reads.write_text("Meter;Zeit;Stand\nWM-0002;2024-06-18T10:00:00Z;521,602\n", encoding="utf-8")

    result = upm("import-reads", str(reads), "--mapping", str(mapping))

    assert result.exit_code == 0
    assert "(mapped): 1 row read, 1 read stored" in flat(result.output)
    assert stored_values(session) == [Decimal("521.602")]


def test_rejected_row_keeps_brackets(
    upm: Upm, session: Session, meter: int, tmp_path: Path
) -> None:
    mapping = tmp_path / "m3.mapping.toml"
    mapping.write_text(
        'kind = "register"\n[columns]\nmeter = "Meter"\nvalue = "Stand"\ntimestamp = "Zeit"\n'
        '[fixed]\nunit = "m3"\n[timestamp]\nformat = "%Y-%m-%d %H:%M"\nzone = "UTC"\n',
        encoding="utf-8",
    )
    reads = tmp_path / "vendor.csv"
    reads.write_text("Meter,Zeit,Stand\nWM-0002,2024-06-18 25:00,521.602\n", encoding="utf-8")

    result = upm("import-reads", str(reads), "--mapping", str(mapping))

    assert result.exit_code == 1
    # The reason names the mapping's [timestamp] table, which is not console markup.
    assert "correct the time or the [timestamp] format in the mapping" in flat(result.output)


def test_invalid_mapping_exits_2(upm: Upm, db_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "bad.mapping.toml"
    mapping.write_text('kind = "daily"\n', encoding="utf-8")
    reads = tmp_path / "vendor.csv"
    reads.write_text("a,b\n", encoding="utf-8")

    result = upm("import-reads", str(reads), "--mapping", str(mapping))

    assert result.exit_code == 2
    assert "read_mapping_invalid" in flat(result.stderr)
    assert "kind = 'daily' is invalid" in flat(result.stderr)


def test_drop_folder_pass(
    upm: Upm, session: Session, meter: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    telegrams = drop / "receiver.jsonl"
    telegrams.write_text(TELEGRAMS, encoding="utf-8")
    past = time.time() - 60
    os.utime(telegrams, (past, past))
    shutil.copy(ROOT / "docs" / "mappings" / "route-register.mapping.toml", drop)
    monkeypatch.setenv("UPM_READ_DROP_DIR", str(drop))
    get_settings.cache_clear()

    result = upm("import-reads", "--drop-folder")

    assert result.exit_code == 0
    assert "receiver.jsonl: processed: import 1 (wmbus)" in flat(result.output)
    assert (drop / "processed" / "receiver.jsonl").exists()
    assert stored_values(session) == [Decimal("521.602"), Decimal("521.61")]
    second = upm("import-reads", "--drop-folder")
    assert "no read files in" in flat(second.output)


def test_drop_folder_unset_exits_2(upm: Upm, db_url: str) -> None:
    result = upm("import-reads", "--drop-folder")

    assert result.exit_code == 2
    assert "UPM_READ_DROP_DIR is not set" in flat(result.stderr)
