"""The demo's metering day: AMI import with a leak, a polled Modbus meter, an estimated bill."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import alerts
from app.accounts.models import Account
from app.billing.models import BillMeterSegment
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.demo.metering import describe_metering, seed_metering_day
from app.demo.seed import seed_demo
from app.messaging.models import OutboundMessage, Program
from app.meters.leak_models import LeakEpisode
from app.meters.models import Meter, Read, ReadStatus, Register
from app.meters.usage_series import DateRange, Granularity, usage_series
from app.settings import get_settings

ZONE = ZoneInfo("America/Chicago")
PERIOD = parse_period("2026-11")


def _first_meter_flow(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    first = rows[0]["Meter_ID"]
    return sum(int(Decimal(row["Flow"])) for row in rows if row["Meter_ID"] == first)


def test_metering_day_alerts_and_polls(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    staff_alerts: list[tuple[str, str]] = []

    def sink(kind: str, text: str) -> None:
        staff_alerts.append((kind, text))

    alerts.register_sink(sink)
    try:
        with session_factory() as session:
            seed_demo(session, accounts=40, period=PERIOD, zone=ZONE, seed=7, actor="test")
            session.commit()
        with session_factory() as session:
            report = seed_metering_day(
                session,
                settings=get_settings(),
                zone=ZONE,
                folder=tmp_path / "ami",
                actor="test",
                seed=7,
            )
            session.commit()
    finally:
        alerts._sinks.remove(sink)

    # 12 households, 24 hourly lines each; every line gives a register read and a flow.
    assert report.ami_rows == 12 * 24
    assert report.reads_stored == 2 * 12 * 24
    assert report.rows_kept == 0
    assert Path(report.ami_file).is_file()
    with session_factory() as session:
        episodes = list(session.scalars(select(LeakEpisode)))
        # Only the first household's flow never stops.
        assert len(episodes) == 1
        assert episodes[0].closed_at is None
        texts = list(
            session.scalars(
                select(OutboundMessage).where(OutboundMessage.program == Program.ALERTS)
            )
        )
        assert texts and all(text.account_id == episodes[0].account_id for text in texts)
        assert texts[0].kind == "leak"
        # The households' AMI reads carry on from their monthly reads, so none is held.
        assert session.scalars(select(Read).where(Read.status == ReadStatus.HELD)).all() == []
        # The text counts the leaking meter's flow over the day, as the file gives it.
        assert f" ({_first_meter_flow(Path(report.ami_file))} gal)" in texts[0].body
        polled = session.execute(
            select(Read.value, Read.source)
            .join(Register, Register.id == Read.register_id)
            .join(Meter, Meter.id == Register.meter_id)
            .where(Meter.serial == "SDM-0001")
        ).all()
        # The simulated SDM120 starts at 12,345.67 kWh and grows 1.2 kW: within a
        # minute of starting it reads under 12,345.69.
        assert len(polled) == 1
        assert Decimal("12345.67") <= polled[0].value < Decimal("12345.69")
        assert polled[0].source == "modbus"
        described = describe_metering(session, report)
        # The daily chart keeps the monthly history before the first hourly interval.
        leaking = session.get(Account, episodes[0].account_id)
        assert leaking is not None
        today = dt.datetime.now(ZONE).date()
        [water] = usage_series(
            session,
            leaking,
            granularity=Granularity.DAILY,
            span=DateRange(today - dt.timedelta(days=90), today + dt.timedelta(days=1)),
            zone=ZONE,
            service="water",
        )
        sources = {point.source for point in water.points}
        assert sources == {"register", "interval"}
    assert [kind for kind, _text in staff_alerts].count("leak_detected") == 1
    assert described.leak_episodes and described.texts


def test_missing_read_is_billed_on_an_estimate(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        seeded = seed_demo(session, accounts=20, period=PERIOD, zone=ZONE, seed=7, actor="test")
        session.commit()
    missing = seeded.special_cases["missing read"]
    for cycle in ("C1", "C2", "C3", "C4"):
        summary = run_bill_run(
            session_factory,
            cycle_code=cycle,
            period=PERIOD,
            actor="test",
            zone=ZONE,
            due_days=21,
            estimate_missing_reads=True,
        )
        assert missing not in {row.account_number for row in summary.exceptions}
    with session_factory() as session:
        segments = list(
            session.scalars(
                select(BillMeterSegment).where(BillMeterSegment.end_read_type == "estimated")
            )
        )
        assert len(segments) == 1
        assert segments[0].end_date <= PERIOD.end
        assert segments[0].end_date > PERIOD.end - dt.timedelta(days=8)
