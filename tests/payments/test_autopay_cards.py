"""Card autopay against localstripe: charge on the due date, bounded retries, races."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.errors import DomainError
from app.ledger.service import account_balance
from app.payments import channels
from app.payments.autopay.cards import charge_bill, run_autopay
from app.payments.autopay.models import AttemptStatus, AutopayAttempt
from app.payments.cards.gateway import StripeGateway
from app.payments.cards.service import save_card
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentNotice,
    PaymentStatus,
)
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.helpers import assert_ledger_invariants, issue_bill

DUE = dt.date(2026, 12, 10)
GOOD_CARD = "4242424242424242"
#: Attaches, then every charge is declined (Stripe's documented test number).
DECLINING_CARD = "4000000000000341"


def card_token(number: str) -> str:
    """Create a PaymentMethod as Stripe.js would in the customer's browser."""
    settings = get_settings()
    client = stripe.StripeClient(
        "sk_test_upm", base_addresses={"api": settings.stripe_api_base}
    )
    method = client.v1.payment_methods.create(params={
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    })
    return str(method.id)


def enrolled_account(
    session_factory: sessionmaker[Session], number: str = GOOD_CARD, total: str = "88.12"
) -> tuple[int, int]:
    with session_factory() as session:
        city = City(session)
        account, _ = city.account()
        bill = issue_bill(session, city, account, total, due_date=DUE)
        card = save_card(session, StripeGateway(), account_id=account.id,
                         payment_method_ref=card_token(number))
        channels.enroll_autopay(session, account_id=account.id, channel=PaymentChannel.WEB,
                                idempotency_key=f"enroll:{account.id}", actor="customer",
                                saved_card_id=card.id)
        session.commit()
        return account.id, bill.id


def test_charges_on_due_date_once(
    localstripe: str, session_factory: sessionmaker[Session]
) -> None:
    account_id, bill_id = enrolled_account(session_factory)
    assert run_autopay(session_factory, today=DUE - dt.timedelta(days=1)).charged == 0
    assert run_autopay(session_factory, today=DUE).charged == 1
    assert run_autopay(session_factory, today=DUE).charged == 0
    with session_factory() as session:
        [payment] = session.scalars(select(Payment)).all()
        assert payment.status == PaymentStatus.SUCCEEDED
        assert payment.idempotency_key == f"autopay:{bill_id}:1"
        assert payment.channel == PaymentChannel.AUTOPAY_CARD
        assert payment.method_label == "Visa ending 4242"
        assert payment.external_ref is not None
        assert payment.external_ref.startswith("pi_")
        assert account_balance(session, account_id) == Decimal("0.00")
        assert_ledger_invariants(session)


def test_declines_retry_on_schedule_then_stop(
    localstripe: str, session_factory: sessionmaker[Session]
) -> None:
    _, bill_id = enrolled_account(session_factory, DECLINING_CARD)
    days = {offset: run_autopay(session_factory, today=DUE + dt.timedelta(days=offset))
            for offset in range(0, 9)}
    declined_on = [offset for offset, report in days.items() if report.declined]
    # Retry days "2,5" after the due date: three attempts in all, then no more.
    assert declined_on == [0, 2, 5]
    with session_factory() as session:
        attempts = session.scalars(
            select(AutopayAttempt).where(AutopayAttempt.bill_id == bill_id)
            .order_by(AutopayAttempt.attempt)
        ).all()
        assert [a.attempt for a in attempts] == [1, 2, 3]
        assert [a.status for a in attempts] == [AttemptStatus.DECLINED] * 3
        assert [a.next_attempt_on for a in attempts] == [
            DUE + dt.timedelta(days=2), DUE + dt.timedelta(days=5), None,
        ]
        assert all(a.decline_code == "card_declined" for a in attempts)
        notices = session.scalars(
            select(PaymentNotice).where(PaymentNotice.kind == NoticeKind.PAYMENT_DECLINED)
        ).all()
        assert len(notices) == 3
        assert_ledger_invariants(session)


def test_paid_before_due_date_is_skipped(
    localstripe: str, session_factory: sessionmaker[Session]
) -> None:
    account_id, bill_id = enrolled_account(session_factory)
    with session_factory() as session:
        channels.pay(session, account_id=account_id, channel=PaymentChannel.IVR,
                     idempotency_key="CA123:pay", actor="ivr")
        session.commit()
    report = run_autopay(session_factory, today=DUE)
    assert report.skipped == 1
    assert report.charged == 0
    with session_factory() as session:
        assert len(session.scalars(select(Payment)).all()) == 1
        assert account_balance(session, account_id) == Decimal("0.00")


def test_unknown_outcome_retries_same_key(
    localstripe: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bill_id = enrolled_account(session_factory)
    monkeypatch.setenv("UPM_STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens here
    get_settings.cache_clear()
    assert run_autopay(session_factory, today=DUE).unknown == 1
    monkeypatch.setenv("UPM_STRIPE_API_BASE", localstripe)
    get_settings.cache_clear()
    assert run_autopay(session_factory, today=DUE).charged == 1
    with session_factory() as session:
        [payment] = session.scalars(select(Payment)).all()
        assert payment.idempotency_key == f"autopay:{bill_id}:1"
        assert payment.status == PaymentStatus.SUCCEEDED
        [attempt] = session.scalars(select(AutopayAttempt)).all()
        assert attempt.status == AttemptStatus.SUCCEEDED
        assert_ledger_invariants(session)


def test_autopay_races_manual_payment(
    localstripe: str, session_factory: sessionmaker[Session], db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks are a PostgreSQL matter; SQLite serializes writers")
    account_id, bill_id = enrolled_account(session_factory)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def autopay() -> None:
        try:
            barrier.wait()
            with session_factory() as session, session.begin():
                charge_bill(session, StripeGateway(), bill_id, today=DUE)
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    def manual() -> None:
        try:
            barrier.wait()
            with session_factory() as session, session.begin():
                channels.pay(session, account_id=account_id, channel=PaymentChannel.IVR,
                             amount=Decimal("88.12"), idempotency_key="CA9:pay", actor="ivr")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=autopay), threading.Thread(target=manual)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as session:
        payments = session.scalars(select(Payment).order_by(Payment.id)).all()
        succeeded = [p for p in payments if p.status == PaymentStatus.SUCCEEDED]
        assert 1 <= len(succeeded) <= 2
        assert len({p.external_ref for p in succeeded}) == len(succeeded)
        # Whatever the order, the account never owes a negative amount without a credit
        # recorded on the payment that caused it.
        credit = sum((p.credit_on_account for p in succeeded), Decimal("0.00"))
        assert account_balance(session, account_id) == -credit
        if len(succeeded) == 2:
            assert succeeded[1].credit_on_account == Decimal("88.12")
        assert_ledger_invariants(session)


def test_pay_without_card_is_clear(stripe_settings: None, session: Session) -> None:
    city = City(session)
    account, _ = city.account()
    issue_bill(session, city, account, "10.00")
    with pytest.raises(DomainError, match="no saved card"):
        channels.pay(session, account_id=account.id, channel=PaymentChannel.SMS,
                     idempotency_key="SM1", actor="sms")


def test_card_unknown_to_stripe_does_not_stop_run(
    localstripe: str, session_factory: sessionmaker[Session]
) -> None:
    from app.payments.cards.models import SavedCard, StripeCustomer

    with session_factory() as session:
        city = City(session, cycle_code="C9")
        ghost, _ = city.account("Ghost Card")
        issue_bill(session, city, ghost, "20.00", due_date=DUE)
        session.add(StripeCustomer(account_id=ghost.id, customer_ref="cus_missing"))
        card = SavedCard(account_id=ghost.id, payment_method_ref="pm_missing", brand="visa",
                         last4="0000", exp_month=1, exp_year=2030, is_default=True)
        session.add(card)
        session.flush()
        channels.enroll_autopay(session, account_id=ghost.id, channel=PaymentChannel.WEB,
                                idempotency_key="enroll-ghost", actor="customer",
                                saved_card_id=card.id)
        session.commit()
    enrolled_account(session_factory)
    report = run_autopay(session_factory, today=DUE)
    assert report.charged == 1
    assert report.declined == 1
    with session_factory() as session:
        failed = session.scalars(
            select(Payment).where(Payment.status == PaymentStatus.FAILED)
        ).one()
        # Real Stripe sends the code resource_missing; localstripe sends none.
        assert failed.failure_code in {"resource_missing", "invalid_request"}
        assert_ledger_invariants(session)
