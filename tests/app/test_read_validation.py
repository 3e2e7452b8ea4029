"""Read validation in the app: the after-store hook, the bill run and staff editing.

Reads stored as ``pending`` stand for reads an importer stored; the hook then validates
them as it does after every import.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEvent
from app.billing.models import Bill, BillLine, BillMeterSegment, BillRunException
from app.billing.periods import BillingPeriod, parse_period
from app.billing.run import BillRunSummary, run_bill_run
from app.db import make_engine
from app.errors import Conflict, InvalidInput
from app.meters.after_store import reads_stored
from app.meters.editing import accept_read, list_held_reads, reject_read, replace_read
from app.meters.models import IntervalRead, Read, ReadStatus, ReadType, Register
from app.meters.validation import validate_interval_data, validate_reads
from app.meters.validation_models import FindingSeverity, FindingStatus, ReadFinding
from app.migrate import upgrade
from tests.app.factories import City, electric_tariff

ZONE = ZoneInfo("America/Chicago")
JULY_2024 = parse_period("2024-07")


def bill_run(factory: sessionmaker[Session], period: BillingPeriod = JULY_2024) -> BillRunSummary:
    return run_bill_run(
        factory, cycle_code="C1", period=period, actor="test", zone=ZONE, due_days=21
    )


def pending(
    city: City, register: Register, day: dt.date, value: str, at: dt.datetime | None = None
) -> Read:
    read = city.read(register, day, value, at=at)
    read.status = ReadStatus.PENDING
    city.session.flush()
    return read


def findings_of(session: Session, read: Read) -> list[tuple[str, FindingSeverity]]:
    rows = session.execute(
        select(ReadFinding.rule, ReadFinding.severity)
        .where(ReadFinding.read_id == read.id)
        .order_by(ReadFinding.id)
    )
    return [(rule, severity) for rule, severity in rows]


def electric_customer(city: City):  # type: ignore[no-untyped-def]
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    return account, premise


def test_hook_makes_pending_reads_valid(session: Session) -> None:
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-1", "electric", "kWh", dials=5)
    first = pending(city, meter, dt.date(2024, 7, 1), "17000.000")
    second = pending(city, meter, dt.date(2024, 7, 31), "17300.000")

    reads_stored(session, register_ids=[meter.id])

    assert first.status == ReadStatus.VALID
    assert second.status == ReadStatus.VALID
    assert session.scalar(select(func.count()).select_from(ReadFinding)) == 0


def test_direct_insert_defaults_to_valid(session: Session) -> None:
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-1", "electric", "kWh")
    read = city.read(meter, dt.date(2024, 7, 1), "1")
    session.expire(read)
    assert read.status == ReadStatus.VALID


def test_changeout_on_file_bills_two_segments(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    # The old meter E-OLD is removed on July 15 and E-NEW installed, starting at 0.000.
    city = City(session)
    _account, premise = electric_customer(city)
    changed = dt.date(2024, 7, 15)
    old = city.meter(premise, "E-OLD", "electric", "kWh", removed_on=changed, dials=5)
    new = city.meter(premise, "E-NEW", "electric", "kWh", installed_on=changed, dials=5)
    reads = [
        pending(city, old, dt.date(2024, 7, 1), "17000.000"),
        pending(city, old, changed, "17077.963"),
        pending(city, new, changed, "0.000"),
        pending(city, new, dt.date(2024, 7, 31), "212.500"),
    ]
    reads_stored(session, register_ids=[old.id, new.id])
    assert [read.status for read in reads] == [ReadStatus.VALID] * 4
    session.commit()

    summary = bill_run(session_factory)

    assert summary.exceptions == []
    segments = session.execute(
        select(BillMeterSegment.meter_serial, BillMeterSegment.consumption).order_by(
            BillMeterSegment.id
        )
    ).all()
    assert segments == [("E-OLD", Decimal("77.963")), ("E-NEW", Decimal("212.5"))]
    energy = session.scalars(select(BillLine).where(BillLine.code == "energy")).one()
    assert energy.quantity == Decimal("290.463")


def test_changeout_missing_holds_exchange_read(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    # Same reads on one meter with no changeout on file: 0.000 follows 17,077.963.
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-OLD", "electric", "kWh", dials=5)
    pending(city, meter, dt.date(2024, 7, 1), "17000.000")
    removal = pending(
        city,
        meter,
        dt.date(2024, 7, 15),
        "17077.963",
        at=dt.datetime(2024, 7, 15, 14, tzinfo=dt.UTC),
    )
    install = pending(
        city, meter, dt.date(2024, 7, 15), "0.000", at=dt.datetime(2024, 7, 15, 15, tzinfo=dt.UTC)
    )
    closing = pending(city, meter, dt.date(2024, 7, 31), "212.500")
    reads_stored(session, register_ids=[meter.id])

    assert removal.status == ReadStatus.VALID
    assert install.status == ReadStatus.HELD
    assert findings_of(session, install) == [("possible_meter_exchange", FindingSeverity.HOLD)]
    # 212.500 is compared with 17,077.963 too, since the held read is not history.
    assert closing.status == ReadStatus.HELD
    session.commit()

    summary = bill_run(session_factory)

    assert summary.bills_in_run == 0
    assert [exception.code for exception in summary.exceptions] == ["read_held"]
    message = session.scalars(select(BillRunException.message)).one()
    assert f"(read {install.id})" in message
    assert "possible_meter_exchange" in message
    assert session.scalar(select(func.count()).select_from(Bill)) == 0


def test_bill_run_validates_pending_reads(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-1", "electric", "kWh", dials=5)
    opening = pending(city, meter, dt.date(2024, 7, 1), "1000")
    closing = pending(city, meter, dt.date(2024, 7, 31), "1300")
    session.commit()

    summary = bill_run(session_factory)

    assert summary.exceptions == []
    assert summary.bills_in_run == 1
    session.refresh(opening)
    session.refresh(closing)
    assert opening.status == ReadStatus.VALID
    assert closing.status == ReadStatus.VALID


def high_usage_setup(city: City) -> tuple[Register, Read]:
    """Give a meter 10 kWh a day in June, then a July read of 40 kWh a day (held high)."""
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-1", "electric", "kWh", dials=5)
    for day, value in (("2024-06-01", "1000"), ("2024-06-11", "1100"), ("2024-07-01", "1300")):
        city.read(meter, dt.date.fromisoformat(day), value)
    # 30 days x 40 kWh = 1,200 kWh: 4 times the 10 kWh/day average, above 3.
    high = pending(city, meter, dt.date(2024, 7, 31), "2500")
    reads_stored(city.session, register_ids=[meter.id])
    return meter, high


def test_high_read_held_then_accepted(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    _meter, high = high_usage_setup(city)
    assert high.status == ReadStatus.HELD
    assert findings_of(session, high) == [("high_usage", FindingSeverity.HOLD)]
    finding = session.scalars(select(ReadFinding)).one()
    assert finding.measured == Decimal(4)
    assert finding.threshold == Decimal(3)
    session.commit()

    held_run = bill_run(session_factory)
    assert [exception.code for exception in held_run.exceptions] == ["read_held"]

    accept_read(session, high.id, actor="clerk:pat", reason="customer filled a pool")
    session.commit()
    assert high.status == ReadStatus.VALID
    session.refresh(finding)
    assert finding.status == FindingStatus.ACCEPTED
    assert finding.resolved_by == "clerk:pat"
    assert finding.reason == "customer filled a pool"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.accept")).one()
    assert event.target == f"read:{high.id}"
    assert event.arguments == {"reason": "customer filled a pool"}

    billed_run = bill_run(session_factory)
    assert billed_run.exceptions == []
    energy = session.scalars(select(BillLine).where(BillLine.code == "energy")).one()
    assert energy.quantity == Decimal(1200)


def test_held_reads_listed_with_codes(session: Session) -> None:
    city = City(session)
    _meter, high = high_usage_setup(city)
    [row] = list_held_reads(session)
    assert row.read_id == high.id
    assert row.meter_serial == "E-1"
    assert row.codes == ("high_usage",)
    assert "4 times the average of 10 kWh" in row.details[0]


def test_edit_keeps_replaced_read(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    meter, high = high_usage_setup(city)

    new = replace_read(session, high.id, value="1600", actor="clerk:pat", reason="misread dial")
    session.commit()

    assert high.status == ReadStatus.REPLACED
    assert high.replaced_by_id == new.id
    assert high.value == Decimal(2500)
    assert new.value == Decimal(1600)
    assert new.read_type == ReadType.EDITED
    assert new.source == "edited"
    assert new.status == ReadStatus.VALID
    assert new.read_key == "2024-07-31#1"
    assert new.read_date == high.read_date
    assert findings_of(session, high) == [("high_usage", FindingSeverity.HOLD)]
    finding = session.scalars(select(ReadFinding)).one()
    assert finding.status == FindingStatus.OVERRIDDEN
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.edit")).one()
    assert event.arguments == {"value": "1600", "reason": "misread dial"}
    assert (
        session.scalar(select(func.count()).select_from(Read).where(Read.register_id == meter.id))
        == 5
    )

    second = replace_read(session, new.id, value="1610", actor="clerk:pat", reason="again")
    assert second.read_key == "2024-07-31#2"
    session.commit()

    bill_run(session_factory)
    energy = session.scalars(select(BillLine).where(BillLine.code == "energy")).one()
    assert energy.quantity == Decimal(310)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_edit_requires_reason(session: Session, reason: str | None) -> None:
    city = City(session)
    _meter, high = high_usage_setup(city)
    with pytest.raises(InvalidInput) as error:
        replace_read(session, high.id, value="1600", actor="clerk:pat", reason=reason)
    assert error.value.code == "reason_required"
    assert high.status == ReadStatus.HELD


@pytest.mark.parametrize("value", ["-1", "abc", "1.0000001", "NaN"])
def test_edit_rejects_bad_value(session: Session, value: str) -> None:
    city = City(session)
    _meter, high = high_usage_setup(city)
    with pytest.raises(InvalidInput) as error:
        replace_read(session, high.id, value=value, actor="clerk:pat", reason="typo")
    assert error.value.code == "invalid_read_value"
    assert value in error.value.message


def test_reject_read_keeps_it(session: Session) -> None:
    city = City(session)
    _meter, high = high_usage_setup(city)

    reject_read(session, high.id, actor="clerk:pat", reason="meter not at this premise")

    assert high.status == ReadStatus.REJECTED
    finding = session.scalars(select(ReadFinding)).one()
    assert finding.status == FindingStatus.OVERRIDDEN
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target == f"read:{high.id}")
    )
    assert list(events) == ["reads.reject"]
    with pytest.raises(Conflict):
        accept_read(session, high.id, actor="clerk:pat", reason="changed my mind")


def test_rollover_read_valid_with_note(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    # Four dials wrap at 10,000: 9,990 to 5 is 15 kWh, not -9,985.
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-1", "electric", "kWh", dials=4)
    pending(city, meter, dt.date(2024, 7, 1), "9990")
    wrapped = pending(city, meter, dt.date(2024, 7, 31), "5")
    reads_stored(session, register_ids=[meter.id])

    assert wrapped.status == ReadStatus.VALID
    assert findings_of(session, wrapped) == [("rollover", FindingSeverity.NOTE)]
    session.commit()

    bill_run(session_factory)
    energy = session.scalars(select(BillLine).where(BillLine.code == "energy")).one()
    assert energy.quantity == Decimal(15)


def test_validation_stores_findings_once(session: Session) -> None:
    city = City(session)
    _meter, high = high_usage_setup(city)
    high.status = ReadStatus.PENDING
    session.flush()

    summary = validate_reads(session)

    assert summary.validated == 1
    assert summary.held_read_ids == [high.id]
    assert summary.findings == 0
    assert session.scalar(select(func.count()).select_from(ReadFinding)) == 1


def test_interval_findings_stored_once(session: Session) -> None:
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-AMI", "electric", "kWh", interval=True)
    start = dt.datetime(2024, 7, 1, 5, tzinfo=dt.UTC)
    # Hours 0, 1, 4 and 5: hours 2 and 3 are missing.
    for hour, value in ((0, "1"), (1, "1"), (4, "1"), (5, "-0.2")):
        session.add(
            IntervalRead(
                register_id=meter.id,
                start_at=start + dt.timedelta(hours=hour),
                seconds=3600,
                value=Decimal(value),
            )
        )
    session.flush()

    reads_stored(session, interval_register_ids=[meter.id])
    again = validate_interval_data(session, register_ids=[meter.id])

    rows = session.execute(
        select(ReadFinding.rule, ReadFinding.interval_start_at, ReadFinding.measured).order_by(
            ReadFinding.interval_start_at
        )
    ).all()
    assert rows == [
        ("gap", start + dt.timedelta(hours=2), Decimal(7200)),
        ("negative_interval", start + dt.timedelta(hours=5), Decimal("-0.2")),
    ]
    assert again == 0


def test_interval_span_checks_neighbours(session: Session) -> None:
    city = City(session)
    _account, premise = electric_customer(city)
    meter = city.meter(premise, "E-AMI", "electric", "kWh", interval=True)
    first = dt.datetime(2024, 7, 1, 5, tzinfo=dt.UTC)

    def store(hours: range, negative_at: int | None = None) -> None:
        for hour in hours:
            value = Decimal("-1") if hour == negative_at else Decimal(1)
            session.add(
                IntervalRead(
                    register_id=meter.id,
                    start_at=first + dt.timedelta(hours=hour),
                    seconds=3600,
                    value=value,
                )
            )
        session.flush()

    # Sixty days of hours, with a negative interval on day 2 that no hook saw.
    store(range(0, 60 * 24), negative_at=24 + 3)
    # Days 49 and 50 go missing; then day 50 is back-filled, with a negative hour. The
    # check covers day 50 and its stored neighbours, so it finds the gap of day 49 but
    # not the negative hour of day 2, far outside.
    session.execute(
        IntervalRead.__table__.delete().where(
            IntervalRead.register_id == meter.id,
            IntervalRead.start_at >= first + dt.timedelta(days=49),
            IntervalRead.start_at < first + dt.timedelta(days=51),
        )
    )
    store(range(50 * 24, 51 * 24), negative_at=50 * 24 + 7)
    span = (first + dt.timedelta(days=50), first + dt.timedelta(days=50, hours=23))

    reads_stored(session, interval_register_ids=[meter.id], interval_spans={meter.id: span})

    rows = session.execute(
        select(ReadFinding.rule, ReadFinding.interval_start_at).order_by(
            ReadFinding.interval_start_at
        )
    ).all()
    assert rows == [
        ("gap", first + dt.timedelta(days=49)),
        ("negative_interval", first + dt.timedelta(days=50, hours=7)),
    ]


def test_migration_keeps_existing_reads_valid(tmp_path: Path) -> None:
    # A read stored before the validation migration must still bill, so it starts valid.
    url = f"sqlite:///{tmp_path / 'before.sqlite3'}"
    upgrade(url, "0011_modbus")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO meters (id, serial, service, stock_status) "
                "VALUES (1, 'W-1', 'water', 'installed')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO registers (id, meter_id, code, unit, multiplier, interval) "
                "VALUES (1, 1, '1', 'gal', 1000000, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO reads (id, register_id, read_key, read_date, value, read_type, "
                "quality, source, created_at) VALUES (1, 1, '2024-07-01', '2024-07-01', 0, "
                "'actual', 'good', 'test', '2024-07-01 00:00:00')"
            )
        )
    upgrade(url)
    with engine.connect() as connection:
        status: str = connection.execute(text("SELECT status FROM reads WHERE id = 1")).scalar_one()
    engine.dispose()
    assert status == "valid"
