"""The read drop folder: ready files imported once and moved with a report."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.meters.drop_folder import DropPass, import_drop_folder
from app.meters.models import IntervalRead, Read, ReadImport, Register
from app.meters.tasks import import_read_drop_folder
from app.settings import get_settings
from tests.app.factories import City
from tests.app.test_read_import_formats import BEACON_FILE, REPEATER_FILE

PACIFIC = ZoneInfo("America/Los_Angeles")
MAPPINGS = Path(__file__).resolve().parents[2] / "docs" / "mappings"


def count(session: Session, model: type) -> int:
    session.rollback()  # See what the pass committed in its own transactions.
    return session.scalar(select(func.count()).select_from(model)) or 0


def settled(path: Path) -> Path:
    """Date the file's last change a minute back, so a pass takes it as complete."""
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


@pytest.fixture
def meters(session: Session) -> None:
    """The BEACON sample's meter with a flow register, and the wM-Bus meter WM-0002."""
    city = City(session)
    _account, premise = city.account()
    register = city.meter(premise, "1470158170", "water", "ccf")
    session.add(Register(meter_id=register.meter_id, code="F", unit="gal", interval=True))
    _account, premise = city.account("Second")
    city.meter(premise, "WM-0002", "water", "m3", dials=None)
    session.commit()


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "beacon-0801.csv").write_bytes(BEACON_FILE.read_bytes())
    (folder / "receiver.jsonl").write_bytes(REPEATER_FILE)
    for path in folder.iterdir():
        settled(path)
    return folder


def run_pass(folder: Path) -> DropPass:
    return import_drop_folder(folder, zone=PACIFIC, actor="test")


def test_pass_imports_and_moves_files(session: Session, meters: None, drop: Path) -> None:
    (drop / "notes.txt").write_text("not a read file\n")
    settled(drop / "notes.txt")
    (drop / "late.csv.part").write_text("meter,read_date,value,unit\n")
    settled(drop / "late.csv.part")
    (drop / "writing.jsonl").write_bytes(REPEATER_FILE[:40])  # modified just now

    result = run_pass(drop)

    statuses = {outcome.name: outcome.status for outcome in result.outcomes}
    assert statuses == {
        "beacon-0801.csv": "processed",
        "notes.txt": "failed",
        "receiver.jsonl": "processed",
    }
    assert result.not_ready == ["writing.jsonl"]
    remaining = sorted(path.name for path in drop.iterdir() if path.is_file())
    assert remaining == ["late.csv.part", "writing.jsonl"]
    processed = sorted(path.name for path in (drop / "processed").iterdir())
    assert processed == [
        "beacon-0801.csv",
        "beacon-0801.csv.report.txt",
        "receiver.jsonl",
        "receiver.jsonl.report.txt",
    ]
    failed_report = (drop / "failed" / "notes.txt.report.txt").read_text()
    assert "cannot tell the format of 'notes.txt'" in failed_report
    receiver_report = (drop / "processed" / "receiver.jsonl.report.txt").read_text()
    assert "5 rows read, 2 stored, 2 already on file, 1 kept for review" in receiver_report
    assert "line 5: duplicate-conflict:" in receiver_report

    # BEACON: 2 register reads; wM-Bus: 2 reads after repeats.
    assert count(session, Read) == 4
    assert count(session, IntervalRead) == 2


def test_second_pass_adds_nothing(session: Session, meters: None, drop: Path) -> None:
    run_pass(drop)
    # The same export is dropped again under its own name.
    shutil.copy(drop / "processed" / "beacon-0801.csv", drop / "beacon-0801.csv")
    settled(drop / "beacon-0801.csv")

    again = run_pass(drop)

    assert [outcome.status for outcome in again.outcomes] == ["processed"]
    assert "already imported" in again.outcomes[0].message
    assert count(session, Read) == 4
    assert count(session, ReadImport) == 2
    copies = [path.name for path in (drop / "processed").glob("beacon-0801*.csv")]
    assert len(copies) == 2
    assert run_pass(drop).outcomes == []


def test_passes_at_once_import_once(session: Session, meters: None, drop: Path) -> None:
    results: list[DropPass] = []
    errors: list[BaseException] = []

    def one_pass() -> None:
        try:
            results.append(run_pass(drop))
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    names = sorted(outcome.name for result in results for outcome in result.outcomes)
    assert names == ["beacon-0801.csv", "receiver.jsonl"]
    assert count(session, Read) == 4
    assert count(session, IntervalRead) == 2
    assert count(session, ReadImport) == 2


def test_mapping_file_by_name_prefix(session: Session, tmp_path: Path) -> None:
    city = City(session)
    _account, premise = city.account()
    city.meter(premise, "WM-0001", "water", "gal")
    session.commit()
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(MAPPINGS / "route-register.mapping.toml", drop / "route.mapping.toml")
    (drop / "route-07.csv").write_text("R07,WM-0001,2026-07-31T14:05:00-05:00,001234.5\n")
    settled(drop / "route-07.csv")

    result = run_pass(drop)

    assert [outcome.status for outcome in result.outcomes] == ["processed"]
    assert "(mapped)" in result.outcomes[0].message
    assert (drop / "route.mapping.toml").exists()
    assert count(session, Read) == 1


def test_task_imports_the_setting_folder(
    session: Session, meters: None, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPM_READ_DROP_DIR", str(drop))
    monkeypatch.setenv("UPM_TIMEZONE", "America/Los_Angeles")
    get_settings.cache_clear()

    summary = import_read_drop_folder.delay().get()

    assert summary["folder"] == str(drop)
    assert [entry["status"] for entry in summary["files"]] == ["processed", "processed"]
    assert count(session, Read) == 4


def test_task_without_folder_does_nothing(db_url: str) -> None:
    assert get_settings().read_drop_dir is None
    assert import_read_drop_folder.delay().get() == {"folder": None, "files": []}
