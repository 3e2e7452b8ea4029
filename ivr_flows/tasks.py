"""The saved-card charge of a call, run by Celery so the webhook returns at once."""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select

from app.calls.models import Call
from app.celery_app import celery_app
from app.db import session_scope
from app.errors import DomainError
from app.payments.channels import pay
from app.payments.models import PaymentChannel

log = logging.getLogger(__name__)


@celery_app.task(name="ivr.charge_saved_card")
def charge_saved_card(
    call_sid: str, account_id: int, amount: str, idempotency_key: str, saved_card_id: int
) -> str:
    """Charge the saved card once per key; return the payment status or the error code.

    A decline is a failed payment, which the call's ``check`` step reads. An error
    before Stripe decided is written to the call record instead.
    """
    try:
        with session_scope() as session:
            payment = pay(
                session,
                account_id=account_id,
                channel=PaymentChannel.IVR,
                idempotency_key=idempotency_key,
                actor=f"ivr:{call_sid}",
                amount=Decimal(amount),
                saved_card_id=saved_card_id,
            )
            status = payment.status.value
    except DomainError as error:
        log.warning(
            "call %s: saved-card charge %s failed: %s (%s)",
            call_sid,
            idempotency_key,
            error.code,
            error.message,
        )
        _record_error(call_sid, idempotency_key, error.code)
        return error.code
    log.info("call %s: saved-card charge %s is %s", call_sid, idempotency_key, status)
    return status


def _record_error(call_sid: str, idempotency_key: str, code: str) -> None:
    with session_scope() as session:
        call = session.scalars(
            select(Call).where(Call.call_sid == call_sid).with_for_update()
        ).one_or_none()
        if call is not None and call.pending_payment_key == idempotency_key:
            call.pay_error = code[:60]
