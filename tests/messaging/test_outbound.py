"""queue_text and the send task: one message per key, consent, quiet hours, send once.

Celery runs eagerly here (no broker), so the send task runs as soon as the queueing
transaction commits, and an ETA is ignored: the tests check ``send_after`` itself, and
that a run before it sends nothing.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.celery_app import celery_app
from app.db import utcnow
from app.errors import InvalidInput
from app.messaging.consent import is_opted_out, opt_in, opt_out
from app.messaging.models import OutboundMessage, Program, SmsConsent
from app.messaging.outbound import SEND_TASK, queue_text
from app.messaging.sending import send_due_texts, send_text
from app.settings import get_settings
from tests.conftest import ON_POSTGRES
from tests.messaging.conftest import (
    ALERTS_NUMBER,
    BILLING_NUMBER,
    CUSTOMER_PHONE,
    PUBLIC_BASE_URL,
    FakeMessagesApi,
    local,
    messages,
    reject_number,
)

#: 10:00 CDT on 15 June 2026, outside quiet hours, and in the past, so a text sends now.
DAYTIME = local(2026, 6, 15, 10)
#: 23:00 CDT on 15 June 2026, inside quiet hours; they end at 08:00 CDT, 13:00 UTC.
NIGHT = local(2026, 6, 15, 23)


def future_night() -> dt.datetime:
    """Return 23:00 local three days from now: in quiet hours, and still in the future.

    A text queued then has a ``send_after`` in the future, so the eager run at commit
    comes too early and sends nothing.
    """
    later = (utcnow() + dt.timedelta(days=3)).astimezone(get_settings().zone)
    return later.replace(hour=23, minute=0, second=0, microsecond=0)


def queue(session: Session, key: str = "test:1", **options: object) -> OutboundMessage:
    values: dict[str, object] = {
        "to_number": CUSTOMER_PHONE,
        "program": Program.BILLING,
        "kind": "test",
        "body": "Your bill is ready.",
        "language": "en",
        "idempotency_key": key,
        "now": DAYTIME,
    }
    values.update(options)
    return queue_text(session, **values)  # type: ignore[arg-type]


def test_queue_text_sends_after_commit(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session)

    assert twilio.messages == []
    session.commit()

    assert len(twilio.messages) == 1
    assert twilio.messages[0]["To"] == CUSTOMER_PHONE
    assert twilio.messages[0]["From"] == BILLING_NUMBER
    assert twilio.messages[0]["Body"] == "Your bill is ready."
    assert twilio.messages[0]["StatusCallback"] == PUBLIC_BASE_URL + "/twilio/sms/status"
    [stored] = messages(session)
    assert stored.id == message.id
    assert stored.status == "queued"  # Twilio's own status from the fake's response
    assert stored.message_sid == "SM" + "1".zfill(32)


def test_rollback_sends_nothing(session: Session, twilio: FakeMessagesApi) -> None:
    queue(session)
    session.rollback()

    assert messages(session) == []
    assert twilio.messages == []


def test_same_key_stores_one_message(session: Session, twilio: FakeMessagesApi) -> None:
    first = queue(session)
    second = queue(session, body="A different text.")
    session.commit()
    third = queue(session, body="A third text.")
    session.commit()

    assert second.id == first.id
    assert third.id == first.id
    assert len(messages(session)) == 1
    assert messages(session)[0].body == "Your bill is ready."
    assert len(twilio.messages) == 1


@pytest.mark.skipif(
    not ON_POSTGRES, reason="concurrent inserts are a PostgreSQL matter; SQLite serializes writers"
)
def test_same_key_two_threads_one_text(
    session_factory: sessionmaker[Session], twilio: FakeMessagesApi
) -> None:
    barrier = threading.Barrier(2)
    ids: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with session_factory() as session:
                barrier.wait()
                ids.append(queue(session, key="race:1").id)
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(ids)) == 1
    with session_factory() as session:
        assert len(messages(session)) == 1
    assert len(twilio.messages) == 1


def test_segments_stored(session: Session, twilio: FakeMessagesApi) -> None:
    queue(session, key="es:1", body="Su pago está confirmado.", language="es")
    queue(session, key="en:1", body="a" * 161)
    session.commit()

    spanish, english = messages(session)
    assert (spanish.encoding, spanish.segments) == ("UCS-2", 1)
    assert (english.encoding, english.segments) == ("GSM-7", 2)


def test_alerts_program_uses_alerts_number(session: Session, twilio: FakeMessagesApi) -> None:
    queue(session, program=Program.ALERTS)
    session.commit()

    assert twilio.messages[0]["From"] == ALERTS_NUMBER
    assert messages(session)[0].from_number == ALERTS_NUMBER


def test_quiet_hours_defer(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session, now=NIGHT)

    assert message.status == "deferred"
    assert message.send_after == dt.datetime(2026, 6, 16, 13, 0, tzinfo=dt.UTC)


def test_urgent_not_deferred(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session, now=NIGHT, urgent=True)

    assert message.status == "queued"
    assert message.send_after == NIGHT


def test_early_run_sends_nothing(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session, now=future_night())
    session.commit()

    assert send_text.delay(message.id).get() == "early"
    assert send_due_texts() == 0
    assert twilio.messages == []
    assert messages(session)[0].status == "deferred"


def test_sweep_sends_when_due(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session, now=future_night())
    session.commit()
    # Quiet hours pass: move the message's time into the past, as the clock would.
    message.send_after = utcnow() - dt.timedelta(minutes=1)
    session.commit()

    assert send_due_texts() == 1
    assert len(twilio.messages) == 1
    assert messages(session)[0].message_sid is not None


def test_retried_task_sends_once(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session)
    session.commit()

    assert send_text.delay(message.id).get() == "queued"
    assert send_due_texts() == 0
    assert len(twilio.messages) == 1


def test_claimed_message_not_sent_again(session: Session, twilio: FakeMessagesApi) -> None:
    message = queue(session, now=future_night())
    session.commit()
    # A task that claimed the message and died before recording Twilio's response.
    message.status = "sending"
    message.send_after = DAYTIME
    session.commit()

    assert send_text.delay(message.id).get() == "sending"
    assert twilio.messages == []


def test_opted_out_before_send_suppressed(session: Session, twilio: FakeMessagesApi) -> None:
    # Queued for after quiet hours, then the customer replies STOP before it goes out.
    message = queue(session, now=future_night())
    session.commit()
    opt_out(session, CUSTOMER_PHONE, [Program.BILLING], source="STOP")
    message.send_after = utcnow() - dt.timedelta(minutes=1)
    session.commit()

    assert send_text.delay(message.id).get() == "suppressed"
    assert twilio.messages == []
    [stored] = messages(session)
    assert stored.status == "suppressed"
    assert stored.message_sid is None


def test_opted_out_number_suppressed_at_queue(session: Session, twilio: FakeMessagesApi) -> None:
    opt_out(session, CUSTOMER_PHONE, [Program.ALERTS], source="STOP")
    alert = queue(session, key="alert:1", program=Program.ALERTS)
    queue(session, key="bill:1", program=Program.BILLING)
    session.commit()

    assert alert.status == "suppressed"
    assert alert.error == "opted out of alerts texts"
    assert [form["Body"] for form in twilio.messages] == ["Your bill is ready."]
    assert messages(session, idempotency_key="bill:1")[0].message_sid is not None


def test_stop_then_start_around_outage(session: Session, twilio: FakeMessagesApi) -> None:
    # STOP to the alerts number, an outage alert, START, then another outage alert.
    opt_out(session, CUSTOMER_PHONE, [Program.ALERTS], source="STOP")
    session.commit()
    queue(session, key="outage:1", program=Program.ALERTS, urgent=True)
    session.commit()
    opt_in(session, CUSTOMER_PHONE, [Program.ALERTS], source="START")
    session.commit()
    queue(session, key="outage:2", program=Program.ALERTS, urgent=True)
    session.commit()

    first, second = messages(session)
    assert first.status == "suppressed"
    assert second.status == "queued"
    assert len(twilio.messages) == 1


def test_api_21610_records_opt_out(session: Session, twilio: FakeMessagesApi) -> None:
    reject_number(twilio, CUSTOMER_PHONE)
    queue(session, key="first")
    session.commit()

    [stored] = messages(session)
    assert stored.status == "failed"
    assert stored.error_code == "21610"
    assert stored.message_sid is None
    assert is_opted_out(session, CUSTOMER_PHONE, Program.BILLING) is True
    assert is_opted_out(session, CUSTOMER_PHONE, Program.ALERTS) is False
    consent = session.query(SmsConsent).filter_by(phone=CUSTOMER_PHONE).one()
    assert consent.source == "twilio_21610"

    queue(session, key="second")
    session.commit()

    assert messages(session, idempotency_key="second")[0].status == "suppressed"
    assert len(twilio.messages) == 1


def test_other_api_error_fails(session: Session, twilio: FakeMessagesApi) -> None:
    reject_number(twilio, CUSTOMER_PHONE, code=21211)
    queue(session)
    session.commit()

    [stored] = messages(session)
    assert stored.status == "failed"
    assert stored.error_code == "21211"
    assert is_opted_out(session, CUSTOMER_PHONE, Program.BILLING) is False


def test_not_configured_keeps_body(
    session: Session, schedule_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPM_TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("UPM_TWILIO_AUTH_TOKEN", raising=False)
    get_settings.cache_clear()
    queue(session)
    session.commit()

    [stored] = messages(session)
    assert stored.status == "not_configured"
    assert stored.body == "Your bill is ready."


@pytest.mark.parametrize(
    ("to_number", "body"), [("", "Hello."), (CUSTOMER_PHONE, "  ")], ids=["no-number", "blank"]
)
def test_invalid_text_rejected(
    session: Session, twilio: FakeMessagesApi, to_number: str, body: str
) -> None:
    with pytest.raises(InvalidInput):
        queue(session, to_number=to_number, body=body)


def test_broker_down_keeps_commit(
    session: Session, twilio: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: object, **options: object) -> None:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    task = celery_app.tasks[SEND_TASK]
    monkeypatch.setattr(task, "apply_async", unreachable)
    queue(session)
    session.commit()

    [stored] = messages(session)
    assert stored.status == "queued"
    assert twilio.messages == []

    # The broker is back: beat's sweep sends the text whose task was lost.
    monkeypatch.delattr(task, "apply_async")
    assert send_due_texts() == 1
    assert len(twilio.messages) == 1
