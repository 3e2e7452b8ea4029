"""Bank accounts for drafts: enrollment, masking, suspension and changes from the bank."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.audit.service import record
from app.errors import InvalidInput
from app.payments.ach.routing import is_valid_routing_number
from app.payments.drafts import vault
from app.payments.drafts.models import BankAccount, BankAccountStatus, BankAccountType


def check_bank_numbers(routing: str, number: str) -> tuple[str, str]:
    routing = routing.strip()
    number = number.strip().replace(" ", "")
    if not is_valid_routing_number(routing):
        raise InvalidInput(
            f"routing number ending {routing[-4:]} is not 9 digits with a valid ABA check "
            "digit; check it against the customer's check",
            code="invalid_routing_number",
        )
    if not (number.isdigit() and 4 <= len(number) <= 17):
        raise InvalidInput(
            "bank account number must be 4 to 17 digits", code="invalid_bank_account_number"
        )
    return routing, number


def add_bank_account(
    session: Session,
    *,
    account_id: int,
    holder_name: str,
    routing: str,
    number: str,
    account_type: BankAccountType,
    authorization_ref: str,
    authorized_at: dt.datetime,
    actor: str,
) -> BankAccount:
    """Store a bank account encrypted; only the last four digits stay readable."""
    routing, number = check_bank_numbers(routing, number)
    bank = BankAccount(
        account_id=account_id,
        holder_name=holder_name.strip()[:100],
        account_type=account_type,
        numbers_encrypted=vault.seal_bank_numbers(routing, number),
        routing_last4=routing[-4:],
        number_last4=number[-4:],
        authorized_at=authorized_at,
        authorization_ref=authorization_ref,
    )
    session.add(bank)
    session.flush()
    record(
        session,
        actor=actor,
        action="bank_account.add",
        outcome="ok",
        target=f"account:{account_id}",
        arguments={"bank_account": bank.label, "authorization": authorization_ref},
    )
    return bank


def suspend(bank: BankAccount, reason: str) -> None:
    bank.status = BankAccountStatus.SUSPENDED
    bank.suspended_reason = reason[:200]


def apply_change(
    bank: BankAccount,
    *,
    routing: str | None,
    number: str | None,
    account_type: BankAccountType | None,
) -> None:
    """Apply a notification of change from the bank to the stored details."""
    if routing is not None or number is not None:
        stored_routing, stored_number = vault.open_bank_numbers(bank.numbers_encrypted)
        routing, number = check_bank_numbers(routing or stored_routing, number or stored_number)
        bank.numbers_encrypted = vault.seal_bank_numbers(routing, number)
        bank.routing_last4 = routing[-4:]
        bank.number_last4 = number[-4:]
    if account_type is not None:
        bank.account_type = account_type
