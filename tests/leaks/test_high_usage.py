"""High usage: the last 7 local days against last year or the three periods before.

Each test stores one day-long interval per local day, starting at Chicago midnight, so
every period's sum is 7 times a daily value.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.meters.high_usage import check_high_usage
from app.meters.leak_models import LeakEpisode
from app.meters.models import IntervalRead, Register
from tests.leaks.conftest import FakeMessagesApi, make_household

CHICAGO = ZoneInfo("America/Chicago")
TODAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 15, tzinfo=CHICAGO).astimezone(dt.UTC)


def add_days(
    session: Session, register: Register, first: dt.date, gallons: str, days: int = 7
) -> None:
    """Store ``gallons`` for each of ``days`` local days from ``first``; commit."""
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        start = dt.datetime.combine(day, dt.time(0), tzinfo=CHICAGO)
        session.add(
            IntervalRead(
                register_id=register.id,
                start_at=start.astimezone(dt.UTC),
                seconds=86400,
                value=Decimal(gallons),
            )
        )
    session.commit()


def high_usage_episodes(session: Session) -> list[LeakEpisode]:
    session.expire_all()
    query = select(LeakEpisode).where(LeakEpisode.kind == "high_usage").order_by(LeakEpisode.id)
    return list(session.scalars(query))


def test_high_against_last_year(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_days(session, home.register, dt.date(2025, 6, 8), "200")  # last year: 1,400 gal
    add_days(session, home.register, dt.date(2026, 5, 18), "100", days=21)  # 700 a week
    add_days(session, home.register, dt.date(2026, 6, 8), "500")  # this week: 3,500 gal

    result = check_high_usage(session, today=TODAY, now=NOW)
    session.commit()

    [episode] = high_usage_episodes(session)
    assert result.opened == 1
    # 3500 / 1400 = 2.5 against last year, which wins over 3500 / 700 = 5.
    assert episode.severity == "minor"
    assert episode.quantity == Decimal(3500)
    assert episode.started_at == dt.datetime(2026, 6, 8, tzinfo=CHICAGO).astimezone(dt.UTC)
    [text] = twilio.messages
    assert (
        f"use on account ending {home.account.number[-4:]} is higher than usual: "
        "3,500 gal since June 8, 2026." in text["Body"]
    )
    [(kind, _)] = staff_alerts
    assert kind == "high_usage_detected"


def test_high_against_three_periods(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_days(session, home.register, dt.date(2026, 5, 18), "100", days=14)  # 700, 700
    add_days(session, home.register, dt.date(2026, 6, 1), "200")  # 1,400
    add_days(session, home.register, dt.date(2026, 6, 8), "500")  # 3,500

    check_high_usage(session, today=TODAY, now=NOW)
    session.commit()

    [episode] = high_usage_episodes(session)
    # 3500 / ((700 + 700 + 1400) / 3) = 3.75
    assert episode.severity == "major"


def test_normal_use_not_flagged(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_days(session, home.register, dt.date(2025, 6, 8), "300")  # 2,100 last year
    add_days(session, home.register, dt.date(2026, 6, 8), "500")  # 3,500 is 1.67 times

    result = check_high_usage(session, today=TODAY, now=NOW)

    assert result.opened == 0
    assert high_usage_episodes(session) == []


def test_high_usage_alerts_once_then_again(
    session: Session, twilio: FakeMessagesApi, staff_alerts: list[tuple[str, str]]
) -> None:
    home = make_household(session)
    add_days(session, home.register, dt.date(2025, 6, 1), "200", days=30)  # 1,400 a week
    add_days(session, home.register, dt.date(2026, 6, 8), "500", days=8)

    check_high_usage(session, today=TODAY, now=NOW)
    session.commit()
    # A day later the week June 9-15 is still 3,500: the same episode, no new text.
    still = check_high_usage(session, today=TODAY + dt.timedelta(days=1), now=NOW)
    session.commit()
    # The week June 23-29 has no use at all: the episode closes.
    gone = check_high_usage(session, today=dt.date(2026, 6, 30), now=NOW)
    session.commit()

    [episode] = high_usage_episodes(session)
    assert still.updated == 1
    assert gone.closed == 1
    assert episode.closed_at == dt.datetime(2026, 6, 30, tzinfo=CHICAGO).astimezone(dt.UTC)
    assert len(twilio.messages) == 1

    add_days(session, home.register, dt.date(2026, 6, 23), "600")
    again = check_high_usage(session, today=dt.date(2026, 6, 30), now=NOW)
    session.commit()

    assert again.opened == 1
    assert len(high_usage_episodes(session)) == 2
    assert len(twilio.messages) == 2
