"""Importing reads: good rows land, bad rows are kept with their line, nothing twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.errors import InvalidInput
from app.meters.imports import ReadFormat, import_reads
from app.meters.models import IntervalRead, Read, ReadImport, ReadImportError
from tests.app.factories import City

ZONE = ZoneInfo("America/Chicago")
DATA = Path(__file__).resolve().parent.parent / "data"

GOOD = b"""meter,register,read_date,value,unit
W-1,1,2026-07-01,100000,gal
W-1,1,2026-08-01,108000,gal
W-2,1,2026-08-01,5000,gal
"""


def run_import(session: Session, content: bytes, name: str = "reads.csv",
               file_format: ReadFormat = ReadFormat.CSV, meter: str | None = None):  # type: ignore[no-untyped-def]
    return import_reads(session, filename=name, content=content, file_format=file_format,
                        zone=ZONE, actor="test", meter_serial=meter)


def meters(session: Session) -> City:
    city = City(session)
    _account, premise = city.account()
    city.meter(premise, "W-1", "water", "gal")
    city.meter(premise, "W-2", "water", "gal")
    return city


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_good_file_stores_every_read(session: Session) -> None:
    meters(session)
    report = run_import(session, GOOD)
    assert report.rows_read == 3
    assert report.rows_stored == 3
    assert report.errors == []
    values = session.scalars(select(Read.value).order_by(Read.id)).all()
    assert values == [Decimal("100000"), Decimal("108000"), Decimal("5000")]


def test_same_file_twice_adds_nothing(session: Session) -> None:
    meters(session)
    run_import(session, GOOD)
    again = run_import(session, GOOD)
    assert again.already_imported is True
    assert again.rows_stored == 0
    assert count(session, Read) == 3


def test_overlapping_file_counts_duplicates(session: Session) -> None:
    meters(session)
    run_import(session, GOOD)
    overlapping = GOOD + b"W-2,1,2026-09-01,9000,gal\n"
    report = run_import(session, overlapping, name="reads-2.csv")
    assert report.already_imported is False
    assert report.rows_stored == 1
    assert report.rows_duplicate == 3
    assert count(session, Read) == 4


def test_bad_rows_are_kept_and_good_rows_land(session: Session) -> None:
    meters(session)
    content = (
        b"meter,register,read_date,value,unit\n"
        b"W-1,1,2026-07-01,100000,gal\n"
        b"W-1,1,2026-08-01,abc,gal\n"
        b"W-9,1,2026-08-01,10,gal\n"
        b"W-2,1,2026-08-01,10,kWh\n"
        b"W-2,1,2026-08-02,12,gal\n"
    )
    report = run_import(session, content)
    lines = [error.line_number for error in report.errors]
    assert lines == [3, 4, 5]
    assert "abc" in report.errors[0].reason
    assert "W-9" in report.errors[1].reason
    assert "'kWh'" in report.errors[2].reason
    assert report.rows_stored == 2
    kept = session.scalars(select(ReadImportError.line_number).order_by(ReadImportError.id)).all()
    assert kept == [3, 4, 5]


def test_conflicting_value_is_kept_for_review(session: Session) -> None:
    meters(session)
    run_import(session, GOOD)
    conflict = b"meter,register,read_date,value,unit\nW-1,1,2026-08-01,108500,gal\n"
    report = run_import(session, conflict, name="fix.csv")
    assert report.rows_stored == 0
    assert "conflicts with the stored read of 108000" in report.errors[0].reason
    stored = session.scalar(select(Read.value).where(Read.read_key == "2026-08-01",
                                                     Read.register_id == 1))
    assert stored == Decimal("108000")


def test_import_is_audited(session: Session) -> None:
    meters(session)
    run_import(session, GOOD)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.import")).one()
    assert event.actor == "test"
    assert event.outcome == "imported"


def test_green_button_keeps_true_instants(session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    city.meter(premise, "GB-1", "electric", "kWh", interval=True, dials=None)
    content = (DATA / "greenbutton"
               / "Desert_Single_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_7.xml").read_bytes()
    report = run_import(session, content, name="gb.xml", file_format=ReadFormat.GREENBUTTON,
                        meter="GB-1")
    assert report.rows_stored == 8760

    pacific = ZoneInfo("America/Los_Angeles")

    def hours_on(day: dt.date) -> int:
        start = dt.datetime.combine(day, dt.time(0), tzinfo=pacific)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=pacific)
        return session.scalar(select(func.count()).select_from(IntervalRead).where(
            IntervalRead.start_at >= start, IntervalRead.start_at < end)) or 0

    assert hours_on(dt.date(2011, 3, 13)) == 23
    assert hours_on(dt.date(2011, 11, 6)) == 25
    assert hours_on(dt.date(2011, 7, 1)) == 24

    again = run_import(session, content + b"\n", name="gb-copy.xml",
                       file_format=ReadFormat.GREENBUTTON, meter="GB-1")
    assert again.rows_stored == 0
    assert again.rows_duplicate == 8760


def test_green_button_needs_a_meter(session: Session) -> None:
    content = (DATA / "greenbutton" / "TestGBDataHourlyNineDaysBinnedDaily.xml").read_bytes()
    with pytest.raises(InvalidInput, match="pass --meter SERIAL"):
        run_import(session, content, name="gb.xml", file_format=ReadFormat.GREENBUTTON)


def test_same_file_after_fix_is_processed_again(session: Session) -> None:
    city = meters(session)
    content = GOOD + b"W-3,1,2026-08-01,700,gal\n"
    first = run_import(session, content)
    assert [error.line_number for error in first.errors] == [5]
    assert "'W-3' register '1' not found" in first.errors[0].reason

    # The office adds the missing meter; the same file now stores the row it rejected.
    _account, premise = city.account("Late Meter")
    city.meter(premise, "W-3", "water", "gal")
    second = run_import(session, content)
    assert second.already_imported is False
    assert second.import_id == first.import_id
    assert second.rows_stored == 1
    assert second.rows_duplicate == 3
    assert second.errors == []
    assert count(session, ReadImportError) == 0
    # The import counts every read the file stored, over both passes.
    batch = session.get(ReadImport, first.import_id)
    assert batch is not None
    assert (batch.rows_stored, batch.rows_failed) == (4, 0)

    third = run_import(session, content)
    assert third.already_imported is True


def test_unknown_green_button_meter_not_found(session: Session) -> None:
    content = (DATA / "greenbutton" / "TestGBDataHourlyNineDaysBinnedDaily.xml").read_bytes()
    with pytest.raises(InvalidInput, match="meter 'ZZZ' not found"):
        run_import(session, content, name="gb.xml", file_format=ReadFormat.GREENBUTTON,
                   meter="ZZZ")


def test_interval_csv_keeps_both_fall_back_hours(session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    city.meter(premise, "E-1", "electric", "kWh", interval=True, dials=None)
    content = (
        b"start,value\n"
        b"2016-11-06T00:00:00-05:00,0.5\n"
        b"2016-11-06T01:00:00-05:00,0.6\n"
        b"2016-11-06T01:00:00-06:00,0.7\n"
        b"2016-11-06T02:00:00-06:00,oops\n"
    )
    report = run_import(session, content, name="hourly.csv", file_format=ReadFormat.INTERVAL,
                        meter="E-1")
    assert report.rows_stored == 3
    assert [error.line_number for error in report.errors] == [5]
    starts = session.scalars(select(IntervalRead.start_at).order_by(IntervalRead.start_at)).all()
    assert starts == [
        dt.datetime(2016, 11, 6, 5, tzinfo=dt.UTC),
        dt.datetime(2016, 11, 6, 6, tzinfo=dt.UTC),
        dt.datetime(2016, 11, 6, 7, tzinfo=dt.UTC),
    ]
