"""The whole field loop through the real endpoints: Slack to the crew's phone and back.

A supervisor creates a meter changeout in Slack, assigns and dispatches it; the crew
member gets the job card by text, accepts, goes en route and completes it with both
meters' reads; the supervisor closes it in Slack. The next bill run then splits the
month at the changeout, and every step is in the audit log. Slack's Web API and
Twilio's Messages API are fakes on 127.0.0.1; requests are signed with each SDK's scheme.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.billing.models import BillMeterSegment
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.db import get_session_factory
from app.main import create_app
from app.meters.models import Meter, Register
from app.settings import get_settings
from app.work_orders.models import Crew, CrewMember, Staff, StaffRole, WorkOrder
from tests.app.factories import City, water_tariff
from tests.chatops.conftest import (  # noqa: F401 - fixtures used by name
    CHANNEL,
    TEAM,
    FakeSlack,
    fake_slack,
    signed_headers,
    slack_settings,
)
from tests.sms_flows.conftest import (  # noqa: F401 - fixtures used by name
    FakeMessagesApi,
    fake_twilio,
    inbound,
    signed_form,
)

PHONE = "+15550100777"


@pytest.fixture
def loop_client(
    slack_settings: None, fake_twilio: FakeMessagesApi  # noqa: F811 - the imported fixtures
) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def city(session: Session) -> dict[str, Any]:
    """A water account read at 1000 gal on Oct 31, a new meter in stock, staff and a crew."""
    builder = City(session)
    account, premise = builder.account()
    builder.agreement(account, premise, builder.tariff(water_tariff()))
    register = builder.meter(premise, "W-OLD", "water", "gal", dials=6)
    builder.read(register, dt.date(2026, 10, 31), "001000")
    new = Meter(serial="W-NEW", service="water")
    session.add(new)
    session.flush()
    session.add(Register(meter_id=new.id, code="1", unit="gal", dials=6))
    supervisor = Staff(name="Sam Super", role=StaffRole.SUPERVISOR, slack_team_id=TEAM,
                       slack_user_id="U0SUPER")
    tech = Staff(name="Tia Tech", role=StaffRole.FIELD_CREW, phone=PHONE)
    crew = Crew(code="N1", name="North crew")
    session.add_all([supervisor, tech, crew])
    session.flush()
    session.add(CrewMember(crew_id=crew.id, staff_id=tech.id))
    session.commit()
    return {"account": account, "register": register, "cycle": builder.cycle.code}


def builder_read(session: Session, register_id: int | None, day: dt.date, value: str) -> None:
    from app.meters.models import Read, read_key

    assert register_id is not None
    session.add(Read(register_id=register_id, read_key=read_key(day, None), read_date=day,
                     value=Decimal(value), source="test"))


def slack(client: TestClient, fake: FakeSlack, text: str, trigger: str) -> str:
    form = {"team_id": TEAM, "channel_id": CHANNEL, "user_id": "U0SUPER", "command": "/upm",
            "text": text, "response_url": fake.response_url(trigger), "trigger_id": trigger}
    body = urllib.parse.urlencode(form)
    response = client.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    # Replies go to each command's own response_url; count them to wait for this one.
    answered = int(trigger.removeprefix("t"))
    return str(fake.wait_for("response", count=answered)[answered - 1].text)


def crew(client: TestClient, body: str) -> str:
    params = inbound(PHONE, body)
    response = client.post("/twilio/sms", data=params,
                           headers=signed_form("/twilio/sms", params))
    assert response.status_code == 200
    return str(response.text)


def test_changeout_from_slack_to_phone_and_bill(
    loop_client: TestClient, fake_slack: FakeSlack, fake_twilio: FakeMessagesApi,  # noqa: F811
    city: dict[str, Any], session: Session,
) -> None:
    number_text = city["account"].number
    created = slack(loop_client, fake_slack, f"wo create {number_text} meter_changeout urgent",
                    "t1")
    assert "Created" in created
    order = session.scalars(select(WorkOrder)).one()
    number = order.number
    assert "assigned" in slack(loop_client, fake_slack, f"wo assign {number} N1 Tia Tech", "t2")
    assert "dispatched" in slack(loop_client, fake_slack, f"dispatch {number}", "t3")
    [card] = fake_twilio.messages
    assert card["To"] == PHONE
    assert f"WO {number}: meter changeout" in card["Body"]
    assert "Meter W-OLD" in card["Body"]

    assert "Accepted" in crew(loop_client, f"ACCEPT {number}")
    assert "in progress" in crew(loop_client, f"ENROUTE {number}")
    done = crew(loop_client, f"DONE {number} OLD W-OLD READ 004000 NEW W-NEW READ 000000")
    assert "Completed" in done
    assert "closed" in slack(loop_client, fake_slack, f"wo close {number}", "t4")

    session.expire_all()
    order = session.scalars(select(WorkOrder)).one()
    assert order.status.value == "closed"
    # Bill the month of the changeout: November closed at 3000 on the old meter, the crew
    # read it at 4000 and set the new meter at 0, and the new meter reads 500 at month end.
    changed_on = order.completed_at.astimezone(get_settings().zone).date()  # type: ignore[union-attr]
    period = parse_period(f"{changed_on:%Y-%m}")
    builder_read(session, city["register"].id, period.start - dt.timedelta(days=1), "003000")
    new_register = session.scalar(
        select(Register.id).join(Meter, Meter.id == Register.meter_id)
        .where(Meter.serial == "W-NEW")
    )
    builder_read(session, new_register, period.end, "000500")
    session.commit()
    summary = run_bill_run(get_session_factory(), cycle_code=city["cycle"], period=period,
                           actor="test", zone=get_settings().zone, due_days=21,
                           chunk_size=100, today=period.end + dt.timedelta(days=1))
    assert summary.exceptions == []
    assert summary.bills_created == 1
    segments = session.scalars(select(BillMeterSegment).order_by(BillMeterSegment.id)).all()
    assert [(s.meter_serial, s.consumption) for s in segments] == [
        ("W-OLD", Decimal("1000")), ("W-NEW", Decimal("500")),
    ]

    audited = set(session.scalars(
        select(AuditEvent.action).where(AuditEvent.target == f"work_order:{number}")
    ))
    assert {"work_order.create", "work_order.assign", "work_order.dispatch",
            "work_order.accept", "work_order.enroute", "work_order.complete",
            "work_order.close"} <= audited
