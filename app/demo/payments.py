"""Payments for the demo city: autopay and bank-draft customers, a draft file, returns,
and a day of lockbox payments with a few that match no account.

Everything goes through the same services as production. Card enrollments use saved
cards with placeholder Stripe ids, because the demo runs without Stripe: they show on
the pages, and `upm payments autopay` needs UPM_STRIPE_SECRET_KEY before it can charge.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Customer
from app.billing.models import Bill
from app.demo.bank_files import Returned, return_file
from app.payments import channels
from app.payments.bankfiles.lockbox_import import import_payment_file
from app.payments.bankfiles.models import BankFile
from app.payments.cards.models import SavedCard, StripeCustomer
from app.payments.drafts.accounts import add_bank_account
from app.payments.drafts.models import BankAccountType
from app.payments.drafts.originate import draft_file_bytes, generate_draft_file
from app.payments.drafts.returns import import_returns
from app.payments.drafts.vault import create_key_file, write_private
from app.payments.models import Payment, PaymentChannel
from app.payments.remittance.scanline import format_scan_line
from app.settings import Settings

#: Real routing numbers with valid ABA check digits, for made-up demo bank accounts.
DEMO_ROUTING_NUMBERS = ("011000015", "021000021", "071000013", "111000025", "121000358")


@dataclass
class PaymentsDemoReport:
    card_autopay: int = 0
    bank_drafts: int = 0
    draft_file: str = ""
    draft_total: Decimal = Decimal("0.00")
    returns: int = 0
    returns_file: str = ""
    lockbox_file: str = ""
    lockbox_posted: int = 0
    lockbox_suspense: int = 0
    lockbox_errors: int = 0


def demo_payments_present(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(BankFile)) or 0) > 0


def seed_payments(
    session: Session, *, settings: Settings, actor: str, seed: int, folder: Path
) -> PaymentsDemoReport:
    """Enroll some accounts, draft them, return two drafts, and import a lockbox day."""
    if settings.bank_data_key is None:
        create_key_file(settings.bank_data_key_file)
    rng = random.Random(seed)
    report = PaymentsDemoReport()
    bills = session.scalars(select(Bill).order_by(Bill.due_date.desc(), Bill.account_id)).all()
    latest_due = bills[0].due_date if bills else settings.today()
    current = [bill for bill in bills if bill.due_date == latest_due]
    rng.shuffle(current)
    drafted = current[: max(3, len(current) // 20)]
    carded = current[len(drafted) : len(drafted) + max(2, len(current) // 20)]
    paying = current[len(drafted) + len(carded) :]
    for index, bill in enumerate(drafted):
        _enroll_bank(session, bill.account_id, index, rng, actor)
    for index, bill in enumerate(carded):
        _enroll_card(session, bill.account_id, index, actor)
    report.bank_drafts = len(drafted)
    report.card_autopay = len(carded)

    draft_day = latest_due - dt.timedelta(days=settings.draft_lead_days)
    draft_file = generate_draft_file(session, draft_date=draft_day, actor=actor)
    if draft_file is not None:
        report.draft_total = draft_file.debit_total
        path = folder / f"demo-drafts-{draft_day:%Y%m%d}.ach"
        write_private(path, draft_file_bytes(draft_file))
        report.draft_file = str(path)

    drafts = session.scalars(
        select(Payment).where(Payment.channel == PaymentChannel.BANK_DRAFT).order_by(Payment.id)
    ).all()
    returned = [
        Returned(str(p.external_ref), int(p.amount * 100), code)
        for p, code in zip(drafts[:2], ("R01", "R03"), strict=False)
    ]
    if returned:
        returns = return_file(returned).encode()
        path = folder / "demo-returns.ach"
        write_private(path, returns)
        report.returns_file = str(path)
        result = import_returns(session, filename=path.name, content=returns, actor=actor)
        report.returns = result.returned

    content = _lockbox_day(session, paying[: max(5, len(paying) // 4)], rng)
    path = folder / f"demo-lockbox-{latest_due:%Y%m%d}.csv"
    write_private(path, content)
    report.lockbox_file = str(path)
    imported = import_payment_file(session, filename=path.name, content=content, actor=actor)
    report.lockbox_posted = imported.posted
    report.lockbox_suspense = imported.suspense
    report.lockbox_errors = len(imported.errors)
    return report


def _enroll_bank(
    session: Session, account_id: int, index: int, rng: random.Random, actor: str
) -> None:
    name = session.scalar(
        select(Customer.name)
        .join(Account, Account.customer_id == Customer.id)
        .where(Account.id == account_id)
    )
    bank = add_bank_account(
        session,
        account_id=account_id,
        holder_name=name or "Demo customer",
        routing=DEMO_ROUTING_NUMBERS[index % len(DEMO_ROUTING_NUMBERS)],
        number=str(rng.randrange(10**7, 10**10)),
        account_type=BankAccountType.SAVINGS if index % 7 == 6 else BankAccountType.CHECKING,
        authorization_ref=f"demo signed authorization {index + 1}",
        authorized_at=dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC),
        actor=actor,
    )
    channels.enroll_autopay(
        session,
        account_id=account_id,
        channel=PaymentChannel.COUNTER,
        idempotency_key=f"demo-draft-{account_id}",
        actor=actor,
        bank_account_id=bank.id,
    )


def _enroll_card(session: Session, account_id: int, index: int, actor: str) -> None:
    session.add(StripeCustomer(account_id=account_id, customer_ref=f"cus_demo_{account_id}"))
    card = SavedCard(
        account_id=account_id,
        payment_method_ref=f"pm_demo_{account_id}",
        brand=("visa", "mastercard", "amex")[index % 3],
        last4=("4242", "4444", "8431")[index % 3],
        exp_month=1 + index % 12,
        exp_year=2028 + index % 3,
        is_default=True,
    )
    session.add(card)
    session.flush()
    channels.enroll_autopay(
        session,
        account_id=account_id,
        channel=PaymentChannel.WEB,
        idempotency_key=f"demo-card-{account_id}",
        actor=actor,
        saved_card_id=card.id,
    )


def _lockbox_day(session: Session, bills: list[Bill], rng: random.Random) -> bytes:
    """Write a payment CSV: most pay in full by scan line, some pay part or extra."""
    numbers = dict(
        session.execute(
            select(Account.id, Account.number).where(Account.id.in_([b.account_id for b in bills]))
        ).all()
    )
    lines = ["account_number,scan_line,amount,paid_on,check_number,payer_name"]
    for index, bill in enumerate(bills):
        number = numbers[bill.account_id]
        amount = bill.total
        if index % 9 == 4:
            amount = (bill.total / 2).quantize(Decimal("0.01"))
        elif index % 9 == 7:
            amount = bill.total + Decimal("20.00")
        paid_on = bill.due_date - dt.timedelta(days=rng.randrange(1, 6))
        check = 1000 + index
        if index % 3 == 0:
            lines.append(f"{number},,{amount},{paid_on},{check},")
        else:
            scan = format_scan_line(number, bill.id, bill.total)
            lines.append(f",{scan},{amount},{paid_on},{check},")
    day = bills[0].due_date if bills else dt.date(2026, 12, 1)
    # Three checks whose stubs were lost or mistyped, and one row a clerk keyed badly.
    lines.append(f"100000009,,42.10,{day},9001,R. Alvarez")
    lines.append(f",,18.00,{day},9002,Unknown payer")
    lines.append(f"99999999,,65.35,{day},9003,M. Okafor")
    lines.append(f"{numbers[bills[0].account_id] if bills else ''},,12.3x,{day},9004,")
    return ("\n".join(lines) + "\n").encode()
