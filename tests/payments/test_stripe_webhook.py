"""Stripe webhook: signatures over the raw body, duplicates, order, refunds, disputes.

localstripe ignores idempotency keys and sends no disputes, so these tests post events
signed with the stripe library's own scheme straight to our endpoint.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.inbound.models import InboundEvent
from app.ledger.models import EntryKind
from app.ledger.service import account_balance
from app.main import create_app
from app.payments.models import (
    NoticeKind,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentNotice,
    PaymentStatus,
    Refund,
)
from app.payments.service import create_payment
from tests.app.factories import City
from tests.payments.conftest import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET, sign
from tests.payments.helpers import assert_ledger_invariants, entries_of, issue_bill

EventFactory = Callable[..., str]


@pytest.fixture
def client(stripe_settings: None) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def account_id(session_factory: sessionmaker[Session]) -> int:
    """An account with one bill of 88.12 due 2026-12-10, committed for the endpoint."""
    with session_factory() as session:
        city = City(session)
        account, _ = city.account()
        issue_bill(session, city, account, "88.12")
        session.commit()
        return account.id


def intent(ref: str, account_id: int, amount: int = 8812, **extra: Any) -> dict[str, Any]:
    return {
        "id": ref,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "usd",
        "metadata": {"upm_account_id": str(account_id), "bill": "B-2026-11"},
        **extra,
    }


def post(client: TestClient, body: str, header: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = header if header is not None else sign(body)
    return client.post("/stripe/webhook", content=body.encode(), headers=headers)


def payments_for(session: Session, ref: str) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.external_ref == ref)))


def test_duplicate_delivery_posts_once(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    body = make_event("evt_dup1", "payment_intent.succeeded", intent("pi_A", account_id))
    first = post(client, body)
    second = post(client, body)
    assert first.status_code == 200
    assert second.status_code == 200
    assert first.json()["outcome"] == "posted"
    assert second.json()["outcome"] == "duplicate"
    with session_factory() as session:
        [payment] = payments_for(session, "pi_A")
        assert payment.amount == Decimal("88.12")
        assert payment.status == PaymentStatus.SUCCEEDED
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        assert account_balance(session, account_id) == Decimal("0.00")
        receipts = session.scalars(
            select(PaymentNotice).where(PaymentNotice.kind == NoticeKind.PAYMENT_RECEIVED)
        ).all()
        assert len(receipts) == 1
        assert_ledger_invariants(session)


def test_card_label_from_event(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    charge = {"id": "ch_L", "payment_method_details": {"card": {"brand": "mastercard",
                                                                 "last4": "4444"}}}
    body = make_event("evt_label", "payment_intent.succeeded",
                      intent("pi_L", account_id, charges={"data": [charge]}))
    post(client, body)
    with session_factory() as session:
        [payment] = payments_for(session, "pi_L")
        assert payment.method_label == "Mastercard ending 4444"


def test_other_event_same_intent_posts_once(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    post(client, make_event("evt_a", "payment_intent.succeeded", intent("pi_A", account_id)))
    second = make_event("evt_b", "payment_intent.succeeded", intent("pi_A", account_id))
    again = post(client, second)
    assert again.json()["outcome"] == "unchanged"
    with session_factory() as session:
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        assert account_balance(session, account_id) == Decimal("0.00")


def test_concurrent_duplicates_post_once(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session], db_url: str,
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks and concurrent claims are a PostgreSQL matter; SQLite serializes")
    body = make_event("evt_dup1", "payment_intent.succeeded", intent("pi_A", account_id))
    results: list[int] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        with TestClient(create_app()) as own_client:
            barrier.wait()
            results.append(post(own_client, body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    with session_factory() as session:
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1
        assert account_balance(session, account_id) == Decimal("0.00")
        assert_ledger_invariants(session)


def test_late_events_never_move_backwards(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    created = 1796400000
    post(client, make_event("evt_s", "payment_intent.succeeded", intent("pi_B", account_id),
                            created=created))
    post(client, make_event("evt_p", "payment_intent.processing", intent("pi_B", account_id),
                            created=created))
    failed = intent("pi_B", account_id, last_payment_error={"code": "card_declined"})
    post(client, make_event("evt_f", "payment_intent.payment_failed", failed,
                            created=created - 5))
    with session_factory() as session:
        [payment] = payments_for(session, "pi_B")
        assert payment.status == PaymentStatus.SUCCEEDED
        assert [change.to_status for change in payment.history] == [
            PaymentStatus.PENDING, PaymentStatus.SUCCEEDED,
        ]
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        declined = session.scalars(
            select(PaymentNotice).where(PaymentNotice.kind == NoticeKind.PAYMENT_DECLINED)
        ).all()
        assert declined == []


def charge(refunds: list[tuple[str, int]], cumulative: int) -> dict[str, Any]:
    return {
        "id": "ch_C",
        "object": "charge",
        "payment_intent": "pi_C",
        "amount": 8812,
        "amount_refunded": cumulative,
        "refunds": {"object": "list", "data": [
            {"id": ref, "object": "refund", "amount": amount, "status": "succeeded"}
            for ref, amount in refunds
        ]},
    }


def test_partial_refunds_post_each_refund_once(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    post(client, make_event("evt_pay", "payment_intent.succeeded", intent("pi_C", account_id)))
    first = make_event("evt_r1", "charge.refunded", charge([("re_1", 2000)], 2000))
    post(client, first)
    post(client, make_event("evt_r2", "charge.refunded",
                            charge([("re_2", 1000), ("re_1", 2000)], 3000)))
    post(client, first)
    with session_factory() as session:
        refunds = session.scalars(select(Refund).order_by(Refund.id)).all()
        assert [(r.refund_ref, r.amount) for r in refunds] == [
            ("re_1", Decimal("20.00")), ("re_2", Decimal("10.00")),
        ]
        # The bill of 88.12 was paid; 30.00 was given back, so 30.00 is owed again.
        assert account_balance(session, account_id) == Decimal("30.00")
        assert_ledger_invariants(session)


def test_cumulative_refund_without_ids_posts_difference(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    post(client, make_event("evt_pay", "payment_intent.succeeded", intent("pi_C", account_id)))
    bare_first = {**charge([], 2000), "refunds": None}
    bare_second = {**charge([], 3000), "refunds": None}
    post(client, make_event("evt_r1", "charge.refunded", bare_first))
    post(client, make_event("evt_r2", "charge.refunded", bare_second))
    post(client, make_event("evt_r1b", "charge.refunded", bare_first))
    with session_factory() as session:
        amounts = session.scalars(select(Refund.amount).order_by(Refund.id)).all()
        assert amounts == [Decimal("20.00"), Decimal("10.00")]


def test_refund_over_payment_is_rejected(session: Session) -> None:
    from app.errors import InvalidInput
    from app.payments.service import check_refund, record_refund

    city = City(session)
    account, _ = city.account()
    payment = create_payment(
        session, account_id=account.id, amount=Decimal("88.12"),
        channel=PaymentChannel.WEB, method=PaymentMethod.CARD, provider="stripe",
        external_ref="pi_C", idempotency_key="k-C", taken_by="test",
        received_on=dt.date(2026, 12, 1), status=PaymentStatus.SUCCEEDED,
    )
    record_refund(session, payment, amount=Decimal("20.00"), refund_ref="re_1", actor="t",
                  effective_date=dt.date(2026, 12, 2))
    record_refund(session, payment, amount=Decimal("10.00"), refund_ref="re_2", actor="t",
                  effective_date=dt.date(2026, 12, 2))
    with pytest.raises(InvalidInput, match="more than the 88.12 paid; at most 58.12"):
        check_refund(session, payment, Decimal("60.00"))
    assert_ledger_invariants(session)


def test_dispute_reverses_payment_and_adds_fee(
    client: TestClient, account_id: int, make_event: EventFactory,
    session_factory: sessionmaker[Session],
) -> None:
    post(client, make_event("evt_pay", "payment_intent.succeeded", intent("pi_D", account_id)))
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_D", "payment_intent": "pi_D",
               "amount": 8812, "reason": "fraudulent", "status": "needs_response"}
    post(client, make_event("evt_dp", "charge.dispute.created", dispute))
    with session_factory() as session:
        [payment] = payments_for(session, "pi_D")
        assert payment.status == PaymentStatus.DISPUTED
        # 88.12 owed again plus the 15.00 dispute fee.
        assert account_balance(session, account_id) == Decimal("103.12")
        assert_ledger_invariants(session)
    won = {**dispute, "status": "won"}
    post(client, make_event("evt_dp_won", "charge.dispute.closed", won))
    with session_factory() as session:
        [payment] = payments_for(session, "pi_D")
        assert payment.status == PaymentStatus.SUCCEEDED
        assert account_balance(session, account_id) == Decimal("15.00")
        assert_ledger_invariants(session)


def test_indented_body_is_verified_raw(
    client: TestClient, account_id: int, make_event: EventFactory,
) -> None:
    body = make_event("evt_raw", "payment_intent.succeeded", intent("pi_E", account_id))
    assert "\n  " in body
    assert post(client, body).status_code == 200


def test_stale_signature_is_rejected(
    client: TestClient, account_id: int, make_event: EventFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = make_event("evt_old", "payment_intent.succeeded", intent("pi_F", account_id))
    response = post(client, body, sign(body, timestamp=int(time.time()) - 301))
    assert response.status_code == 400
    assert response.json()["code"] == "signature_invalid"
    assert WEBHOOK_SECRET not in caplog.text


def test_reserialized_body_is_rejected(
    client: TestClient, account_id: int, make_event: EventFactory,
) -> None:
    body = make_event("evt_re", "payment_intent.succeeded", intent("pi_G", account_id))
    header = sign(body)
    compact = body.replace("\n", "").replace("  ", "")
    assert post(client, compact, header).status_code == 400


def test_rotated_secrets_either_matches(
    client: TestClient, account_id: int, make_event: EventFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.settings import get_settings

    body = make_event("evt_rot", "payment_intent.succeeded", intent("pi_H", account_id))
    now = int(time.time())
    old = sign(body, OLD_WEBHOOK_SECRET, now)
    new = sign(body, WEBHOOK_SECRET, now)
    both = old + ",v1=" + new.split("v1=")[1]
    assert post(client, body, both).status_code == 200
    monkeypatch.setenv("UPM_STRIPE_WEBHOOK_SECRETS", f"{WEBHOOK_SECRET},{OLD_WEBHOOK_SECRET}")
    get_settings.cache_clear()
    other = make_event("evt_rot2", "payment_intent.succeeded", intent("pi_I", account_id))
    assert post(client, other, sign(other, OLD_WEBHOOK_SECRET)).status_code == 200
    unknown = make_event("evt_rot3", "payment_intent.succeeded", intent("pi_J", account_id))
    assert post(client, unknown, sign(unknown, "whsec_other")).status_code == 400


def test_unknown_account_goes_to_suspense(
    client: TestClient, make_event: EventFactory, session_factory: sessionmaker[Session],
) -> None:
    body = make_event("evt_x", "payment_intent.succeeded",
                      {"id": "pi_X", "amount": 500, "amount_received": 500, "metadata": {}})
    assert post(client, body).json()["outcome"] == "suspense"
    from app.payments.bankfiles.models import SuspenseItem

    with session_factory() as session:
        [item] = session.scalars(select(SuspenseItem)).all()
        assert item.amount == Decimal("5.00")
        assert item.reference == "pi_X"
        assert_ledger_invariants(session)
        account, _ = City(session).account("Found Later")
        from app.payments.suspense import resolve_to_account

        payment = resolve_to_account(session, item.id, account_id=account.id, actor="clerk")
        # Resolved, it is a card payment like any other: found by its PaymentIntent.
        assert (payment.provider, payment.external_ref) == ("stripe", "pi_X")
        assert_ledger_invariants(session)
