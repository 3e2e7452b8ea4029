"""Storing BEACON exports, wmbusmeters JSON lines and mapped CSV files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.meters import after_store
from app.meters.flags import MeterFlag
from app.meters.imports import ImportReport, ReadFormat, guess_format, import_reads
from app.meters.models import IntervalRead, Read, ReadImportError, ReadStatus, Register
from metering.mapped_csv import load_mapping
from tests.app.factories import City

DATA = Path(__file__).resolve().parent.parent / "data"
MAPPINGS = Path(__file__).resolve().parents[2] / "docs" / "mappings"
BEACON_FILE = DATA / "ami_exports" / "beacon-360-report.csv"
WMBUS_FILE = DATA / "wmbus" / "water_telegrams.jsonl"
PACIFIC = ZoneInfo("America/Los_Angeles")
CENTRAL = ZoneInfo("America/Chicago")


def run_import(
    session: Session,
    content: bytes,
    file_format: ReadFormat,
    name: str = "reads",
    zone: ZoneInfo = CENTRAL,
    **options: Any,
) -> ImportReport:
    return import_reads(
        session,
        filename=name,
        content=content,
        file_format=file_format,
        zone=zone,
        actor="test",
        **options,
    )


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def beacon_meter(
    session: Session, serial: str = "1470158170", unit: str = "ccf", flow_unit: str | None = "gal"
) -> tuple[Register, Register | None]:
    """A water meter with register 1 in ``unit`` and, unless None, an interval register."""
    city = City(session)
    _account, premise = city.account()
    register = city.meter(premise, serial, "water", unit)
    if flow_unit is None:
        return register, None
    flow = Register(meter_id=register.meter_id, code="F", unit=flow_unit, interval=True)
    session.add(flow)
    session.flush()
    return register, flow


# BEACON


def test_beacon_stores_read_and_flow_units(session: Session) -> None:
    register, flow = beacon_meter(session)
    assert flow is not None
    report = run_import(session, BEACON_FILE.read_bytes(), ReadFormat.BEACON, zone=PACIFIC)
    assert report.errors == []
    assert report.rows_read == 2
    # Two register reads and two intervals.
    assert report.rows_stored == 4

    reads = session.execute(
        select(Read.value, Read.read_at, Read.read_date, Read.source)
        .where(Read.register_id == register.id)
        .order_by(Read.read_at)
    ).all()
    # Read_Time 2024-08-01 00:59 and 01:59 Pacific daylight time (-07:00).
    assert reads == [
        (Decimal("227.6"), utc(2024, 8, 1, 7, 59), dt.date(2024, 8, 1), "beacon"),
        (Decimal("227.6"), utc(2024, 8, 1, 8, 59), dt.date(2024, 8, 1), "beacon"),
    ]
    intervals = session.execute(
        select(IntervalRead.start_at, IntervalRead.seconds, IntervalRead.value)
        .where(IntervalRead.register_id == flow.id)
        .order_by(IntervalRead.start_at)
    ).all()
    assert intervals == [
        (utc(2024, 8, 1, 7), 3600, Decimal("5.0")),
        (utc(2024, 8, 1, 8), 3600, Decimal("5.0")),
    ]
    assert register.unit == "ccf"
    assert flow.unit == "gal"


def test_beacon_flow_unit_mismatch_is_kept(session: Session) -> None:
    register, _flow = beacon_meter(session, flow_unit="ccf")
    report = run_import(session, BEACON_FILE.read_bytes(), ReadFormat.BEACON, zone=PACIFIC)
    assert [error.line_number for error in report.errors] == [2, 3]
    reason = report.errors[0].reason
    assert "Flow_Unit 'Gallons'" in reason
    assert "'ccf'" in reason
    assert count(session, IntervalRead) == 0
    assert report.rows_stored == 2
    kept = session.scalars(select(ReadImportError.line_number).order_by(ReadImportError.id)).all()
    assert kept == [2, 3]


def test_beacon_read_unit_mismatch_is_kept(session: Session) -> None:
    beacon_meter(session, unit="gal")
    report = run_import(session, BEACON_FILE.read_bytes(), ReadFormat.BEACON, zone=PACIFIC)
    assert report.rows_stored == 0
    assert "Read_Unit 'CCF'" in report.errors[0].reason
    assert "'gal'" in report.errors[0].reason
    assert count(session, Read) == 0
    assert count(session, IntervalRead) == 0


def test_beacon_meter_without_interval_register(session: Session) -> None:
    beacon_meter(session, flow_unit=None)
    report = run_import(session, BEACON_FILE.read_bytes(), ReadFormat.BEACON, zone=PACIFIC)
    assert report.errors == []
    assert report.rows_stored == 2
    assert count(session, IntervalRead) == 0


def test_beacon_endpoint_serial_finds_meter(session: Session) -> None:
    register, _flow = beacon_meter(session, serial="130615549")
    report = run_import(session, BEACON_FILE.read_bytes(), ReadFormat.BEACON, zone=PACIFIC)
    assert report.errors == []
    stored = session.scalar(
        select(func.count()).select_from(Read).where(Read.register_id == register.id)
    )
    assert stored == 2


def test_beacon_unknown_meter_is_kept(session: Session) -> None:
    report = run_import(session, BEACON_FILE.read_bytes(), ReadFormat.BEACON, zone=PACIFIC)
    assert len(report.errors) == 2
    assert "meter '1470158170' or endpoint '130615549'" in report.errors[0].reason
    assert count(session, ReadImportError) == 2


def test_beacon_import_twice_adds_nothing(session: Session) -> None:
    beacon_meter(session)
    content = BEACON_FILE.read_bytes()
    run_import(session, content, ReadFormat.BEACON, zone=PACIFIC)
    again = run_import(session, content, ReadFormat.BEACON, zone=PACIFIC)
    assert again.already_imported is True
    copy = run_import(session, content + b"\n", ReadFormat.BEACON, name="copy", zone=PACIFIC)
    assert copy.already_imported is False
    assert copy.rows_stored == 0
    assert copy.rows_duplicate == 4
    assert count(session, Read) == 2
    assert count(session, IntervalRead) == 2


def test_beacon_flow_conflict_is_kept(session: Session) -> None:
    _register, flow = beacon_meter(session)
    content = BEACON_FILE.read_bytes()
    run_import(session, content, ReadFormat.BEACON, zone=PACIFIC)
    changed = content.replace(b'"5.0"', b'"6.5"', 1)
    report = run_import(session, changed, ReadFormat.BEACON, name="changed", zone=PACIFIC)
    assert [error.line_number for error in report.errors] == [2]
    assert report.errors[0].reason.startswith("duplicate-conflict:")
    assert "6.5" in report.errors[0].reason
    assert report.rows_duplicate == 3
    assert flow is not None
    kept = session.scalar(
        select(IntervalRead.value).where(IntervalRead.start_at == utc(2024, 8, 1, 7))
    )
    assert kept == Decimal("5.0")


# wmbusmeters


def wmbus_meter(session: Session, serial: str, unit: str = "m3") -> Register:
    city = City(session)
    _account, premise = city.account(f"Owner of {serial}")
    return city.meter(premise, serial, "water", unit, dials=None)


def telegram(meter: str, at: str, total: str, status: str | None = None) -> str:
    fields = f'"id": "{meter}", "media": "water", "timestamp": "{at}", "total_m3": {total}'
    if status is not None:
        fields += f', "status": "{status}"'
    return "{" + fields + "}\n"


# Field case: the same telegram through two receivers, a repeat 8 s later, and a
# conflicting value at 10:15 from the second receiver.
REPEATER_FILE = (
    telegram("WM-0002", "2024-06-18T10:00:00Z", "521.602")
    + telegram("WM-0002", "2024-06-18T10:00:00Z", "521.602")
    + telegram("WM-0002", "2024-06-18T10:00:08Z", "521.602")
    + telegram("WM-0002", "2024-06-18T10:15:00Z", "521.610")
    + telegram("WM-0002", "2024-06-18T10:15:00Z", "521.605")
).encode()


def test_wmbus_repeats_are_stored_once(session: Session) -> None:
    register = wmbus_meter(session, "WM-0002")
    report = run_import(session, REPEATER_FILE, ReadFormat.WMBUS)
    assert report.rows_read == 5
    assert report.rows_stored == 2
    assert report.rows_duplicate == 2
    assert [error.line_number for error in report.errors] == [5]
    assert report.errors[0].reason.startswith("duplicate-conflict:")
    assert "521.605" in report.errors[0].reason
    assert "521.610" in report.errors[0].reason

    values = session.execute(
        select(Read.read_at, Read.value)
        .where(Read.register_id == register.id)
        .order_by(Read.read_at)
    ).all()
    assert values == [
        (utc(2024, 6, 18, 10), Decimal("521.602")),
        (utc(2024, 6, 18, 10, 15), Decimal("521.610")),
    ]
    assert values[1][1] - values[0][1] == Decimal("0.008")
    kept = session.scalars(select(ReadImportError.raw)).one()
    assert "521.605" in kept

    again = run_import(session, REPEATER_FILE, ReadFormat.WMBUS, name="again")
    assert again.already_imported is False  # rows failed, so the file is read again
    assert again.rows_stored == 0
    assert count(session, Read) == 2


def test_wmbus_conflict_with_stored_read(session: Session) -> None:
    wmbus_meter(session, "WM-0002")
    run_import(
        session, telegram("WM-0002", "2024-06-18T10:15:00Z", "521.610").encode(), ReadFormat.WMBUS
    )
    late = telegram("WM-0002", "2024-06-18T10:15:00Z", "521.605").encode()
    report = run_import(session, late, ReadFormat.WMBUS, name="late")
    assert report.rows_stored == 0
    assert (
        "duplicate-conflict: conflicts with the stored read of 521.610" in report.errors[0].reason
    )
    assert session.scalars(select(Read.value)).all() == [Decimal("521.610")]


def test_wmbus_same_value_after_window_is_stored(session: Session) -> None:
    wmbus_meter(session, "WM-0002")
    content = (
        telegram("WM-0002", "2024-06-18T10:00:00Z", "521.602")
        + telegram("WM-0002", "2024-06-18T10:00:30Z", "521.602")
        + telegram("WM-0002", "2024-06-18T10:00:31Z", "521.602")
    ).encode()
    report = run_import(session, content, ReadFormat.WMBUS)
    # 30 s after the kept read is still a repeat; 31 s after it, the read is stored.
    assert report.rows_stored == 2
    assert report.rows_duplicate == 1


def test_wmbus_total_converted_to_gallons(session: Session) -> None:
    wmbus_meter(session, "WM-0003", unit="gal")
    report = run_import(
        session, telegram("WM-0003", "2024-06-18T10:00:00Z", "1").encode(), ReadFormat.WMBUS
    )
    assert report.errors == []
    # 1 m3 = 1 / 0.003785411784 gal = 264.1720523581..., rounded to 6 places.
    assert session.scalars(select(Read.value)).one() == Decimal("264.172052")


def test_wmbus_register_not_volume_is_kept(session: Session) -> None:
    wmbus_meter(session, "WM-0004", unit="kWh")
    report = run_import(
        session, telegram("WM-0004", "2024-06-18T10:00:00Z", "1").encode(), ReadFormat.WMBUS
    )
    assert "'kWh', which is not a volume unit" in report.errors[0].reason
    assert count(session, Read) == 0


def test_wmbus_flags_are_stored_once(session: Session) -> None:
    register = wmbus_meter(session, "WM-0005")
    content = (
        telegram("WM-0005", "2024-06-18T10:00:00Z", "10.5", "LEAK BURST")
        + telegram("WM-0005", "2024-06-18T10:15:00Z", "10.9", "OK")
        + telegram("WM-0005", "2024-06-18T10:30:00Z", "11.0", "DRY")
    ).encode()
    run_import(session, content, ReadFormat.WMBUS)
    run_import(session, content + b"\n", ReadFormat.WMBUS, name="copy")
    flags = session.execute(
        select(
            MeterFlag.flag, MeterFlag.flagged_at, MeterFlag.register_id, MeterFlag.source
        ).order_by(MeterFlag.flagged_at, MeterFlag.flag)
    ).all()
    assert flags == [
        ("burst", utc(2024, 6, 18, 10), register.id, "wmbus"),
        ("leak", utc(2024, 6, 18, 10), register.id, "wmbus"),
        ("dry", utc(2024, 6, 18, 10, 30), register.id, "wmbus"),
    ]


def test_wmbus_sample_file_flags_leak(session: Session) -> None:
    # Line 32 of the wmbusmeters sample: meter 00345157 reports P_LEAK and P_REVERSE_FLOW.
    register = wmbus_meter(session, "00345157")
    report = run_import(session, WMBUS_FILE.read_bytes(), ReadFormat.WMBUS, name="vectors.jsonl")
    assert report.rows_read == 155
    assert report.rows_stored == 1
    assert session.scalars(select(Read.value).where(Read.register_id == register.id)).one() == (
        Decimal("22.791")
    )
    flags = session.scalars(select(MeterFlag.flag).order_by(MeterFlag.flag)).all()
    assert flags == ["backflow", "leak"]
    lines = WMBUS_FILE.read_text().splitlines()
    other_meters = [line for line in lines if '"total_m3"' in line and "00345157" not in line]
    unknown = [error for error in report.errors if "not found" in error.reason]
    assert len(unknown) == len(other_meters)


# Mapped CSV


def test_mapped_register_file(session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    register = city.meter(premise, "WM-0001", "water", "gal")
    mapping = load_mapping((MAPPINGS / "route-register.mapping.toml").read_text())
    content = (
        b"R07,WM-0001,2026-07-31T14:05:00-05:00,001234.5\n"
        b"R07,WM-0009,2026-07-31T14:06:00-05:00,10\n"
        b"R07,WM-0001,2026-08-31T14:05:00-05:00,bad\n"
        b"R07,WM-0001,2026-08-31T14:10:00-05:00,1300\n"
    )
    report = run_import(session, content, ReadFormat.MAPPED, mapping=mapping)
    assert report.rows_stored == 2
    assert [error.line_number for error in report.errors] == [2, 3]
    assert "'WM-0009'" in report.errors[0].reason
    assert "line 3, column '#4'" in report.errors[1].reason
    values = session.scalars(
        select(Read.value).where(Read.register_id == register.id).order_by(Read.read_at)
    ).all()
    assert values == [Decimal("1234.5"), Decimal("1300")]
    again = run_import(session, content, ReadFormat.MAPPED, mapping=mapping)
    assert again.rows_stored == 0
    assert count(session, Read) == 2


def test_mapped_interval_file(session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    register = city.meter(premise, "E-1001", "electric", "kWh", interval=True, dials=None)
    mapping = load_mapping((MAPPINGS / "hourly-interval.mapping.toml").read_text())
    content = (
        b"Zaehler;Kanal;Ende;Verbrauch;Einheit\n"
        b"E-1001;1;06.11.2016 01:00;0,41;kWh\n"
        b"E-1001;1;06.11.2016 01:00;0,52;kWh\n"
        b"E-1001;1;06.11.2016 02:00;0,63;kWh\n"
        b"E-1001;1;06.11.2016 03:00;0,7;therm\n"
    )
    report = run_import(session, content, ReadFormat.MAPPED, mapping=mapping)
    assert report.rows_stored == 3
    assert [error.line_number for error in report.errors] == [5]
    assert "'therm' does not match the unit 'kWh'" in report.errors[0].reason
    stored = session.execute(
        select(IntervalRead.start_at, IntervalRead.value)
        .where(IntervalRead.register_id == register.id)
        .order_by(IntervalRead.start_at)
    ).all()
    # End times: 01:00 CDT, then 01:00 again (now CST) and 02:00 CST, an hour apart each.
    assert stored == [
        (utc(2016, 11, 6, 5), Decimal("0.41")),
        (utc(2016, 11, 6, 6), Decimal("0.52")),
        (utc(2016, 11, 6, 7), Decimal("0.63")),
    ]


def test_mapped_interval_unknown_meter_or_register(session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    city.meter(premise, "E-1001", "electric", "kWh", interval=True, dials=None)
    city.meter(premise, "E-2002", "electric", "kWh", dials=None)
    mapping = load_mapping((MAPPINGS / "hourly-interval.mapping.toml").read_text())
    content = (
        b"Zaehler;Kanal;Ende;Verbrauch;Einheit\n"
        b"NOPE-1;1;06.11.2016 03:00;0,41;kWh\n"
        b"E-2002;1;06.11.2016 03:00;0,41;kWh\n"
        b"E-1001;9;06.11.2016 03:00;0,41;kWh\n"
    )
    report = run_import(session, content, ReadFormat.MAPPED, mapping=mapping)
    reasons = [error.reason for error in report.errors]
    assert reasons[0].startswith("meter 'NOPE-1' not found; correct the meter column")
    assert reasons[1].startswith("meter 'E-2002' has no interval register '1'")
    assert reasons[2].startswith("meter 'E-1001' has no interval register '9'")


def test_mapped_format_needs_mapping(session: Session) -> None:
    with pytest.raises(InvalidInput, match="pass --mapping"):
        run_import(session, b"a,b\n", ReadFormat.MAPPED)


# Format guessing and the after-store hook


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("beacon.csv", BEACON_FILE.read_bytes(), ReadFormat.BEACON),
        ("telegrams.jsonl", b"", ReadFormat.WMBUS),
        ("telegrams.json", b"", ReadFormat.WMBUS),
        ("usage.csv", b"start,value\n2024-01-01T00:00:00Z,1\n", ReadFormat.INTERVAL),
        ("reads.csv", b"meter,read_date,value,unit\n", ReadFormat.CSV),
        ("usage.xml", b"", ReadFormat.GREENBUTTON),
    ],
)
def test_guess_format(name: str, content: bytes, expected: ReadFormat) -> None:
    assert guess_format(name, content) == expected


def test_hook_gets_new_pending_reads(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    # A recording stand-in for the hook: the real one belongs to validation and leak
    # detection, which have their own tests.
    calls: list[tuple[list[int], list[int]]] = []
    spans: list[Any] = []

    def record(
        _session: Session,
        *,
        register_ids: Any = (),
        interval_register_ids: Any = (),
        interval_spans: Any = None,
    ) -> None:
        calls.append((list(register_ids), list(interval_register_ids)))
        spans.append(interval_spans)

    monkeypatch.setattr("app.meters.imports.reads_stored", record)
    register, flow = beacon_meter(session)
    assert flow is not None
    content = BEACON_FILE.read_bytes()
    run_import(session, content, ReadFormat.BEACON, zone=PACIFIC)
    run_import(session, content + b"\n", ReadFormat.BEACON, name="copy", zone=PACIFIC)
    assert calls == [([register.id], [flow.id])]
    starts = session.scalars(
        select(IntervalRead.start_at).where(IntervalRead.register_id == flow.id)
    ).all()
    assert len(starts) == 2
    assert spans == [{flow.id: (min(starts), max(starts))}]
    # Validation, which the stand-in skips, is what turns pending reads valid or held.
    statuses = session.scalars(select(Read.status)).all()
    assert statuses == [ReadStatus.PENDING, ReadStatus.PENDING]
    assert after_store.reads_stored is not record
