"""Bill runs end to end on small cities whose bills are worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.billing.models import Bill, BillLine, BillMeterSegment, BillRunException
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.ledger.chart import RECEIVABLES, REVENUE_BY_SERVICE
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.ledger.service import account_balance
from app.meters.models import IntervalRead, ReadType
from tests.app.factories import City, electric_tariff, sewer_tariff, trash_tariff, water_tariff

ZONE = ZoneInfo("America/Chicago")
JULY = parse_period("2026-07")


def cents(value: Fraction | Decimal | str) -> Decimal:
    """Round a hand-computed amount half up to the cent, as a bill line is."""
    exact = Fraction(value) if not isinstance(value, Fraction) else value
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def bill_run(factory: sessionmaker[Session], period=JULY, cycle="C1", **options):  # type: ignore[no-untyped-def]
    return run_bill_run(
        factory, cycle_code=cycle, period=period, actor="test", zone=ZONE, due_days=21,
        **options,
    )


def lines_of(session: Session, account_id: int) -> dict[tuple[str, str], Decimal]:
    rows = session.execute(
        select(BillLine.service, BillLine.code, BillLine.amount)
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(Bill.account_id == account_id)
    )
    return {(service, code): amount for service, code, amount in rows}


def household(city: City, *, start: dt.date = dt.date(2020, 1, 1), end: dt.date | None = None,
              with_winter: bool = True):  # type: ignore[no-untyped-def]
    account, premise = city.account()
    water = city.tariff(water_tariff())
    city.agreement(account, premise, water, start, end)
    city.agreement(account, premise, city.tariff(sewer_tariff()), start, end)
    city.agreement(account, premise, city.tariff(trash_tariff()), start, end)
    register = city.meter(premise, f"W-{account.id}", "water", "gal")
    if with_winter:
        # Winter 2025-26 water use: December 4,000, January 5,000, February 6,000 gallons.
        for day, value in ((dt.date(2025, 12, 1), "50000"), (dt.date(2026, 1, 1), "54000"),
                           (dt.date(2026, 2, 1), "59000"), (dt.date(2026, 3, 1), "65000")):
            city.read(register, day, value)
    return account, premise, register


def test_full_month_water_sewer_trash(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, _premise, register = household(city)
    city.read(register, dt.date(2026, 7, 1), "100000")
    city.read(register, dt.date(2026, 8, 1), "108000")
    session.commit()

    summary = bill_run(session_factory)

    # Water: 8 kgal = 5 x 2.00 + 3 x 3.00 = 19.00, plus the 10.00 base charge.
    # Sewer: water use 8 kgal capped at the winter average (4 + 5 + 6) / 3 = 5 kgal:
    # 5 x 4.00 = 20.00, plus the 8.00 base. Trash: 20.00.
    lines = lines_of(session, account.id)
    assert lines[("water", "base")] == Decimal("10.00")
    assert lines[("water", "usage")] == Decimal("19.00")
    assert lines[("sewer", "base")] == Decimal("8.00")
    assert lines[("sewer", "usage")] == Decimal("20.00")
    assert lines[("trash", "cart")] == Decimal("20.00")
    assert summary.bills_created == 1
    assert summary.total_billed == Decimal("77.00")
    assert summary.totals_by_service == {
        "sewer": Decimal("28.00"), "trash": Decimal("20.00"), "water": Decimal("29.00")
    }
    assert account_balance(session, account.id) == Decimal("77.00")
    sewer = session.scalars(
        select(BillLine).where(BillLine.service == "sewer", BillLine.code == "usage")
    ).one()
    assert sewer.description.endswith(
        "(capped at the winter average of 5 kgal; water use 8 kgal)"
    )


def test_bill_posts_one_balanced_entry(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, _premise, register = household(city)
    city.read(register, dt.date(2026, 7, 1), "100000")
    city.read(register, dt.date(2026, 8, 1), "108000")
    session.commit()
    bill_run(session_factory)

    bill = session.scalars(select(Bill).where(Bill.account_id == account.id)).one()
    postings = session.execute(
        select(LedgerAccount.code, Posting.account_id, Posting.amount)
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .where(Posting.entry_id == bill.journal_entry_id)
    ).all()
    by_code = {code: (account_id, amount) for code, account_id, amount in postings}
    assert sum(amount for _c, _a, amount in postings) == 0
    assert by_code[RECEIVABLES] == (account.id, Decimal("77.00"))
    assert by_code[REVENUE_BY_SERVICE["water"]] == (None, Decimal("-29.00"))
    assert by_code[REVENUE_BY_SERVICE["sewer"]] == (None, Decimal("-28.00"))
    assert by_code[REVENUE_BY_SERVICE["trash"]] == (None, Decimal("-20.00"))
    assert bill.total == Decimal("77.00")
    assert bill.due_date == dt.date(2026, 8, 22)


def test_move_in_prorates_by_days(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    move_in = dt.date(2026, 7, 11)
    account, _premise, register = household(city, start=move_in, with_winter=False)
    city.read(register, move_in, "100000")
    city.read(register, dt.date(2026, 8, 1), "108000")
    session.commit()
    bill_run(session_factory)

    share = Fraction(21, 31)  # July 11 to August 1 of a 31-day month
    limit = 5 * share
    usage = limit * 2 + (8 - limit) * 3
    lines = lines_of(session, account.id)
    assert lines[("water", "base")] == cents(10 * share)
    assert lines[("water", "usage")] == cents(usage)
    # No winter history for a new customer: sewer bills all 8 kgal.
    assert lines[("sewer", "usage")] == cents(8 * 4)
    assert lines[("sewer", "base")] == cents(8 * share)
    assert lines[("trash", "cart")] == cents(20 * share)


def test_move_out_final_read_prorates(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    move_out = dt.date(2026, 7, 21)
    account, _premise, register = household(city, end=move_out)
    city.read(register, dt.date(2026, 7, 1), "100000")
    city.read(register, move_out, "104000", ReadType.FINAL)
    session.commit()
    bill_run(session_factory)

    share = Fraction(20, 31)
    limit = 5 * share
    lines = lines_of(session, account.id)
    assert lines[("water", "base")] == cents(10 * share)
    assert lines[("water", "usage")] == cents(limit * 2 + (4 - limit) * 3)
    # 4 kgal of water use is below the 5 kgal winter average: all 4 kgal bill as sewer.
    assert lines[("sewer", "usage")] == cents(4 * 4)


def test_tariff_version_change_splits_period(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, premise = city.account()
    tariff = city.tariff(water_tariff())
    city.tariff(water_tariff(base="12.00", first="2.50", rest="3.50"), dt.date(2026, 7, 16))
    city.agreement(account, premise, tariff)
    register = city.meter(premise, "W-1", "water", "gal")
    city.read(register, dt.date(2026, 7, 1), "100000")
    city.read(register, dt.date(2026, 8, 1), "108000")
    session.commit()
    bill_run(session_factory)

    old, new = Fraction(15, 31), Fraction(16, 31)

    def usage(share: Fraction, first: str, rest: str) -> Fraction:
        quantity, limit = 8 * share, 5 * share
        return limit * Fraction(first) + (quantity - limit) * Fraction(rest)

    amounts = sorted(
        session.scalars(select(BillLine.amount).where(BillLine.service == "water"))
    )
    expected = sorted([
        cents(10 * old), cents(12 * new),
        cents(usage(old, "2.00", "3.00")), cents(usage(new, "2.50", "3.50")),
    ])
    assert amounts == expected


def test_meter_changeout_bills_both_meters(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    # Field case: the old meter is removed mid-month and the new one starts at zero.
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    changed = dt.date(2026, 7, 15)
    old = city.meter(premise, "E-OLD", "electric", "kWh", removed_on=changed, dials=5)
    new = city.meter(premise, "E-NEW", "electric", "kWh", installed_on=changed, dials=5)
    city.read(old, dt.date(2026, 7, 1), "17000.000")
    city.read(old, changed, "17077.963", ReadType.FINAL)
    city.read(new, changed, "0.000")
    city.read(new, dt.date(2026, 7, 31), "212.500")
    session.commit()
    bill_run(session_factory)

    segments = session.execute(
        select(BillMeterSegment.meter_serial, BillMeterSegment.consumption)
        .order_by(BillMeterSegment.id)
    ).all()
    assert segments == [("E-OLD", Decimal("77.963000")), ("E-NEW", Decimal("212.500000"))]
    energy = session.scalars(select(BillLine).where(BillLine.code == "energy")).one()
    assert energy.quantity == Decimal("290.463000")
    assert energy.amount == cents("29.0463")


def test_reset_without_changeout_is_an_exception(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    # Same reads, but no changeout on file: the drop to zero must not bill -16,865 kWh.
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    meter = city.meter(premise, "E-OLD", "electric", "kWh", dials=5)
    city.read(meter, dt.date(2026, 7, 1), "17000.000")
    city.read(meter, dt.date(2026, 7, 15), "17077.963",
              at=dt.datetime(2026, 7, 15, 14, tzinfo=dt.UTC))
    city.read(meter, dt.date(2026, 7, 15), "0.000",
              at=dt.datetime(2026, 7, 15, 15, tzinfo=dt.UTC))
    city.read(meter, dt.date(2026, 7, 31), "212.500")
    session.commit()

    summary = bill_run(session_factory)

    assert summary.bills_in_run == 0
    assert [e.code for e in summary.exceptions] == ["suspect_possible_meter_exchange"]
    assert session.scalar(select(func.count()).select_from(Bill)) == 0


def test_rollover_bills_the_wrapped_amount(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-9", "water", "gal", dials=7)
    city.read(register, dt.date(2026, 7, 1), "9998500")
    city.read(register, dt.date(2026, 8, 1), "2300")
    session.commit()
    bill_run(session_factory)

    # 10,000,000 - 9,998,500 + 2,300 = 3,800 gallons = 3.8 kgal, all in the first tier.
    assert lines_of(session, account.id)[("water", "usage")] == cents(Fraction("3.8") * 2)


def test_exceptions_are_listed_with_reasons(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    no_read, premise = city.account("No Read")
    city.agreement(no_read, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-NR", "water", "gal")
    city.read(register, dt.date(2026, 7, 1), "100")

    sewer_only, premise2 = city.account("Sewer Only")
    city.agreement(sewer_only, premise2, city.tariff(sewer_tariff()))

    future, premise3 = city.account("Future Rate")
    late = dataclasses.replace(trash_tariff(), code="T-LATE")
    city.agreement(future, premise3, city.tariff(late, dt.date(2027, 1, 1)))
    session.commit()

    summary = bill_run(session_factory)
    codes = {row.account_number: row.code for row in summary.exceptions}
    assert codes == {
        no_read.number: "no_closing_read",
        sewer_only.number: "no_water_service",
        future.number: "no_tariff_version",
    }
    messages = {row.account_number: row.message for row in summary.exceptions}
    assert "W-NR" in messages[no_read.number]
    assert "2026-07-01" in messages[future.number]
    assert summary.bills_in_run == 0


def test_unreadable_tariff_is_an_exception(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, premise = city.account()
    broken = city.tariff(trash_tariff(), document={"format": "upm-tariff", "code": "T-TEST"})
    city.agreement(account, premise, broken)
    session.commit()

    summary = bill_run(session_factory)
    assert [row.code for row in summary.exceptions] == ["tariff_unreadable"]


def test_second_run_creates_nothing(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    for _ in range(3):
        account, _premise, register = household(city)
        city.read(register, dt.date(2026, 7, 1), "100000")
        city.read(register, dt.date(2026, 8, 1), "108000")
    session.commit()

    first = bill_run(session_factory)
    second = bill_run(session_factory)

    assert first.bills_created == 3
    assert second.bills_created == 0
    assert second.run_id == first.run_id
    assert session.scalar(select(func.count()).select_from(Bill)) == 3
    assert session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "bill")
    ) == 3


def test_interrupted_run_resumes_without_duplicates(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    for _ in range(5):
        _account, _premise, register = household(city)
        city.read(register, dt.date(2026, 7, 1), "100000")
        city.read(register, dt.date(2026, 8, 1), "108000")
    session.commit()

    class Killed(Exception):
        pass

    def kill_after_two(done: int) -> None:
        if session.scalar(select(func.count()).select_from(Bill)) >= 2:
            raise Killed

    with pytest.raises(Killed):
        bill_run(session_factory, chunk_size=1, on_chunk=kill_after_two)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Bill)) == 2

    resumed = bill_run(session_factory, chunk_size=2)
    assert resumed.bills_created == 3
    assert resumed.bills_in_run == 5
    assert session.scalar(select(func.count()).select_from(Bill)) == 5
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 5


def test_exception_clears_once_fixed(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-1", "water", "gal")
    city.read(register, dt.date(2026, 7, 1), "100000")
    session.commit()
    first = bill_run(session_factory)
    assert [e.code for e in first.exceptions] == ["no_closing_read"]

    city.read(register, dt.date(2026, 8, 1), "103000")
    session.commit()
    second = bill_run(session_factory)
    assert second.exceptions == []
    assert second.bills_created == 1
    assert session.scalar(select(func.count()).select_from(BillRunException)) == 0


def _hourly(city: City, register_id: int, start: dt.date, end: dt.date, kwh: str) -> int:
    instant = dt.datetime.combine(start, dt.time(0), tzinfo=ZONE).astimezone(dt.UTC)
    finish = dt.datetime.combine(end, dt.time(0), tzinfo=ZONE).astimezone(dt.UTC)
    count = 0
    while instant < finish:
        city.session.add(IntervalRead(register_id=register_id, start_at=instant, seconds=3600,
                                      value=Decimal(kwh)))
        instant += dt.timedelta(hours=1)
        count += 1
    city.session.flush()
    return count


@pytest.mark.parametrize(
    ("month", "hours"),
    [("2026-11", 721), ("2027-03", 743), ("2026-07", 744)],
    ids=["fall-back-25h-day", "spring-forward-23h-day", "no-change"],
)
def test_interval_month_counts_true_hours(session: Session, session_factory, month: str,  # type: ignore[no-untyped-def]
                                          hours: int) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    register = city.meter(premise, "E-1", "electric", "kWh", interval=True, dials=None)
    period = parse_period(month)
    stored = _hourly(city, register.id, period.start, period.end, "1")
    session.commit()
    bill_run(session_factory, period=period, today=period.end)

    assert stored == hours
    energy = session.scalars(select(BillLine).where(BillLine.code == "energy")).one()
    assert energy.quantity == Decimal(hours)
    assert energy.amount == cents(Fraction(hours, 10))


def test_missing_interval_hour_is_an_exception(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    register = city.meter(premise, "E-1", "electric", "kWh", interval=True, dials=None)
    _hourly(city, register.id, JULY.start, dt.date(2026, 7, 31), "1")
    session.commit()

    summary = bill_run(session_factory)
    assert [row.code for row in summary.exceptions] == ["incomplete_interval_data"]
    assert "720 of 744 hours" in summary.exceptions[0].message


def test_open_period_is_rejected(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    City(session)
    session.commit()
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="period 2026-07 has not ended"):
        bill_run(session_factory, today=dt.date(2026, 7, 31))
    assert bill_run(session_factory, today=dt.date(2026, 8, 1)).bills_in_run == 0


def test_unknown_cycle_names_known_ones(session: Session, session_factory) -> None:  # type: ignore[no-untyped-def]
    City(session)
    session.commit()
    from app.errors import NotFound

    with pytest.raises(NotFound, match="known cycles: C1"):
        bill_run(session_factory, cycle="C9")
