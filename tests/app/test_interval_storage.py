"""Storing interval files: straight COPY, the staging path, and reading them back.

A file whose intervals overlap none already stored is copied straight into
``interval_reads``. One that overlaps goes through the staging table, and so does one
that loses a race to a concurrent import. Reading back converts every start to UTC,
whatever the database session's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.meters.import_formats import intervals
from app.meters.imports import ImportReport, ReadFormat, import_reads
from app.meters.interval_queries import interval_rows
from app.meters.leaks import _load_series
from app.meters.models import IntervalRead, Register
from metering.mapped_csv import load_mapping
from tests.app.factories import City
from tests.conftest import ON_POSTGRES

ZONE = ZoneInfo("America/Chicago")
FIRST = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
MAPPING = load_mapping(
    'kind = "interval"\ninterval_minutes = 60\n'
    '[columns]\nmeter = "meter"\ntimestamp = "start"\nvalue = "value"\n'
    '[fixed]\nunit = "kWh"\n'
)


def interval_meter(session: Session) -> Register:
    city = City(session)
    _account, premise = city.account()
    return city.meter(premise, "E-1", "electric", "kWh", interval=True, dials=None)


def hourly_file(first_hour: int, values: list[str]) -> bytes:
    lines = ["meter,start,value"]
    for offset, value in enumerate(values):
        start = FIRST + dt.timedelta(hours=first_hour + offset)
        lines.append(f"E-1,{start.isoformat()},{value}")
    return ("\n".join(lines) + "\n").encode()


def run_import(session: Session, content: bytes, name: str) -> ImportReport:
    # A mapped file, because its intervals keep their lines and a conflict is reported
    # on its line; an interval CSV counts it as a duplicate.
    return import_reads(
        session,
        filename=name,
        content=content,
        file_format=ReadFormat.MAPPED,
        zone=ZONE,
        actor="test",
        mapping=MAPPING,
    )


def stored_values(session: Session) -> list[Decimal]:
    return list(session.scalars(select(IntervalRead.value).order_by(IntervalRead.start_at)))


def overlapping_imports(session: Session) -> ImportReport:
    """Import hours 0 to 9, then hours 5 to 14 with another value for hour 7."""
    interval_meter(session)
    first = run_import(session, hourly_file(0, ["1"] * 10), "first.csv")
    assert first.rows_stored == 10
    second_values = ["1", "1", "9", "1", "1"] + ["2"] * 5
    return run_import(session, hourly_file(5, second_values), "second.csv")


def check_overlap_result(session: Session, report: ImportReport) -> None:
    assert report.rows_stored == 5
    assert report.rows_duplicate == 4
    [conflict] = report.errors
    assert conflict.line_number == 4
    # Hour 7 from 06:00Z is 13:00Z, 07:00 in Chicago's standard time.
    assert conflict.reason.startswith(
        "duplicate-conflict: interval starting 2026-03-02 07:00 CST (2026-03-02T13:00:00Z) "
        "has value 9 but 1 was received first"
    )
    assert stored_values(session) == [Decimal(1)] * 10 + [Decimal(2)] * 5


def test_overlapping_file_goes_through_staging(session: Session) -> None:
    report = overlapping_imports(session)
    check_overlap_result(session, report)


@pytest.mark.skipif(not ON_POSTGRES, reason="the straight COPY is PostgreSQL's path")
def test_lost_race_falls_back_to_staging(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if a concurrent import stored the overlapping hours between the check and the
    # COPY: the check finds nothing, so the COPY meets stored rows and fails.
    monkeypatch.setattr(intervals, "_any_stored", lambda _session, _batches: False)
    report = overlapping_imports(session)
    check_overlap_result(session, report)
    # The failed COPY was rolled back to its savepoint, and the transaction goes on.
    assert session.scalar(select(func.count()).select_from(IntervalRead)) == 15


@pytest.mark.skipif(not ON_POSTGRES, reason="the session time zone is a PostgreSQL setting")
def test_rows_read_back_in_utc(session: Session) -> None:
    register = interval_meter(session)
    quarters = ["0.25", "0.5", "0.75", "1"]
    for offset, value in enumerate(quarters):
        session.add(
            IntervalRead(
                register_id=register.id,
                start_at=FIRST + dt.timedelta(minutes=15 * offset),
                seconds=900,
                value=Decimal(value),
            )
        )
    session.flush()
    # India is 5:30 ahead of UTC, so an hour there is not an hour in UTC.
    session.execute(text("SET TIME ZONE 'Asia/Kolkata'"))

    window = {register.id: (FIRST, FIRST + dt.timedelta(hours=1))}
    starts = [row[1] for row in interval_rows(session, window)]
    assert starts == [FIRST + dt.timedelta(minutes=15 * offset) for offset in range(4)]
    assert all(start.utcoffset() == dt.timedelta(0) for start in starts)

    series = _load_series(
        session,
        {register.id: (register.meter_id, "kWh")},
        {register.id: FIRST},
        FIRST + dt.timedelta(hours=2),
    )
    assert series[register.id].starts == [FIRST]
    assert series[register.id].values == [Decimal("2.5")]
