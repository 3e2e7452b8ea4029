"""Alerts to an account's verified phones: every kind, in English and Spanish.

Each expected text is written out by hand from the templates and catalogs. The accounts
have two verified phones and one unverified phone, which is never texted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Account
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.messaging.alerts import UsageAlertKind, outage_alert, usage_alert
from app.messaging.bill_alerts import bill_ready_texts, queue_due_reminders
from app.messaging.consent import opt_out
from app.messaging.models import Program
from app.payments.autopay.models import AutopayEnrollment, AutopayMethod
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentNotice,
    PaymentStatus,
)
from app.payments.service import change_status, create_payment, queue_notice, reverse_payment
from app.settings import get_settings
from tests.app.factories import City, trash_tariff
from tests.messaging.conftest import (
    ALERTS_NUMBER,
    BILLING_NUMBER,
    CUSTOMER_PHONE,
    SECOND_PHONE,
    UNVERIFIED_PHONE,
    FakeMessagesApi,
    add_phone,
    local,
    messages,
)
from tests.payments.helpers import issue_bill

UTILITY = "City of Riverbend Utilities"
PHONES = [CUSTOMER_PHONE, SECOND_PHONE]


@pytest.fixture
def no_quiet_hours(twilio: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """No quiet hours, for alerts queued at the real time of day."""
    monkeypatch.setenv("UPM_QUIET_HOURS_START", "00:00")
    monkeypatch.setenv("UPM_QUIET_HOURS_END", "00:00")
    get_settings.cache_clear()


@pytest.fixture(params=["en", "es"])
def language(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs in English and in Spanish."""
    return str(request.param)


@pytest.fixture
def city(session: Session) -> City:
    return City(session)


@pytest.fixture
def household(session: Session, city: City) -> Callable[[str], Account]:
    """Create an account with trash service, two verified phones and an unverified one."""

    def make(language: str) -> Account:
        account, premise = city.account()
        account.customer.language = language
        city.agreement(account, premise, city.tariff(trash_tariff()))
        for phone in PHONES:
            add_phone(session, account, phone)
        add_phone(session, account, UNVERIFIED_PHONE, verified=False)
        session.commit()
        return account

    return make


def bodies(twilio: FakeMessagesApi) -> dict[str, str]:
    """Return the body sent to each number, checking each number got at most one text."""
    numbers = [form["To"] for form in twilio.messages]
    assert len(numbers) == len(set(numbers))
    return {form["To"]: form["Body"] for form in twilio.messages}


def assert_texted(twilio: FakeMessagesApi, expected: str, sender: str = BILLING_NUMBER) -> None:
    """Assert that both verified phones, and only they, got ``expected`` from ``sender``."""
    assert bodies(twilio) == dict.fromkeys(PHONES, expected)
    assert {form["From"] for form in twilio.messages} == {sender}


BILL_READY = {
    "en": "{u}: your bill of $20.00 for account ending {n} is due August 22, 2026. "
    "Reply PAY to pay or BILL for a link. Reply STOP to opt out.",
    "es": "{u}: su factura de $20.00 de la cuenta que termina en {n} vence el 22 de agosto de "
    "2026. Responda PAGAR para pagar o FACTURA para ver el enlace. Responda STOP para "
    "dejar de recibir mensajes.",
}


def test_bill_ready_after_bill_run(
    session: Session,
    session_factory: sessionmaker[Session],
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    # July 2026 of trash service at $20.00 a month; billed 1 August, due 21 days later.
    summary = run_bill_run(
        session_factory,
        cycle_code="C1",
        period=parse_period("2026-07"),
        actor="test",
        zone=get_settings().zone,
        due_days=21,
        today=dt.date(2026, 8, 2),
    )

    assert summary.bills_created == 1
    assert_texted(twilio, BILL_READY[language].format(u=UTILITY, n=account.number[-4:]))
    assert {m.kind for m in messages(session)} == {"bill_ready"}
    assert {m.language for m in messages(session)} == {language}

    run_bill_run(
        session_factory,
        cycle_code="C1",
        period=parse_period("2026-07"),
        actor="test",
        zone=get_settings().zone,
        due_days=21,
        today=dt.date(2026, 8, 2),
    )
    bill_ready_texts.delay(summary.run_id).get()

    assert len(messages(session)) == 2
    assert len(twilio.messages) == 2


def test_bill_ready_on_autopay(
    session: Session,
    session_factory: sessionmaker[Session],
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
) -> None:
    account = household("en")
    session.add(
        AutopayEnrollment(
            account_id=account.id,
            method=AutopayMethod.CARD,
            idempotency_key="enroll-1",
            channel="web",
            enrolled_by="test",
        )
    )
    session.commit()
    run_bill_run(
        session_factory,
        cycle_code="C1",
        period=parse_period("2026-07"),
        actor="test",
        zone=get_settings().zone,
        due_days=21,
        today=dt.date(2026, 8, 2),
    )

    expected = (
        f"{UTILITY}: your bill of $20.00 for account ending {account.number[-4:]} is due "
        "August 22, 2026. Autopay will pay it on the due date. Reply STOP to opt out."
    )
    assert_texted(twilio, expected)


DUE_REMINDER = {
    "en": "{u} reminder: {amount} is due March 12, 2024 on account ending {n}. "
    "Reply PAY to pay or BILL for a link. Reply STOP to opt out.",
    "es": "Recordatorio de {u}: {amount} vence el 12 de marzo de 2024 en la cuenta que termina "
    "en {n}. Responda PAGAR para pagar o FACTURA para ver el enlace. Responda STOP para "
    "dejar de recibir mensajes.",
}


def test_due_reminder_at_local_time(
    session: Session,
    city: City,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    language: str,
) -> None:
    account = household(language)
    issue_bill(session, city, account, "84.12", due_date=dt.date(2024, 3, 12))
    session.commit()

    assert queue_due_reminders(local(2024, 3, 10, 7, 59)) == 0
    assert twilio.messages == []

    assert queue_due_reminders(local(2024, 3, 10, 8, 0)) == 2
    expected = DUE_REMINDER[language].format(u=UTILITY, amount="$84.12", n=account.number[-4:])
    assert_texted(twilio, expected)
    # 08:00 CDT on the day daylight saving starts.
    assert {m.send_after for m in messages(session)} == {
        dt.datetime(2024, 3, 10, 13, 0, tzinfo=dt.UTC)
    }

    assert queue_due_reminders(local(2024, 3, 10, 8, 5)) == 0
    assert len(messages(session)) == 2


def test_due_reminder_after_fall_back(
    session: Session, city: City, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    issue_bill(session, city, account, "84.12", due_date=dt.date(2024, 11, 5))
    session.commit()

    assert queue_due_reminders(local(2024, 11, 3, 7, 59)) == 0
    assert queue_due_reminders(local(2024, 11, 3, 8, 0)) == 2
    # 08:00 CST on the day daylight saving ends.
    assert {m.send_after for m in messages(session)} == {
        dt.datetime(2024, 11, 3, 14, 0, tzinfo=dt.UTC)
    }


def pay(session: Session, account: Account, amount: str, **options: object) -> Payment:
    values: dict[str, object] = {
        "account_id": account.id,
        "amount": Decimal(amount),
        "channel": PaymentChannel.SMS,
        "method": PaymentMethod.CARD,
        "provider": "stripe",
        "idempotency_key": f"pay-{account.id}-{amount}",
        "taken_by": "sms",
        "received_on": dt.date(2026, 12, 4),
        "status": PaymentStatus.SUCCEEDED,
    }
    values.update(options)
    return create_payment(session, **values)  # type: ignore[arg-type]


def test_due_reminder_for_open_amount(
    session: Session, city: City, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    issue_bill(session, city, account, "84.12", due_date=dt.date(2024, 3, 12))
    # $84.12 billed, $50.00 paid: $34.12 is still open.
    pay(session, account, "50.00")
    session.commit()
    twilio.messages.clear()

    queue_due_reminders(local(2024, 3, 10, 9, 0))

    expected = DUE_REMINDER["en"].format(u=UTILITY, amount="$34.12", n=account.number[-4:])
    assert_texted(twilio, expected)


def test_no_reminder_when_paid(
    session: Session, city: City, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    issue_bill(session, city, account, "84.12", due_date=dt.date(2024, 3, 12))
    pay(session, account, "84.12")
    session.commit()

    assert queue_due_reminders(local(2024, 3, 10, 9, 0)) == 0
    assert messages(session, kind="due_reminder") == []


def test_no_reminder_on_autopay(
    session: Session, city: City, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    issue_bill(session, city, account, "84.12", due_date=dt.date(2024, 3, 12))
    session.add(
        AutopayEnrollment(
            account_id=account.id,
            method=AutopayMethod.BANK_DRAFT,
            idempotency_key="enroll-2",
            channel="counter",
            enrolled_by="test",
        )
    )
    session.commit()

    assert queue_due_reminders(local(2024, 3, 10, 9, 0)) == 0
    assert twilio.messages == []


PAYMENT_RECEIVED = {
    "en": "{u}: we received your payment of $84.12 on December 4, 2026 for account ending "
    "{n}. Thank you!",
    "es": "{u}: recibimos su pago de $84.12 el 4 de diciembre de 2026 para la cuenta "
    "que termina en {n}. ¡Gracias!",
}


def test_payment_received_texted(
    session: Session,
    city: City,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    issue_bill(session, city, account, "84.12")
    payment = pay(session, account, "84.12")
    session.commit()

    expected = PAYMENT_RECEIVED[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected)
    notice = session.query(PaymentNotice).filter_by(payment_id=payment.id).one()
    session.refresh(notice)
    assert notice.sent_at is not None
    assert notice.delivery_note == "text queued to …0123; text queued to …0124"


OVERPAYMENT_CREDIT = {
    "en": " $15.88 of it is a credit toward your next bill.",
    "es": " $15.88 queda como saldo a favor para su siguiente factura.",
}


def test_overpayment_receipt_names_credit(
    session: Session,
    city: City,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    issue_bill(session, city, account, "84.12")
    # $100.00 paid on $84.12 owed leaves $15.88 for the next bill.
    pay(session, account, "100.00")
    session.commit()

    receipt = PAYMENT_RECEIVED[language].format(u=UTILITY, n=account.number[-4:])
    expected = receipt.replace("$84.12", "$100.00") + OVERPAYMENT_CREDIT[language]
    assert_texted(twilio, expected)


PAYMENT_DECLINED = {
    "en": "{u}: your payment of $84.12 for account ending {n} was declined, and nothing was "
    "charged. Reply PAY to try again or call 512-555-0100.",
    "es": "{u}: su pago de $84.12 para la cuenta que termina en {n} fue rechazado y no se "
    "cobró nada. Responda PAGAR para intentarlo de nuevo o llame al 512-555-0100.",
}
AUTOPAY_FAILED = {
    "en": "{u}: autopay could not charge $84.12 to your card for account ending {n}. "
    "Reply PAY to pay or call 512-555-0100.",
    "es": "{u}: el pago automático no pudo cobrar $84.12 a su tarjeta para la cuenta "
    "que termina en {n}. Responda PAGAR para pagar o llame al 512-555-0100.",
}


def decline(session: Session, account: Account, channel: PaymentChannel) -> None:
    payment = pay(session, account, "84.12", channel=channel, status=PaymentStatus.PENDING)
    change_status(session, payment, PaymentStatus.FAILED, source="test")
    queue_notice(
        session,
        NoticeKind.PAYMENT_DECLINED,
        account_id=account.id,
        payment=payment,
        key=f"declined:{payment.id}",
        decline_code="card_declined",
    )
    session.commit()


def test_payment_declined_texted(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    decline(session, account, PaymentChannel.SMS)

    expected = PAYMENT_DECLINED[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected)


def test_autopay_decline_texted(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    decline(session, account, PaymentChannel.AUTOPAY_CARD)

    expected = AUTOPAY_FAILED[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected)


PAYMENT_RETURNED = {
    "en": "{u}: your bank returned your payment of $84.12 for account ending {n}, so that "
    "amount is owed again. A returned payment fee of $25.00 was added. Reply PAY to pay "
    "or call 512-555-0100.",
    "es": "{u}: su banco devolvió su pago de $84.12 de la cuenta que termina en {n}, así que "
    "ese monto se debe de nuevo. Se agregó un cargo de $25.00 por pago devuelto. "
    "Responda PAGAR para pagar o llame al 512-555-0100.",
}


def test_payment_returned_texted(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    payment = pay(
        session,
        account,
        "84.12",
        channel=PaymentChannel.BANK_DRAFT,
        method=PaymentMethod.BANK_ACCOUNT,
        provider="ach",
    )
    session.commit()
    twilio.messages.clear()
    reverse_payment(
        session,
        payment,
        to=PaymentStatus.RETURNED,
        reason="R01 Insufficient Funds",
        source="test",
        effective_date=dt.date(2026, 12, 8),
        fee=Decimal("25.00"),
        notice=NoticeKind.PAYMENT_RETURNED,
    )
    session.commit()

    expected = PAYMENT_RETURNED[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected)


AUTOPAY_SUSPENDED = {
    "en": "{u}: autopay by bank draft for account ending {n} is stopped because your bank "
    "returned a draft. Reply PAY to pay or call 512-555-0100.",
    "es": "{u}: el pago automático por débito bancario de la cuenta que termina en {n} se "
    "suspendió porque su banco devolvió un débito. Responda PAGAR para pagar o llame al "
    "512-555-0100.",
}


def test_autopay_suspended_texted(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
    language: str,
) -> None:
    account = household(language)
    queue_notice(
        session,
        NoticeKind.AUTOPAY_SUSPENDED,
        account_id=account.id,
        key="autopay-suspended:1",
        reason="R02 Account Closed",
        bank="Checking …6789",
    )
    session.commit()

    expected = AUTOPAY_SUSPENDED[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected)


def test_notices_not_texted_left_waiting(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
) -> None:
    account = household("en")
    queue_notice(
        session,
        NoticeKind.PAYMENT_REFUNDED,
        account_id=account.id,
        key="refund:1",
        amount="10.00",
    )
    queue_notice(
        session,
        NoticeKind.PAYMENT_RECEIVED,
        account_id=account.id,
        key="receipt-email:1",
        channel="email",
        to="pat@example.com",
        amount="10.00",
        received_on="2026-12-04",
    )
    session.commit()

    assert twilio.messages == []
    for notice in session.query(PaymentNotice).all():
        session.refresh(notice)
        assert notice.sent_at is None


def test_notice_without_verified_phone(
    session: Session, city: City, twilio: FakeMessagesApi, no_quiet_hours: None
) -> None:
    account, _premise = city.account()
    add_phone(session, account, UNVERIFIED_PHONE, verified=False)
    payment = pay(session, account, "84.12")
    session.commit()

    assert twilio.messages == []
    notice = session.query(PaymentNotice).filter_by(payment_id=payment.id).one()
    session.refresh(notice)
    assert notice.sent_at is not None
    assert notice.delivery_note == "not texted: no verified phone on the account"


#: 10:00 CDT on 15 June 2026, outside quiet hours.
DAYTIME = local(2026, 6, 15, 10)

LEAK = {
    "en": "{u}: possible leak on account ending {n}. Your meter has recorded use without a "
    "break since June 13, 2026 (1,250 gal). Check faucets, toilets and irrigation, or "
    "reply LEAK to report it. Reply STOP to opt out.",
    "es": "{u}: posible fuga en la cuenta que termina en {n}. Su medidor registra consumo sin "
    "pausa desde el 13 de junio de 2026 (1,250 gal). Revise llaves, inodoros y riego, o "
    "responda FUGA para reportarla. Responda STOP para dejar de recibir mensajes.",
}
HIGH_USAGE = {
    "en": "{u}: use on account ending {n} is higher than usual: 18,400 gal since June 1, "
    "2026. Reply USAGE for details. Reply STOP to opt out.",
    "es": "{u}: el consumo de la cuenta que termina en {n} es mayor que lo habitual: 18,400 gal "
    "desde el 1 de junio de 2026. Responda CONSUMO para ver los detalles. Responda STOP "
    "para dejar de recibir mensajes.",
}


def test_leak_alert(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    language: str,
) -> None:
    account = household(language)
    sent = usage_alert(
        session,
        account_id=account.id,
        kind=UsageAlertKind.LEAK,
        quantity=Decimal("1250"),
        unit="gal",
        since=dt.date(2026, 6, 13),
        idempotency_key="leak:7:2026-06-13",
        now=DAYTIME,
    )
    session.commit()

    assert len(sent) == 2
    expected = LEAK[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected, sender=ALERTS_NUMBER)
    assert {m.program for m in messages(session)} == {Program.ALERTS}


def test_high_usage_alert(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    language: str,
) -> None:
    account = household(language)
    usage_alert(
        session,
        account_id=account.id,
        kind=UsageAlertKind.HIGH_USAGE,
        quantity=Decimal("18400"),
        unit="gal",
        since=dt.date(2026, 6, 1),
        idempotency_key="high:7:2026-06",
        now=DAYTIME,
    )
    session.commit()

    expected = HIGH_USAGE[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected, sender=ALERTS_NUMBER)


def test_usage_alert_once_per_key(
    session: Session, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    for _ in range(2):
        usage_alert(
            session,
            account_id=account.id,
            kind=UsageAlertKind.LEAK,
            quantity=Decimal("1250"),
            unit="gal",
            since=dt.date(2026, 6, 13),
            idempotency_key="leak:7:2026-06-13",
            now=DAYTIME,
        )
        session.commit()

    assert len(messages(session)) == 2
    assert len(twilio.messages) == 2


def test_usage_alert_waits_for_morning(
    session: Session, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    sent = usage_alert(
        session,
        account_id=account.id,
        kind=UsageAlertKind.LEAK,
        quantity=Decimal("1250"),
        unit="gal",
        since=dt.date(2026, 6, 13),
        idempotency_key="leak:7:2026-06-13",
        now=local(2026, 6, 15, 23),
    )

    assert {m.status for m in sent} == {"deferred"}
    # 08:00 CDT on 16 June.
    assert {m.send_after for m in sent} == {dt.datetime(2026, 6, 16, 13, 0, tzinfo=dt.UTC)}


OUTAGE = {
    "en": "{u}: water outage affecting account ending {n}. Crews are working on it. "
    "Estimated restoration: June 16, 2026, 2:30 AM CDT. Reply STOP to opt out.",
    "es": "{u}: corte de agua que afecta la cuenta que termina en {n}. Nuestras cuadrillas ya "
    "trabajan en ello. Restablecimiento estimado: 16 de junio de 2026, 2:30 a.m. CDT. "
    "Responda STOP para dejar de recibir mensajes.",
}


def test_outage_alert_in_quiet_hours(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    language: str,
) -> None:
    account = household(language)
    night = local(2026, 6, 15, 23)
    sent = outage_alert(
        session,
        account_id=account.id,
        service="water",
        idempotency_key="outage:31:1",
        restore_at=local(2026, 6, 16, 2, 30),
        now=night,
    )
    session.commit()

    assert {m.status for m in sent} == {"queued"}
    assert {m.send_after for m in sent} == {night}
    expected = OUTAGE[language].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected, sender=ALERTS_NUMBER)


def test_outage_without_estimate(
    session: Session, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    outage_alert(
        session,
        account_id=account.id,
        service="electric",
        idempotency_key="outage:32:1",
        now=DAYTIME,
    )
    session.commit()

    expected = (
        f"{UTILITY}: electric outage affecting account ending {account.number[-4:]}. "
        "Crews are working on it. Reply STOP to opt out."
    )
    assert_texted(twilio, expected, sender=ALERTS_NUMBER)


def test_opted_out_phone_skipped(
    session: Session, household: Callable[[str], Account], twilio: FakeMessagesApi
) -> None:
    account = household("en")
    opt_out(session, SECOND_PHONE, [Program.ALERTS], source="STOP")
    session.commit()
    outage_alert(
        session,
        account_id=account.id,
        service="water",
        idempotency_key="outage:33:1",
        now=DAYTIME,
    )
    session.commit()

    assert [form["To"] for form in twilio.messages] == [CUSTOMER_PHONE]
    statuses = {m.to_number: m.status for m in messages(session)}
    assert statuses == {CUSTOMER_PHONE: "queued", SECOND_PHONE: "suppressed"}


def test_unverified_only_gets_nothing(
    session: Session, city: City, twilio: FakeMessagesApi
) -> None:
    account, _premise = city.account()
    add_phone(session, account, UNVERIFIED_PHONE, verified=False)
    session.commit()

    sent = outage_alert(
        session,
        account_id=account.id,
        service="water",
        idempotency_key="outage:34:1",
        now=DAYTIME,
    )
    session.commit()

    assert sent == []
    assert messages(session) == []
    assert twilio.messages == []


def test_unreadable_notice_skipped(
    session: Session,
    household: Callable[[str], Account],
    twilio: FakeMessagesApi,
    no_quiet_hours: None,
) -> None:
    account = household("en")
    queue_notice(
        session,
        NoticeKind.PAYMENT_DECLINED,
        account_id=account.id,
        key="declined:bad",
        amount="not a number",
    )
    queue_notice(
        session,
        NoticeKind.AUTOPAY_SUSPENDED,
        account_id=account.id,
        key="autopay-suspended:2",
        reason="R02 Account Closed",
    )
    session.commit()

    expected = AUTOPAY_SUSPENDED["en"].format(u=UTILITY, n=account.number[-4:])
    assert_texted(twilio, expected)
    bad = session.query(PaymentNotice).filter_by(notice_key="declined:bad").one()
    session.refresh(bad)
    assert bad.sent_at is not None
    assert (bad.delivery_note or "").startswith("not texted: unreadable notice")
