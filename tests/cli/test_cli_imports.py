"""``upm imports list|show``: imports and the rows they kept for review, after the import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from sqlalchemy.orm import Session

from app.meters.models import Meter, Register
from tests.cli.support import flat

Upm = Callable[..., Result]
READS = (
    "meter,register,read_date,value,unit\n"
    "WM-0001,1,2026-10-01,1200000,gal\n"
    "WM-9999,1,2026-10-01,5,gal\n"
    "WM-0001,1,2026-11-01,[oops],gal\n"
)


def test_list_and_show_rows_kept(upm: Upm, session: Session, tmp_path: Path) -> None:
    meter = Meter(serial="WM-0001", service="water")
    session.add(meter)
    session.flush()
    session.add(Register(meter_id=meter.id, code="1", unit="gal", dials=7, interval=False))
    session.commit()
    reads_file = tmp_path / "route7.csv"
    reads_file.write_text(READS, encoding="utf-8")
    assert upm("import-reads", str(reads_file)).exit_code == 1

    listing = upm("imports", "list")
    details = upm("imports", "show", "1")

    assert listing.exit_code == 0, listing.output
    [row] = [line for line in listing.output.splitlines() if "route7.csv" in line]
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[0] == "1"
    assert cells[4:] == ["3", "1", "2"]
    assert details.exit_code == 0, details.output
    text = flat(details.output)
    assert "import 1: route7.csv (csv), 3 rows read, 1 stored, 2 kept for review" in text
    assert "'WM-9999' register '1' not found" in text
    # Brackets in a kept line are its own text, not console markup.
    assert "WM-0001,1,2026-11-01,[oops],gal" in text


def test_show_unknown_import(upm: Upm, db_url: str) -> None:
    result = upm("imports", "show", "42")

    assert result.exit_code == 2
    assert "read import 42 not found" in flat(result.stderr)
