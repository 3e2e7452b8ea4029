"""Crew texts end to end: job cards out through the fake Twilio, commands in through the webhook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.inbound.models import InboundEvent
from app.work_orders import service
from app.work_orders.dispatch import CrewMessage
from app.work_orders.models import (
    Priority,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
    WorkOrderType,
)
from app.work_orders.service import Actor
from tests.sms_flows.conftest import (
    ACCOUNT_SID,
    FROM_NUMBER,
    OTHER_TECH_PHONE,
    TECH_PHONE,
    FakeMessagesApi,
    inbound,
    signed_form,
)

S = WorkOrderStatus


def reply_of(response: Any) -> str | None:
    """Return the text of the TwiML <Message>, or None for an empty <Response/>."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    message = ElementTree.fromstring(response.text).find("Message")
    return None if message is None else message.text


def order_of(session: Session, number: int) -> WorkOrder:
    session.expire_all()
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    assert order is not None
    return order


def test_dispatch_texts_job_card(
    session: Session, fake_twilio: FakeMessagesApi, dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    assert len(fake_twilio.messages) == 1
    sent = fake_twilio.messages[0]
    assert fake_twilio.paths == [f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"]
    assert sent["To"] == TECH_PHONE
    assert sent["From"] == FROM_NUMBER
    assert f"WO {number}: reread" in sent["Body"]
    assert "Notes: Dog in back yard" in sent["Body"]
    assert "Meter W-100" in sent["Body"]
    # Created 2026-12-04 15:00 UTC, routine: five business days, end of day in Chicago.
    assert "Due Fri Dec 11 5:00 PM CST" in sent["Body"]
    assert sent["StatusCallback"] == "https://upm.example.test/twilio/sms/status"
    session.expire_all()
    logged = session.scalars(select(CrewMessage)).all()
    assert len(logged) == 1
    assert logged[0].message_sid == "SM00000000000000000000000000000001"
    assert logged[0].status == "queued"
    assert logged[0].to_number == TECH_PHONE
    assert logged[0].body == sent["Body"]


def test_order_page_lists_crew_texts_once(
    client: TestClient, fake_twilio: FakeMessagesApi, dispatched: Callable[..., int]
) -> None:
    number = dispatched()

    page = client.get(f"/work-orders/{number}").text

    title = page[page.index("<title>") + len("<title>") : page.index("</title>")]
    assert title == f"Work order {number} · upm"
    assert page.count("<h2>Crew texts</h2>") == 1
    assert f"WO {number}: reread" in page


def test_job_card_address_from_premise(
    session: Session, fake_twilio: FakeMessagesApi, dispatched: Callable[..., int],
    world: dict[str, Any],
) -> None:
    dispatched()
    premise = world["premise"]
    assert premise.address in fake_twilio.messages[0]["Body"]


def test_job_card_sent_once_per_dispatch(
    session: Session, fake_twilio: FakeMessagesApi, dispatched: Callable[..., int],
    world: dict[str, Any],
) -> None:
    from app.work_orders.dispatch import send_crew_message

    number = dispatched()
    message_id = session.scalars(select(CrewMessage.id)).one()
    assert send_crew_message(message_id) == "queued"
    assert len(fake_twilio.messages) == 1
    # A second dispatch after reassignment is a new dispatch event, so a new card.
    clerk = Actor("clerk", world["clerk"])
    order = order_of(session, number)
    service.assign(session, order, crew=world["crew"], member=world["other"], actor=clerk)
    service.dispatch(session, order, actor=clerk)
    session.commit()
    assert [m["To"] for m in fake_twilio.messages] == [TECH_PHONE, OTHER_TECH_PHONE]


def test_rolled_back_dispatch_sends_nothing(
    session: Session, fake_twilio: FakeMessagesApi, world: dict[str, Any],
    dispatched: Callable[..., int],
) -> None:
    number = dispatched()
    clerk = Actor("clerk", world["clerk"])
    order = order_of(session, number)
    service.assign(session, order, crew=world["crew"], member=world["other"], actor=clerk)
    service.dispatch(session, order, actor=clerk)
    session.rollback()
    session.commit()
    assert len(fake_twilio.messages) == 1


def test_whole_loop_by_text(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    reply = reply_of(text(TECH_PHONE, f"accept   {number}"))
    assert reply == f"Accepted work order {number}. Reply ENROUTE {number} when you leave."
    assert order_of(session, number).accepted_at is not None

    reply = reply_of(text(TECH_PHONE, f"EnRoute {number}"))
    assert reply is not None
    assert "in progress" in reply
    assert order_of(session, number).status == S.IN_PROGRESS

    reply = reply_of(text(TECH_PHONE, f"HOLD {number} parts"))
    assert reply is not None
    assert "on hold: parts" in reply
    assert order_of(session, number).status == S.ON_HOLD
    assert order_of(session, number).hold_reason == "parts"

    reply_of(text(TECH_PHONE, f"ENROUTE {number}"))
    reply = reply_of(text(TECH_PHONE, f"done {number} read 004512"))
    assert reply == f"Completed work order {number}. Thank you."
    order = order_of(session, number)
    assert order.status == S.COMPLETED
    assert order.completion == {"read": "4512"}
    assert order.completed_by is not None and "Tia Tech" in order.completed_by

    actions = [event.action for event in order.events]
    assert actions == ["create", "assign", "dispatch", "accept", "enroute", "hold", "enroute",
                       "complete"]
    actors = {event.actor for event in order.events[3:]}
    assert len(actors) == 1
    assert "Tia Tech" in actors.pop()
    inbound_log = session.scalars(
        select(CrewMessage).where(CrewMessage.direction == "inbound")
    ).all()
    assert len(inbound_log) == 5
    assert inbound_log[-1].reply == reply


def test_reading_below_last_asks_rollover(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    text(TECH_PHONE, f"ENROUTE {number}")
    reply = reply_of(text(TECH_PHONE, f"DONE {number} READ 000012"))
    assert reply is not None
    assert "below the last read 4000" in reply
    assert f"DONE {number} READ 000012 ROLLOVER" in reply
    assert order_of(session, number).status == S.IN_PROGRESS

    reply = reply_of(text(TECH_PHONE, f"DONE {number} READ 000012 ROLLOVER"))
    assert reply is not None
    assert reply.startswith("Completed")
    assert order_of(session, number).completion == {"read": "12", "rollover": True}


def test_bad_reading_refused_with_reason(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    text(TECH_PHONE, f"ENROUTE {number}")
    reply = reply_of(text(TECH_PHONE, f"DONE {number} READ 45A2"))
    assert reply is not None
    assert "must be digits only" in reply
    reply = reply_of(text(TECH_PHONE, f"DONE {number} READ 1234567"))
    assert reply is not None
    assert "more digits than meter W-100's 6 dials" in reply
    assert order_of(session, number).status == S.IN_PROGRESS
    denied = session.scalars(
        select(AuditEvent).where(AuditEvent.outcome == "denied", AuditEvent.action == "sms.done")
    ).all()
    assert len(denied) == 2


def test_unable_sends_back_for_return_trip(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    reply = reply_of(text(TECH_PHONE, f"UNABLE {number} no access"))
    assert reply is not None
    assert "return trip: no access" in reply
    order = order_of(session, number)
    assert order.status == S.SCHEDULED
    assert order.return_trips == 1
    assert order.events[-1].reason == "no access"


def test_refused_move_changes_nothing(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    # HOLD needs an order in progress; unable() counts a return trip before the
    # state check, and the savepoint must undo that too.
    reply = reply_of(text(TECH_PHONE, f"HOLD {number} parts"))
    assert reply is not None
    assert "is dispatched; it cannot become on hold" in reply
    order = order_of(session, number)
    assert order.status == S.DISPATCHED
    assert order.hold_reason is None


def test_help_lists_commands(text: Callable[..., Any], world: dict[str, Any]) -> None:
    reply = reply_of(text(TECH_PHONE, " help "))
    assert reply is not None
    for command in ("ACCEPT", "ENROUTE", "DONE", "READ", "UNABLE", "HOLD"):
        assert command in reply


def test_unknown_text_gets_help(text: Callable[..., Any], world: dict[str, Any]) -> None:
    reply = reply_of(text(TECH_PHONE, "where is the truck"))
    assert reply is not None
    assert reply.startswith("Sorry, that is not a command.")


def test_duplicate_message_sid_acts_once(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    first = reply_of(text(TECH_PHONE, f"UNABLE {number} dog", sid="SMdup"))
    assert first is not None
    second = reply_of(text(TECH_PHONE, f"UNABLE {number} dog", sid="SMdup"))
    assert second is None
    assert order_of(session, number).return_trips == 1
    claimed = session.scalar(select(func.count()).select_from(InboundEvent))
    assert claimed == 1


def test_unsigned_request_rejected(
    session: Session, client: Any, dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    params = inbound(TECH_PHONE, f"ACCEPT {number}")
    response = client.post("/twilio/sms", data=params)
    assert response.status_code == 403
    assert response.json()["code"] == "twilio_signature_missing"
    assert order_of(session, number).accepted_at is None


def test_wrong_signature_rejected(
    session: Session, client: Any, dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    params = inbound(TECH_PHONE, f"ACCEPT {number}")
    wrong_token = signed_form("/twilio/sms", params, token="not-the-token")
    response = client.post("/twilio/sms", data=params, headers=wrong_token)
    assert response.status_code == 403
    assert response.json()["code"] == "twilio_signature_invalid"
    # A body changed after signing fails the same way.
    headers = signed_form("/twilio/sms", params)
    changed = {**params, "Body": f"UNABLE {number} gone"}
    response = client.post("/twilio/sms", data=changed, headers=headers)
    assert response.status_code == 403
    assert order_of(session, number).accepted_at is None
    assert session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_unknown_number_changes_nothing(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    events_before = session.scalar(select(func.count()).select_from(WorkOrderEvent))
    reply = reply_of(text("+15550109999", f"DONE {number} READ 004512"))
    assert reply == ("This number is not registered with City of Riverbend Utilities. "
                     "To get texts about your account, call +15125550100 to add this number "
                     "to it.")
    assert order_of(session, number).status == S.DISPATCHED
    assert session.scalar(select(func.count()).select_from(WorkOrderEvent)) == events_before
    assert session.scalar(
        select(func.count()).select_from(CrewMessage).where(CrewMessage.direction == "inbound")
    ) == 0
    denial = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "sms.unregistered")
    ).one()
    assert denial.actor == "sms:…9999"


def test_inactive_staff_treated_as_unknown(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int],
    world: dict[str, Any],
) -> None:
    number = dispatched()
    world["tech"].active = False
    session.commit()
    reply = reply_of(text(TECH_PHONE, f"ACCEPT {number}"))
    assert reply is not None
    assert "not registered" in reply
    assert order_of(session, number).accepted_at is None


def test_canceled_order_refused_with_state(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int],
    world: dict[str, Any],
) -> None:
    number = dispatched()
    service.cancel(session, order_of(session, number), reason="customer moved",
                   actor=Actor("clerk", world["clerk"]))
    session.commit()
    reply = reply_of(text(TECH_PHONE, f"ENROUTE {number}"))
    assert reply == f"Work order {number} is canceled (customer moved). Do not work it."
    assert order_of(session, number).status == S.CANCELED


def test_reassigned_order_refused_with_state(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int],
    world: dict[str, Any],
) -> None:
    number = dispatched()
    clerk = Actor("clerk", world["clerk"])
    service.assign(session, order_of(session, number), crew=world["crew"],
                   member=world["other"], actor=clerk)
    session.commit()
    reply = reply_of(text(TECH_PHONE, f"ACCEPT {number}"))
    assert reply is not None
    assert f"Work order {number} is not assigned to you; it is scheduled." in reply
    assert order_of(session, number).accepted_at is None
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "sms.accept")).one()
    assert denied.outcome == "denied"


def test_bare_reply_with_several_orders_asks(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    first = dispatched()
    second = dispatched()
    reply = reply_of(text(TECH_PHONE, "ACCEPT"))
    assert reply == (f"You have 2 open work orders: {first}, {second}. "
                     f"Which one? For example ACCEPT {first}")
    assert order_of(session, first).accepted_at is None
    assert order_of(session, second).accepted_at is None


def test_bare_reply_with_one_order_acts(
    session: Session, text: Callable[..., Any], dispatched: Callable[..., int]
) -> None:
    number = dispatched()
    dispatched(member="other")
    reply = reply_of(text(TECH_PHONE, "accept"))
    assert reply is not None
    assert reply.startswith(f"Accepted work order {number}")
    reply = reply_of(text(TECH_PHONE, "UNABLE locked gate"))
    assert reply is not None
    assert "return trip: locked gate" in reply
    assert order_of(session, number).status == S.SCHEDULED


def test_status_callback_updates_log(
    session: Session, client: Any, dispatched: Callable[..., int]
) -> None:
    dispatched()
    sid = "SM00000000000000000000000000000001"
    for status in ("delivered", "sent"):
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        response = client.post("/twilio/sms/status", data=params,
                               headers=signed_form("/twilio/sms/status", params))
        assert response.status_code == 204
    session.expire_all()
    message = session.scalars(select(CrewMessage)).one()
    # The late "sent" callback does not replace the final "delivered".
    assert message.status == "delivered"


def test_changeout_completed_by_text(
    session: Session, text: Callable[..., Any], world: dict[str, Any]
) -> None:
    from app.meters.models import Meter, MeterInstallation, Register

    new_meter = Meter(serial="W-200", service="water")
    session.add(new_meter)
    session.flush()
    session.add(Register(meter_id=new_meter.id, code="1", unit="gal", dials=6))
    clerk = Actor("clerk", world["clerk"])
    order = service.create_order(
        session, type=WorkOrderType.METER_CHANGEOUT, priority=Priority.URGENT, actor=clerk,
        idempotency_key="changeout", premise_id=world["premise"].id,
        meter_id=world["meter_id"], now=dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC),
    )
    service.assign(session, order, crew=world["crew"], member=world["tech"], actor=clerk)
    service.dispatch(session, order, actor=clerk)
    session.commit()
    number = order.number
    text(TECH_PHONE, f"ACCEPT {number}")
    reply = reply_of(text(TECH_PHONE, f"ENROUTE {number}"))
    assert reply is not None
    assert f"DONE {number} OLD <serial> READ" in reply
    wrong = reply_of(text(TECH_PHONE, f"DONE {number} READ 004600"))
    assert wrong is not None
    assert "needs old_serial, old_read, new_serial, new_read" in wrong
    done = reply_of(text(TECH_PHONE, f"done {number} old W-100 read 004600 new W-200 read 0"))
    assert done == f"Completed work order {number}. Thank you."
    session.expire_all()
    finished = order_of(session, number)
    assert finished.status == S.COMPLETED
    assert finished.completion == {"old_serial": "W-100", "old_read": "4600",
                                   "new_serial": "W-200", "new_read": "0"}
    replies = session.scalars(
        select(CrewMessage).where(CrewMessage.work_order_id == finished.id,
                                  CrewMessage.direction == "inbound")
    ).all()
    # Every text about the order is logged against it, refused ones included.
    assert len(replies) == 4
    installed = session.scalars(
        select(MeterInstallation.meter_id).where(
            MeterInstallation.premise_id == world["premise"].id,
            MeterInstallation.removed_on.is_(None),
        )
    ).all()
    assert installed == [new_meter.id]


def test_investigation_finding_by_text(
    session: Session, text: Callable[..., Any], world: dict[str, Any]
) -> None:
    clerk = Actor("clerk", world["clerk"])
    order = service.create_order(
        session, type=WorkOrderType.LEAK_INVESTIGATION, priority=Priority.EMERGENCY,
        actor=clerk, idempotency_key="leak", premise_id=world["premise"].id,
        now=dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC),
    )
    service.assign(session, order, crew=world["crew"], member=world["tech"], actor=clerk)
    service.dispatch(session, order, actor=clerk)
    session.commit()
    text(TECH_PHONE, f"ENROUTE {order.number}")
    done = reply_of(text(TECH_PHONE, f"DONE {order.number} FOUND leak on customer side"))
    assert done == f"Completed work order {order.number}. Thank you."
    session.expire_all()
    assert order_of(session, order.number).completion == {"finding": "leak on customer side"}
