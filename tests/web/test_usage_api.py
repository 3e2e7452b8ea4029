"""Usage API: hourly, daily and billing-period points, DST days, changeouts and errors.

Expected sums are worked by hand or taken from the metering field cases. The saved
OpenEEmeter interval file has 23 hours and 9.80 kWh on 2016-03-13, and 25 hours and
18.54 kWh on 2016-11-06. Meter E-OLD, replaced by E-NEW, gives 77.963 + 212.500 kWh.
"""

from __future__ import annotations

import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from defusedxml.ElementTree import fromstring
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Account
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.meters.imports import ReadFormat, import_reads
from app.meters.models import IntervalRead, ReadStatus, ReadType, Register
from app.meters.usage_series import is_estimated_quality
from app.settings import get_settings
from metering.greenbutton import parse_green_button
from metering.local_days import daily_totals
from tests.app.factories import City, electric_tariff, water_tariff

ZONE = ZoneInfo("America/Chicago")
INTERVAL_FILE = (
    Path(__file__).parents[1] / "data" / "interval" / "il-electricity-cdd-hdd-hourly.csv.gz"
)
# A valid check digit (base 10000900, Luhn digit 0) on a number no test account has.
UNKNOWN_ACCOUNT = "100009000"


def dst_weeks_csv() -> bytes:
    """Return the rows of the saved hourly file for 2016-03-10..16 and 2016-11-03..09."""
    lines = gzip.decompress(INTERVAL_FILE.read_bytes()).decode().splitlines()
    prefixes = ("2016-03-1", "2016-11-0")
    selected = [lines[0], *(line for line in lines[1:] if line.startswith(prefixes))]
    return ("\n".join(selected) + "\n").encode()


def interval_account(session: Session, serial: str = "E-AMI-1") -> tuple[Account, Register]:
    """An electric account whose interval meter contains the DST weeks of the saved file."""
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()), dt.date(2015, 1, 1))
    register = city.meter(
        premise, serial, "electric", "kWh", installed_on=dt.date(2015, 1, 1), interval=True
    )
    import_reads(
        session,
        filename="il-hourly.csv",
        content=dst_weeks_csv(),
        file_format=ReadFormat.INTERVAL,
        zone=ZONE,
        actor="test",
        meter_serial=serial,
    )
    session.commit()
    return account, register


def changeout_account(session: Session, city: City | None = None) -> Account:
    """Meter E-OLD replaced by E-NEW on 2024-07-15, with the reads of the field case."""
    city = city or City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    changed = dt.date(2024, 7, 15)
    old = city.meter(premise, "E-OLD", "electric", "kWh", removed_on=changed, dials=5)
    new = city.meter(premise, "E-NEW", "electric", "kWh", installed_on=changed, dials=5)
    city.read(old, dt.date(2024, 7, 1), "17000.000")
    city.read(old, changed, "17077.963", ReadType.FINAL)
    city.read(new, changed, "0.000")
    city.read(new, dt.date(2024, 7, 31), "212.500")
    session.commit()
    return account


def usage(client: TestClient, number: str, **params: str) -> Any:
    response = client.get(f"/api/accounts/{number}/usage", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def only_series(body: Any) -> Any:
    assert len(body["series"]) == 1
    return body["series"][0]


def total(points: list[Any]) -> Decimal:
    return sum((Decimal(point["quantity"]) for point in points), Decimal(0))


def test_hourly_fall_back_day_has_25_points(client: TestClient, session: Session) -> None:
    account, _ = interval_account(session)

    body = usage(client, account.number, granularity="hourly", start="2016-11-06", end="2016-11-07")

    series = only_series(body)
    assert series["service"] == "electric"
    assert series["unit"] == "kWh"
    points = series["points"]
    assert len(points) == 25
    assert total(points) == Decimal("18.54")
    one_oclock = [p["start"] for p in points if p["start"][11:13] == "01"]
    assert one_oclock == ["2016-11-06T01:00:00-05:00", "2016-11-06T01:00:00-06:00"]
    assert points[0]["start"] == "2016-11-06T00:00:00-05:00"
    assert points[-1]["end"] == "2016-11-07T00:00:00-06:00"
    assert all(p["source"] == "interval" and p["meters"] == ["E-AMI-1"] for p in points)


def test_hourly_spring_forward_day_has_23_points(client: TestClient, session: Session) -> None:
    account, _ = interval_account(session)

    body = usage(client, account.number, granularity="hourly", start="2016-03-13", end="2016-03-14")

    points = only_series(body)["points"]
    assert len(points) == 23
    assert total(points) == Decimal("9.80")
    assert not [p for p in points if p["start"][11:13] == "02"]


def test_daily_dst_days_sum_their_hours(client: TestClient, session: Session) -> None:
    account, _ = interval_account(session)

    spring = only_series(
        usage(client, account.number, granularity="daily", start="2016-03-12", end="2016-03-15")
    )["points"]
    fall = only_series(
        usage(client, account.number, granularity="daily", start="2016-11-06", end="2016-11-07")
    )["points"]

    assert [p["start"] for p in spring] == [
        "2016-03-12T00:00:00-06:00",
        "2016-03-13T00:00:00-06:00",
        "2016-03-14T00:00:00-05:00",
    ]
    assert spring[1]["end"] == "2016-03-14T00:00:00-05:00"
    assert Decimal(spring[1]["quantity"]) == Decimal("9.80")
    assert len(fall) == 1
    assert Decimal(fall[0]["quantity"]) == Decimal("18.54")
    assert fall[0]["end"] == "2016-11-07T00:00:00-06:00"


def test_hourly_sums_quarter_hours(client: TestClient, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    register = city.meter(premise, "E-15", "electric", "kWh", interval=True)
    hour = dt.datetime(2026, 7, 1, 5, tzinfo=dt.UTC)  # 00:00 local (CDT)
    values = ["0.250", "0.500", "0.125", "1.000", "2.000"]
    for index, value in enumerate(values):
        session.add(
            IntervalRead(
                register_id=register.id,
                start_at=hour + dt.timedelta(minutes=15 * index),
                seconds=900,
                value=Decimal(value),
                quality="estimated" if index == 4 else None,
            )
        )
    session.commit()

    points = only_series(
        usage(client, account.number, granularity="hourly", start="2026-07-01", end="2026-07-02")
    )["points"]

    # 0.250 + 0.500 + 0.125 + 1.000 in the first hour; the estimated 2.000 in the second.
    assert [(p["start"], Decimal(p["quantity"]), p["estimated"]) for p in points] == [
        ("2026-07-01T00:00:00-05:00", Decimal("1.875"), False),
        ("2026-07-01T01:00:00-05:00", Decimal("2.000"), True),
    ]


def test_daily_changeout_gives_each_meter_its_points(client: TestClient, session: Session) -> None:
    account = changeout_account(session)

    points = only_series(
        usage(client, account.number, granularity="daily", start="2024-07-01", end="2024-08-01")
    )["points"]

    assert [(p["start"], p["end"], Decimal(p["quantity"]), p["meters"]) for p in points] == [
        ("2024-07-01T00:00:00-05:00", "2024-07-15T00:00:00-05:00", Decimal("77.963"), ["E-OLD"]),
        ("2024-07-15T00:00:00-05:00", "2024-07-31T00:00:00-05:00", Decimal("212.5"), ["E-NEW"]),
    ]
    assert all(p["source"] == "register" for p in points)
    assert not any(p["estimated"] for p in points)


def test_reset_without_changeout_is_never_negative(client: TestClient, session: Session) -> None:
    # The same reads on one meter: the drop to 0.000 is no rollover of 5 dials.
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    meter = city.meter(premise, "E-OLD", "electric", "kWh", dials=5)
    city.read(meter, dt.date(2024, 7, 1), "17000.000")
    city.read(
        meter, dt.date(2024, 7, 15), "17077.963", at=dt.datetime(2024, 7, 15, 14, tzinfo=dt.UTC)
    )
    city.read(meter, dt.date(2024, 7, 15), "0.000", at=dt.datetime(2024, 7, 15, 15, tzinfo=dt.UTC))
    city.read(meter, dt.date(2024, 7, 31), "212.500")
    session.commit()

    points = only_series(
        usage(client, account.number, granularity="daily", start="2024-07-01", end="2024-08-01")
    )["points"]

    # 07-15 stands for its last read (0.000), so 07-01 to 07-15 is a drop and no point.
    assert [(p["start"][:10], Decimal(p["quantity"])) for p in points] == [
        ("2024-07-15", Decimal("212.5"))
    ]


def test_billing_period_uses_the_bill(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    account = changeout_account(session)
    run_bill_run(
        session_factory,
        cycle_code="C1",
        period=parse_period("2024-07"),
        actor="test",
        zone=ZONE,
        due_days=21,
    )

    points = only_series(
        usage(
            client,
            account.number,
            granularity="billing-period",
            start="2024-01-01",
            end="2025-01-01",
        )
    )["points"]

    assert len(points) == 1
    point = points[0]
    assert point["start"] == "2024-07-01T00:00:00-05:00"
    assert point["end"] == "2024-08-01T00:00:00-05:00"
    assert Decimal(point["quantity"]) == Decimal("290.463")
    assert point["source"] == "bill"
    assert point["meters"] == ["E-OLD", "E-NEW"]


def test_billing_period_without_bills_uses_reads(client: TestClient, session: Session) -> None:
    account = changeout_account(session)

    points = only_series(
        usage(
            client,
            account.number,
            granularity="billing-period",
            start="2024-07-01",
            end="2024-08-01",
        )
    )["points"]

    assert [(Decimal(p["quantity"]), p["source"]) for p in points] == [
        (Decimal("77.963"), "register"),
        (Decimal("212.5"), "register"),
    ]


def test_billing_period_without_bills_sums_interval_months(
    client: TestClient, session: Session
) -> None:
    account, _ = interval_account(session)

    points = only_series(
        usage(
            client,
            account.number,
            granularity="billing-period",
            start="2016-11-01",
            end="2016-12-01",
        )
    )["points"]

    # The file subset contains 2016-11-03 to 2016-11-09, so one month point sums those rows.
    rows = dst_weeks_csv().decode().splitlines()[1:]
    november = sum((Decimal(r.split(",")[1]) for r in rows if r.startswith("2016-11")), Decimal(0))
    assert len(points) == 1
    assert Decimal(points[0]["quantity"]) == november
    assert points[0]["start"] == "2016-11-01T00:00:00-05:00"
    assert points[0]["end"] == "2016-12-01T00:00:00-06:00"
    assert points[0]["source"] == "interval"


def test_estimated_read_flags_its_point(client: TestClient, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-1", "water", "gal")
    city.read(register, dt.date(2026, 5, 1), "1000")
    city.read(register, dt.date(2026, 6, 1), "4500", ReadType.ESTIMATED)
    city.read(register, dt.date(2026, 7, 1), "7000")
    session.commit()

    points = only_series(
        usage(client, account.number, granularity="daily", start="2026-05-01", end="2026-07-01")
    )["points"]

    assert [(p["quantity"], p["estimated"]) for p in points] == [
        ("3500", True),
        ("2500", True),
    ]


def test_held_read_is_left_out(client: TestClient, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    register = city.meter(premise, "W-2", "water", "gal")
    city.read(register, dt.date(2026, 5, 1), "1000")
    suspect = city.read(register, dt.date(2026, 5, 15), "90000")
    suspect.status = ReadStatus.HELD
    city.read(register, dt.date(2026, 6, 1), "3000")
    session.commit()

    points = only_series(
        usage(client, account.number, granularity="daily", start="2026-05-01", end="2026-06-01")
    )["points"]

    assert [(p["start"][:10], p["end"][:10], p["quantity"]) for p in points] == [
        ("2026-05-01", "2026-06-01", "2000")
    ]


def test_previous_occupant_usage_is_hidden(client: TestClient, session: Session) -> None:
    city = City(session)
    _, premise = city.account("Earlier Tenant")
    register = city.meter(premise, "W-3", "water", "gal")
    newcomer, _ = city.account("New Tenant")
    city.agreement(newcomer, premise, city.tariff(water_tariff()), dt.date(2026, 5, 15))
    city.read(register, dt.date(2026, 5, 1), "1000")
    city.read(register, dt.date(2026, 5, 15), "1800")
    city.read(register, dt.date(2026, 6, 1), "2600")
    session.commit()

    points = only_series(
        usage(client, newcomer.number, granularity="daily", start="2026-05-01", end="2026-06-01")
    )["points"]

    assert [(p["start"][:10], p["quantity"]) for p in points] == [("2026-05-15", "800")]


def test_service_filter_keeps_one_series(client: TestClient, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(water_tariff()))
    city.agreement(account, premise, city.tariff(electric_tariff()))
    water = city.meter(premise, "W-4", "water", "gal")
    power = city.meter(premise, "E-4", "electric", "kWh")
    for register, first, second in ((water, "10", "30"), (power, "100", "160")):
        city.read(register, dt.date(2026, 5, 1), first)
        city.read(register, dt.date(2026, 6, 1), second)
    session.commit()

    both = usage(client, account.number, start="2026-05-01", end="2026-06-01")
    water_only = usage(
        client, account.number, start="2026-05-01", end="2026-06-01", service="water"
    )

    assert {(s["service"], s["unit"], total(s["points"])) for s in both["series"]} == {
        ("water", "gal", Decimal(20)),
        ("electric", "kWh", Decimal(60)),
    }
    assert [s["service"] for s in water_only["series"]] == ["water"]


def test_range_too_long_is_rejected(client: TestClient, session: Session) -> None:
    account = changeout_account(session)

    hourly = client.get(
        f"/api/accounts/{account.number}/usage",
        params={"granularity": "hourly", "start": "2024-07-01", "end": "2024-08-02"},
    )
    daily = client.get(
        f"/api/accounts/{account.number}/usage",
        params={"granularity": "daily", "start": "2023-01-01", "end": "2024-02-06"},
    )

    assert hourly.status_code == 422
    assert hourly.json()["code"] == "usage_range_too_long"
    assert "32 days" in hourly.json()["message"]
    assert "at most 31 days" in hourly.json()["message"]
    assert daily.status_code == 422
    assert "at most 400 days" in daily.json()["message"]


def test_start_after_end_is_rejected(client: TestClient, session: Session) -> None:
    account = changeout_account(session)

    response = client.get(
        f"/api/accounts/{account.number}/usage", params={"start": "2024-07-10", "end": "2024-07-10"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "usage_range_invalid"
    assert "2024-07-10" in response.json()["message"]


def test_hourly_without_interval_data_is_rejected(client: TestClient, session: Session) -> None:
    account = changeout_account(session)

    response = client.get(
        f"/api/accounts/{account.number}/usage",
        params={"granularity": "hourly", "start": "2024-07-01", "end": "2024-07-08"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "usage_no_interval_data"
    assert "granularity=daily" in response.json()["message"]


def test_bad_service_and_granularity_are_rejected(client: TestClient, session: Session) -> None:
    account = changeout_account(session)
    path = f"/api/accounts/{account.number}/usage"

    sewer = client.get(path, params={"service": "sewer"})
    weekly = client.get(path, params={"granularity": "weekly"})

    assert sewer.status_code == 422
    assert sewer.json()["code"] == "usage_service_invalid"
    assert "sewer" in sewer.json()["message"]
    assert weekly.status_code == 422


def test_unknown_account_is_404(client: TestClient, db_url: str) -> None:
    usage_response = client.get(f"/api/accounts/{UNKNOWN_ACCOUNT}/usage")
    export_response = client.get(f"/api/accounts/{UNKNOWN_ACCOUNT}/greenbutton")

    assert usage_response.status_code == 404
    assert usage_response.json()["code"] == "account_not_found"
    assert export_response.status_code == 404
    assert export_response.json()["code"] == "account_not_found"


def export(client: TestClient, number: str, start: str, end: str) -> bytes:
    response = client.get(f"/accounts/{number}/greenbutton", params={"start": start, "end": end})
    assert response.status_code == 200, response.text
    return response.content


def stored_intervals(session: Session, register: Register) -> list[tuple[Any, ...]]:
    rows = session.execute(
        select(
            IntervalRead.start_at, IntervalRead.seconds, IntervalRead.value, IntervalRead.quality
        )
        .where(IntervalRead.register_id == register.id)
        .order_by(IntervalRead.start_at)
    )
    return [
        (start, seconds, value, is_estimated_quality(quality))
        for start, seconds, value, quality in rows
    ]


def test_green_button_round_trip_over_dst_days(client: TestClient, session: Session) -> None:
    account, source = interval_account(session)
    estimated = session.scalars(
        select(IntervalRead).where(
            IntervalRead.register_id == source.id,
            IntervalRead.start_at == dt.datetime(2016, 11, 6, 7, tzinfo=dt.UTC),
        )
    ).one()
    estimated.quality = "estimated"
    city = City(session, cycle_code="C2")
    _, other_premise = city.account("Second Meter")
    target = city.meter(other_premise, "E-AMI-2", "electric", "kWh", interval=True)
    session.commit()

    files = [
        export(client, account.number, "2016-03-12", "2016-03-15"),
        export(client, account.number, "2016-11-05", "2016-11-08"),
    ]
    for index, content in enumerate(files):
        report = import_reads(
            session,
            filename=f"export-{index}.xml",
            content=content,
            file_format=ReadFormat.GREENBUTTON,
            zone=ZONE,
            actor="test",
            meter_serial="E-AMI-2",
        )
        assert report.errors == []
    session.commit()

    # 72 hours less one on 2016-03-13, and 72 plus one on 2016-11-06.
    copied = stored_intervals(session, target)
    assert len(copied) == 71 + 73
    exported_days = [
        (dt.datetime(2016, 3, 12, 6, tzinfo=dt.UTC), dt.datetime(2016, 3, 15, 5, tzinfo=dt.UTC)),
        (dt.datetime(2016, 11, 5, 5, tzinfo=dt.UTC), dt.datetime(2016, 11, 8, 6, tzinfo=dt.UTC)),
    ]
    original = [
        row
        for row in stored_intervals(session, source)
        if any(start <= row[0] < end for start, end in exported_days)
    ]
    assert copied == original
    assert [row[3] for row in copied].count(True) == 1


def test_green_button_parses_with_local_days(client: TestClient, session: Session) -> None:
    account, _ = interval_account(session)

    feed = parse_green_button(export(client, account.number, "2016-11-06", "2016-11-07"))

    assert feed.errors == []
    point = feed.usage_points[0]
    assert point.service_kind == "electricity"
    assert point.local_zone is not None
    assert len(point.intervals) == 25
    assert sum((i.value for i in point.intervals), Decimal(0)) == Decimal("18.54")
    assert daily_totals(point.intervals, point.local_zone) == {
        dt.date(2016, 11, 6): Decimal("18.54")
    }


def test_green_button_download_headers(client: TestClient, session: Session) -> None:
    account, _ = interval_account(session)
    params = {"start": "2016-03-13", "end": "2016-03-14"}

    response = client.get(f"/accounts/{account.number}/greenbutton", params=params)
    api_response = client.get(f"/api/accounts/{account.number}/greenbutton", params=params)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml"
    disposition = response.headers["content-disposition"]
    assert (
        disposition
        == f'attachment; filename="greenbutton-{account.number[-4:]}-2016-03-13-2016-03-14.xml"'
    )
    assert account.number not in disposition
    assert account.number.encode() not in response.content
    assert api_response.status_code == 200
    assert len(parse_green_button(api_response.content).usage_points[0].intervals) == 23


def test_green_button_without_intervals_is_422(client: TestClient, session: Session) -> None:
    account = changeout_account(session)

    response = client.get(
        f"/api/accounts/{account.number}/greenbutton",
        params={"start": "2024-07-01", "end": "2024-08-01"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "usage_no_interval_data"
    assert f"/api/accounts/{account.number}/usage" in response.json()["message"]


def test_green_button_range_limit(client: TestClient, session: Session) -> None:
    account, _ = interval_account(session)

    response = client.get(
        f"/api/accounts/{account.number}/greenbutton",
        params={"start": "2016-01-01", "end": "2017-02-02"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "usage_range_too_long"
    assert "at most 397 days" in response.json()["message"]


@pytest.mark.parametrize(
    ("language", "feed_title", "point_title", "meter_title"),
    [
        (
            "en",
            "{utility} usage from March 13, 2016 to March 14, 2016",
            "Electric service",
            "Meter E-AMI-1",
        ),
        (
            "es",
            "Consumo en {utility} del 13 de marzo de 2016 al 14 de marzo de 2016",
            "Servicio eléctrico",
            "Medidor E-AMI-1",
        ),
    ],
)
def test_green_button_titles_follow_language(
    client: TestClient,
    session: Session,
    language: str,
    feed_title: str,
    point_title: str,
    meter_title: str,
) -> None:
    account, _ = interval_account(session)
    account.customer.language = language
    session.commit()
    utility = get_settings().utility_name

    content = export(client, account.number, "2016-03-13", "2016-03-15")

    root = fromstring(content)
    assert root.findtext("{http://www.w3.org/2005/Atom}title") == feed_title.format(utility=utility)
    point = parse_green_button(content).usage_points[0]
    assert point.title == point_title
    assert [reading.title for reading in point.meter_readings] == [meter_title]


def test_interval_changeout_splits_days_by_meter(client: TestClient, session: Session) -> None:
    city = City(session)
    account, premise = city.account()
    city.agreement(account, premise, city.tariff(electric_tariff()))
    changed = dt.date(2026, 7, 15)
    old = city.meter(premise, "E-OLD", "electric", "kWh", removed_on=changed, interval=True)
    new = city.meter(premise, "E-NEW", "electric", "kWh", installed_on=changed, interval=True)
    # Local midnight of 2026-07-14 is 05:00 UTC (CDT). Each meter reports both days.
    first = dt.datetime(2026, 7, 14, 5, tzinfo=dt.UTC)
    for register, value in ((old, "1.0"), (new, "2.0")):
        for hour in range(48):
            session.add(
                IntervalRead(
                    register_id=register.id,
                    start_at=first + dt.timedelta(hours=hour),
                    seconds=3600,
                    value=Decimal(value),
                )
            )
    session.commit()

    points = only_series(
        usage(client, account.number, granularity="daily", start="2026-07-14", end="2026-07-16")
    )["points"]
    feed = parse_green_button(export(client, account.number, "2026-07-14", "2026-07-16"))

    # 07-14 is the old meter's 24 x 1.0 kWh, 07-15 the new meter's 24 x 2.0 kWh.
    assert [(p["start"][:10], Decimal(p["quantity"]), p["meters"]) for p in points] == [
        ("2026-07-14", Decimal(24), ["E-OLD"]),
        ("2026-07-15", Decimal(48), ["E-NEW"]),
    ]
    readings = feed.usage_points[0].meter_readings
    assert [(reading.title, reading.reading_count) for reading in readings] == [
        ("Meter E-OLD", 24),
        ("Meter E-NEW", 24),
    ]
