"""Estimated reads, the true-up bill after them, and gas heat factors, end to end.

Every expected value is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEvent
from app.billing.heat_factors import set_heat_factor
from app.billing.models import Bill, BillLine, BillMeterSegment, BillRunException
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.errors import InvalidInput
from app.main import create_app
from app.meters.estimation import (
    estimate_cycle_reads,
    estimate_meter_intervals,
    estimate_read_key,
)
from app.meters.models import IntervalRead, Read, ReadStatus, ReadType, Register
from app.portal.bill_links import create_bill_link
from billing_engine.tariff import FixedCharge, FixedPer, Service
from billing_engine.tariff import Tariff as EngineTariff
from billing_engine.units import Unit, convert
from tests.app.factories import City, energy, water_tariff

ZONE = ZoneInfo("America/Chicago")
JUNE = parse_period("2026-06")
JULY = parse_period("2026-07")


def bill_run(factory: sessionmaker[Session], period=JUNE, **options):  # type: ignore[no-untyped-def]
    return run_bill_run(
        factory, cycle_code="C1", period=period, actor="test", zone=ZONE, due_days=21, **options
    )


def water_home(city: City) -> tuple[int, Register]:
    """A water-only account read on the first of March to June.

    Use: 3,100 gal in 31 days, 3,000 in 30 and 3,100 in 31, so 9,200 / 92 = 100 gal a day.
    """
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-1", "water", "gal")
    for day, value in (
        (dt.date(2026, 3, 1), "100000"),
        (dt.date(2026, 4, 1), "103100"),
        (dt.date(2026, 5, 1), "106100"),
        (dt.date(2026, 6, 1), "109200"),
    ):
        city.read(register, day, value)
    return account.id, register


def segment_of(session: Session, account_id: int, period_start: dt.date) -> BillMeterSegment:
    return session.scalars(
        select(BillMeterSegment)
        .join(Bill, Bill.id == BillMeterSegment.bill_id)
        .where(Bill.account_id == account_id, Bill.period_start == period_start)
    ).one()


def bill_page(session: Session, account_id: int, period_start: dt.date, language: str) -> str:
    bill = session.scalars(
        select(Bill).where(Bill.account_id == account_id, Bill.period_start == period_start)
    ).one()
    url = create_bill_link(session, bill=bill, language=language, created_by="test")
    session.commit()
    with TestClient(create_app()) as client:
        response = client.get("/bill/" + url.rsplit("/bill/", 1)[1])
    assert response.status_code == 200
    return response.text


# --- estimating register reads -------------------------------------------------------


def test_cycle_estimate_from_recent_periods(session: Session) -> None:
    city = City(session)
    _account_id, register = water_home(city)

    report = estimate_cycle_reads(
        session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test"
    )

    # 100 gal a day for the 30 days of June: 109,200 + 3,000.
    assert [(e.meter_serial, e.value, e.method) for e in report.created] == [
        ("W-1", Decimal(112200), "recent_average")
    ]
    stored = session.scalars(
        select(Read).where(Read.register_id == register.id, Read.read_type == ReadType.ESTIMATED)
    ).one()
    assert stored.value == Decimal(112200)
    assert stored.source == "estimate:recent_average"
    assert stored.read_key == estimate_read_key(dt.date(2026, 7, 1))
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.estimate")).one()
    assert audit.detail == "1 estimated, 0 already read, 0 skipped"


def test_cycle_estimate_runs_once(session: Session) -> None:
    city = City(session)
    water_home(city)
    estimate_cycle_reads(session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test")

    again = estimate_cycle_reads(
        session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test"
    )

    assert again.created == []
    assert again.already_read == 1


def test_cycle_estimate_skips_recent_read(session: Session) -> None:
    city = City(session)
    _account_id, register = water_home(city)
    city.read(register, dt.date(2026, 6, 28), "111900")

    report = estimate_cycle_reads(
        session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test"
    )

    assert report.created == []
    assert report.already_read == 1


def test_cycle_estimate_leaves_held_read(session: Session) -> None:
    city = City(session)
    _account_id, register = water_home(city)
    held = city.read(register, dt.date(2026, 6, 29), "190000")
    held.status = ReadStatus.HELD
    session.flush()

    report = estimate_cycle_reads(
        session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test"
    )

    assert report.created == []
    assert report.already_read == 1


def test_cycle_estimate_without_history_skipped(session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-NEW", "water", "gal")
    city.read(register, dt.date(2026, 6, 1), "500")

    report = estimate_cycle_reads(
        session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test"
    )

    assert report.created == []
    assert len(report.skipped) == 1
    assert report.skipped[0][0] == "W-NEW"
    assert "no usage history before 2026-06-01" in report.skipped[0][1]


def test_cycle_estimate_skips_ended_service(session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()), end=dt.date(2026, 5, 1))
    register = city.meter(premise, "W-GONE", "water", "gal")
    city.read(register, dt.date(2026, 4, 1), "100")
    city.read(register, dt.date(2026, 5, 1), "200")

    report = estimate_cycle_reads(
        session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test"
    )

    assert report.created == []
    assert report.skipped == []


# --- the bill run, the bill page and the true-up -------------------------------------


def test_bill_run_estimates_closing_read(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id, _register = water_home(city)
    session.commit()

    summary = bill_run(session_factory, estimate_missing_reads=True)

    assert summary.exceptions == []
    segment = segment_of(session, account_id, JUNE.start)
    assert segment.end_value == Decimal(112200)
    assert segment.end_read_type == "estimated"
    assert segment.start_read_type == "actual"
    # 3 kgal at 2.00 plus the 10.00 base charge.
    bill = session.scalars(select(Bill).where(Bill.account_id == account_id)).one()
    assert bill.total == Decimal("16.00")


def test_bill_run_without_estimates_lists_exception(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    water_home(city)
    session.commit()

    summary = bill_run(session_factory)

    assert [e.code for e in summary.exceptions] == ["no_closing_read"]


def test_estimated_bill_page_english(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id, _register = water_home(city)
    session.commit()
    bill_run(session_factory, estimate_missing_reads=True)

    page = bill_page(session, account_id, JUNE.start, "en")

    assert "estimated read" in page
    assert "We could not read your meter for this bill" in page
    assert 'id="true-up-note"' not in page


def test_estimated_bill_page_spanish(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id, _register = water_home(city)
    session.commit()
    bill_run(session_factory, estimate_missing_reads=True)

    page = bill_page(session, account_id, JUNE.start, "es")

    assert "lectura estimada" in page
    assert "No pudimos leer su medidor para esta factura" in page


def bill_june_then_july(session: Session, session_factory, city: City):  # type: ignore[no-untyped-def]
    """Bill June on the 112,200 estimate, then July after the actual reads arrive.

    The actual July 1 read (112,700) and the August 1 read (116,200) come after June's bill.
    """
    account_id, register = water_home(city)
    session.commit()
    bill_run(session_factory, estimate_missing_reads=True)
    city.read(register, dt.date(2026, 7, 1), "112700")
    city.read(register, dt.date(2026, 8, 1), "116200")
    session.commit()
    bill_run(session_factory, period=JULY, estimate_missing_reads=True)
    return account_id, register


def test_true_up_over_two_bills(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    account_id, register = bill_june_then_july(session, session_factory, City(session))

    june = segment_of(session, account_id, JUNE.start)
    july = segment_of(session, account_id, JULY.start)
    # July opens on the estimate June billed to: 116,200 - 112,200 = 4,000 gal.
    assert july.start_value == Decimal(112200)
    assert july.start_read_type == "estimated"
    assert july.end_read_type == "actual"
    assert july.consumption == Decimal(4000)
    # Together the bills charge the actual use: 116,200 - 109,200 = 7,000 gal.
    assert june.consumption + july.consumption == Decimal(7000)
    # 4 kgal at 2.00 plus the 10.00 base charge.
    july_bill = session.scalars(
        select(Bill).where(Bill.account_id == account_id, Bill.period_start == JULY.start)
    ).one()
    assert july_bill.total == Decimal("18.00")
    # The estimate stays on file beside the actual read.
    assert session.scalars(
        select(Read.read_type).where(Read.register_id == register.id,
                                     Read.read_date == dt.date(2026, 7, 1))
    ).all().count(ReadType.ESTIMATED) == 1


def test_true_up_bill_page_says_adjusted(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    account_id, _register = bill_june_then_july(session, session_factory, City(session))

    english = bill_page(session, account_id, JULY.start, "en")
    spanish = bill_page(session, account_id, JULY.start, "es")

    assert "Adjusted from estimate" in english
    assert "We could not read your meter" not in english
    assert "Ajustada según la estimación" in spanish


def test_actual_read_preferred_over_estimate(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id, register = water_home(city)
    estimate_cycle_reads(session, cycle_code="C1", read_date=dt.date(2026, 7, 1), actor="test")
    # The actual read for the same date arrives before the bill run.
    city.read(register, dt.date(2026, 7, 1), "112700")
    session.commit()

    bill_run(session_factory)

    segment = segment_of(session, account_id, JUNE.start)
    assert segment.end_value == Decimal(112700)
    assert segment.end_read_type == "actual"
    assert segment.consumption == Decimal(3500)


# --- estimated intervals -------------------------------------------------------------


def test_interval_gap_stored_as_estimate(session: Session) -> None:
    city = City(session)
    _account, premise = city.account()
    register = city.meter(premise, "E-1", "electric", "kWh", interval=True)
    begin = dt.datetime(2026, 7, 1, tzinfo=ZONE).astimezone(dt.UTC)
    for hour, value in enumerate(["1.0", "2.0", "3.0", None, None, "6.0"] + ["1.0"] * 18):
        if value is not None:
            session.add(IntervalRead(register_id=register.id,
                                     start_at=begin + dt.timedelta(hours=hour),
                                     seconds=3600, value=Decimal(value)))
    session.flush()

    report = estimate_meter_intervals(
        session, meter_serial="E-1", start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 2),
        zone=ZONE, actor="test",
    )

    assert report.created == 2
    assert report.by_method == {"interpolation": 2}
    estimated = session.scalars(
        select(IntervalRead)
        .where(IntervalRead.register_id == register.id, IntervalRead.quality == "estimated")
        .order_by(IntervalRead.start_at)
    ).all()
    # The line from 3.0 to 6.0 in three steps: 4.0 and 5.0.
    assert [row.value for row in estimated] == [Decimal(4), Decimal(5)]
    assert {row.estimate_method for row in estimated} == {"interpolation"}


def test_interval_range_must_not_be_empty(session: Session) -> None:
    with pytest.raises(InvalidInput, match="is empty"):
        estimate_meter_intervals(
            session, meter_serial="E-1", start=dt.date(2026, 7, 2), end=dt.date(2026, 7, 2),
            zone=ZONE, actor="test",
        )


# --- gas heat factors (therms per CCF) -----------------------------------------------


def gas_tariff() -> EngineTariff:
    """$12.00 a month and $1.00 per therm."""
    return EngineTariff(
        code="G-TEST",
        name="Test gas",
        service=Service.GAS,
        unit=Unit.THERM,
        charges=(
            FixedCharge("base", "Customer charge", Decimal("12.00"), FixedPer.MONTH),
            energy("usage", [(None, "1.00")]),
        ),
    )


def gas_home(city: City) -> int:
    """Gas meter G-0001 with a CCF register read 1,234 on June 1 and 1,239 on July 1."""
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(gas_tariff()))
    register = city.meter(premise, "G-0001", "gas", "ccf", dials=4)
    city.read(register, dt.date(2026, 6, 1), "1234")
    city.read(register, dt.date(2026, 7, 1), "1239")
    return account.id


def therm_line(session: Session, account_id: int) -> BillLine:
    return session.scalars(
        select(BillLine)
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(Bill.account_id == account_id, BillLine.code == "usage")
    ).one()


def test_gas_without_heat_factor_refused(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id = gas_home(city)
    session.commit()

    bill_run(session_factory)

    problem = session.scalars(
        select(BillRunException).where(BillRunException.account_id == account_id)
    ).one()
    assert problem.code == "no_heat_factor"
    assert "no gas heat factor (therms per CCF) for cycle C1 on 2026-06-01" in problem.message
    assert "upm heat-factor set" in problem.message
    assert session.scalars(select(Bill).where(Bill.account_id == account_id)).all() == []


def test_gas_billed_with_heat_factor(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id = gas_home(city)
    session.commit()
    bill_run(session_factory)
    set_heat_factor(session, actor="test", therms_per_ccf=Decimal("1.037"),
                    effective_from=dt.date(2026, 1, 1), cycle_code="C1")
    session.commit()

    # The rerun picks up the account the first attempt could not bill.
    summary = bill_run(session_factory)

    assert summary.exceptions == []
    # 5 CCF x 1.037 = 5.185 therms at 1.00, rounded half up once: 5.19.
    line = therm_line(session, account_id)
    assert line.quantity == Decimal("5.185")
    assert line.unit == "therm"
    assert line.amount == Decimal("5.19")


def test_heat_factor_weighted_by_days(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account_id = gas_home(city)
    # Every cycle 1.000 from January; cycle C1 1.060 from June 16. June 1-15 take 1.000 and
    # June 16-30 take 1.060: (15 x 1.000 + 15 x 1.060) / 30 = 1.030, so 5 CCF = 5.150 therms.
    set_heat_factor(session, actor="test", therms_per_ccf=Decimal("1.000"),
                    effective_from=dt.date(2026, 1, 1))
    set_heat_factor(session, actor="test", therms_per_ccf=Decimal("1.060"),
                    effective_from=dt.date(2026, 6, 16), cycle_code="C1")
    session.commit()

    bill_run(session_factory)

    assert therm_line(session, account_id).quantity == Decimal("5.15")


def test_heat_factor_change_audited(session: Session) -> None:
    City(session)
    set_heat_factor(session, actor="test", therms_per_ccf=Decimal("1.037"),
                    effective_from=dt.date(2026, 1, 1))
    set_heat_factor(session, actor="test", therms_per_ccf=Decimal("1.041"),
                    effective_from=dt.date(2026, 1, 1))

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "heat_factor.set").order_by(AuditEvent.id)
    ).all()
    assert [event.outcome for event in events] == ["created", "changed"]
    assert events[1].detail == "was 1.037000"


def test_heat_factor_typo_rejected(session: Session) -> None:
    with pytest.raises(InvalidInput, match="heat factor 103.7 therms per CCF is outside"):
        set_heat_factor(session, actor="test", therms_per_ccf=Decimal("103.7"),
                        effective_from=dt.date(2026, 1, 1))


def test_therm_volume_conversions() -> None:
    # 5 CCF is 500 ft3 and 5.185 therms at 1.037 therms per CCF.
    assert convert(Decimal(5), "ccf", "ft3") == Decimal(500)
    assert convert(Decimal(5), "ccf", "therm", therms_per_ccf=Decimal("1.037")) == Decimal(
        "5.185"
    )
    # 3.66 therms / 1.037 = 3.529 CCF = 352.9 ft3, not 12,925.
    ccf = convert(Decimal("3.66"), "therm", "ccf", therms_per_ccf=Decimal("1.037"))
    ft3 = convert(Decimal("3.66"), "therm", "ft3", therms_per_ccf=Decimal("1.037"))
    assert ccf.quantize(Decimal("0.01")) == Decimal("3.53")
    assert ft3.quantize(Decimal(1)) == Decimal(353)
