"""The front counter: drawer sessions, payments taken in person, the count at close.

Every account here gets one real November 2026 bill from a bill run. Worked by hand:
8,000 gallons of water is 8 kgal, so water is the 10.00 base charge plus 5 x 2.00 plus
3 x 3.00 = 29.00; trash is 20.00 a month; the bill is 49.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Account, Contact, ContactKind
from app.audit.models import AuditEvent
from app.billing.models import Bill
from app.billing.periods import parse_period
from app.billing.run import run_bill_run
from app.errors import Conflict, InvalidInput, NotFound
from app.ledger.chart import RECEIVABLES
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.ledger.service import account_balance, post_adjustment
from app.payments.counter.models import DrawerStatus
from app.payments.counter.receipts import (
    build_receipt,
    email_receipt,
    render_receipt_html,
    render_receipt_text,
)
from app.payments.counter.service import (
    CounterPayment,
    close_drawer,
    drawer_totals,
    open_drawer,
    take_payment,
)
from app.payments.models import (
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentNotice,
    PaymentStatus,
)
from app.payments.owed import amount_owed
from app.payments.service import create_payment
from app.settings import get_settings
from tests.app.factories import City, trash_tariff, water_tariff

ZONE = ZoneInfo("America/Chicago")
NOVEMBER = parse_period("2026-11")
BILL = Decimal("49.00")
CARD_NUMBER = "4242424242424242"
SPANISH_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                  "septiembre", "octubre", "noviembre", "diciembre"]


def billed_accounts(
    session: Session, factory: sessionmaker[Session], count: int
) -> list[Account]:
    """Create ``count`` accounts and bill each 49.00 for November 2026."""
    city = City(session)
    water = city.tariff(water_tariff())
    trash = city.tariff(trash_tariff())
    accounts = []
    for number in range(count):
        account, premise = city.account(name=f"Customer {number}")
        city.agreement(account, premise, water)
        city.agreement(account, premise, trash)
        register = city.meter(premise, f"W-{number}", "water", "gal")
        city.read(register, dt.date(2026, 11, 1), "100000")
        city.read(register, dt.date(2026, 12, 1), "108000")
        accounts.append(account)
    session.commit()
    run_bill_run(
        factory, cycle_code="C1", period=NOVEMBER, actor="test", zone=ZONE, due_days=21,
        today=dt.date(2026, 12, 4),
    )
    for account in accounts:
        bill = session.scalars(select(Bill).where(Bill.account_id == account.id)).one()
        assert bill.total == BILL
    return accounts


def assert_ledger_balanced(session: Session, balances: dict[int, Decimal]) -> None:
    """Check that every entry balances and each account's balance is its receivables."""
    session.flush()
    sums = session.execute(
        select(Posting.entry_id, func.sum(Posting.amount)).group_by(Posting.entry_id)
    ).all()
    assert sums, "the ledger has no entries"
    for entry_id, total in sums:
        assert total == 0, f"journal entry {entry_id} sums to {total}"
    for account_id, expected in balances.items():
        receivables = session.scalar(
            select(func.sum(Posting.amount))
            .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
            .where(Posting.account_id == account_id, LedgerAccount.code == RECEIVABLES)
        )
        # SUM over no rows is NULL, which is a zero balance.
        assert (receivables or Decimal("0.00")) == expected, f"account id {account_id}"
        assert account_balance(session, account_id) == expected
        owed = amount_owed(session, account_id, today=dt.date(2026, 12, 4))
        assert owed.balance == expected


def pay(
    session: Session, drawer_session_id: int, account: Account, amount: str, method: str,
    key: str, **details: object,
) -> CounterPayment:
    return take_payment(
        session, drawer_session_id=drawer_session_id, account_id=account.id,
        amount=Decimal(amount), method=method, idempotency_key=key, actor="Maria",
        **details,  # type: ignore[arg-type]
    )


def card(last4: str = "4242", code: str = "A1B2C3") -> dict[str, str]:
    return {"card_last4": last4, "card_brand": "visa", "approval_code": code}


def english_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def spanish_date(day: dt.date) -> str:
    return f"{day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}"


def test_full_shift_balances(session: Session, session_factory: sessionmaker[Session]) -> None:
    cash_payer, check_payer, card_payer = billed_accounts(session, session_factory, 3)
    drawer = open_drawer(
        session, drawer="Front 1", opening_float=Decimal("100.00"), actor="Maria"
    )

    cash = pay(session, drawer.id, cash_payer, "40.00", "cash", "k-cash",
               tendered=Decimal("50.00"))
    check = pay(session, drawer.id, check_payer, "88.12", "check", "k-check",
                check_number="1180")
    card_payment = pay(session, drawer.id, card_payer, "20.00", "card_present", "k-card",
                       **card())

    assert cash.change_due == Decimal("10.00")
    assert cash.tendered == Decimal("50.00")
    assert check.change_due == Decimal("0.00")
    assert check.tendered is None
    assert card_payment.change_due == Decimal("0.00")
    for result in (cash, check, card_payment):
        payment = result.payment
        assert result.repeated is False
        assert payment.status == PaymentStatus.SUCCEEDED
        assert payment.channel == PaymentChannel.COUNTER
        assert payment.provider == "counter"
        assert payment.drawer_session_id == drawer.id
        assert payment.taken_by == "Maria"
        assert payment.journal_entry_id is not None
    assert cash.payment.method == PaymentMethod.CASH
    assert cash.payment.amount == Decimal("40.00")
    assert check.payment.method_label == "check 1180"
    assert check.payment.external_ref is None
    assert card_payment.payment.method_label == "Visa ending 4242"
    assert card_payment.payment.external_ref is not None
    assert card_payment.payment.external_ref.startswith("A1B2C3:")

    # 49.00 - 40.00 = 9.00; 49.00 - 88.12 = -39.12 (a credit); 49.00 - 20.00 = 29.00.
    assert_ledger_balanced(session, {
        cash_payer.id: Decimal("9.00"),
        check_payer.id: Decimal("-39.12"),
        card_payer.id: Decimal("29.00"),
    })
    assert check.payment.credit_on_account == Decimal("39.12")
    assert cash.payment.credit_on_account == Decimal("0.00")

    totals = drawer_totals(session, drawer)
    # Expected cash is the 100.00 float plus the 40.00 paid. The 10.00 change is not in it.
    assert totals.expected_cash == Decimal("140.00")
    assert totals.expected_checks == Decimal("88.12")
    assert totals.amount_by_method[PaymentMethod.CARD_PRESENT] == Decimal("20.00")
    assert totals.payment_count == 3

    closed = close_drawer(
        session, drawer_session_id=drawer.id, counted_cash=Decimal("140.00"),
        counted_checks=Decimal("88.12"), actor="Maria",
    )

    assert closed.status == DrawerStatus.CLOSED
    assert closed.open_drawer is None
    assert closed.closed_by == "Maria"
    assert closed.closed_at is not None
    assert closed.expected_cash == Decimal("140.00")
    assert closed.counted_cash == Decimal("140.00")
    assert closed.expected_checks == Decimal("88.12")
    assert closed.counted_checks == Decimal("88.12")
    assert closed.variance == Decimal("0.00")


def test_second_shift_short_count(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    (account,) = billed_accounts(session, session_factory, 1)
    first = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                        actor="Maria")
    pay(session, first.id, account, "10.00", "cash", "k-1")
    close_drawer(session, drawer_session_id=first.id, counted_cash=Decimal("110.00"),
                 counted_checks=Decimal("0.00"), actor="Maria")

    second = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                         actor="Luis")
    pay(session, second.id, account, "25.00", "cash", "k-2", tendered=Decimal("30.00"))
    pay(session, second.id, account, "14.00", "check", "k-3", check_number="2044")
    closed = close_drawer(session, drawer_session_id=second.id,
                          counted_cash=Decimal("120.00"), counted_checks=Decimal("14.00"),
                          actor="Luis")

    # Cash expected 100.00 + 25.00 = 125.00 but 120.00 counted: 5.00 short. Checks match.
    assert second.id != first.id
    assert closed.expected_cash == Decimal("125.00")
    assert closed.expected_checks == Decimal("14.00")
    assert closed.variance == Decimal("-5.00")
    assert closed.counted_cash - closed.expected_cash == Decimal("-5.00")
    assert closed.counted_checks - closed.expected_checks == Decimal("0.00")
    # 49.00 - 10.00 - 25.00 - 14.00 = 0.00.
    assert_ledger_balanced(session, {account.id: Decimal("0.00")})


def test_variance_adds_cash_and_checks(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 2", opening_float=Decimal("50.00"),
                         actor="Maria")
    pay(session, drawer.id, account, "30.00", "check", "k-1", check_number="77")

    closed = close_drawer(session, drawer_session_id=drawer.id,
                          counted_cash=Decimal("52.00"), counted_checks=Decimal("0.00"),
                          actor="Maria")

    # Cash is 2.00 over and the 30.00 check is missing: 2.00 - 30.00 = -28.00.
    assert closed.variance == Decimal("-28.00")
    # Nothing was owed, so the whole 30.00 is a credit.
    assert_ledger_balanced(session, {account.id: Decimal("-30.00")})


def test_same_key_posts_once(session: Session, session_factory: sessionmaker[Session]) -> None:
    (account,) = billed_accounts(session, session_factory, 1)
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                         actor="Maria")

    first = pay(session, drawer.id, account, "40.00", "cash", "k-same", tendered=Decimal("50.00"))
    again = pay(session, drawer.id, account, "40.00", "cash", "k-same", tendered=Decimal("50.00"))

    assert again.payment.id == first.payment.id
    assert again.repeated is True
    assert again.change_due == Decimal("10.00")
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    entries = session.scalar(
        select(func.count()).select_from(JournalEntry).where(
            JournalEntry.entry_key == f"payment:{first.payment.id}"
        )
    )
    assert entries == 1
    audits = session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "counter.payment"
        )
    )
    assert audits == 1
    assert drawer_totals(session, drawer).expected_cash == Decimal("140.00")
    # 49.00 - 40.00, once.
    assert_ledger_balanced(session, {account.id: Decimal("9.00")})


def test_same_key_after_close_returns_payment(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    first = pay(session, drawer.id, account, "12.00", "cash", "k-1")
    close_drawer(session, drawer_session_id=drawer.id, counted_cash=Decimal("12.00"),
                 counted_checks=Decimal("0.00"), actor="Maria")

    again = pay(session, drawer.id, account, "12.00", "cash", "k-1")

    assert again.payment.id == first.payment.id
    assert again.repeated is True
    assert_ledger_balanced(session, {account.id: Decimal("-12.00")})


def test_same_key_other_payment_conflicts(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    pay(session, drawer.id, account, "12.00", "cash", "k-1")

    with pytest.raises(Conflict, match="idempotency key 'k-1' was already used") as other_amount:
        pay(session, drawer.id, account, "13.00", "cash", "k-1")
    with pytest.raises(Conflict) as other_method:
        pay(session, drawer.id, account, "12.00", "check", "k-1", check_number="5")

    assert other_amount.value.code == "idempotency_key_reused"
    assert other_method.value.code == "idempotency_key_reused"
    assert_ledger_balanced(session, {account.id: Decimal("-12.00")})


def test_card_approval_entered_twice_posts_once(session: Session) -> None:
    city = City(session)
    account, _ = city.account()
    other, _ = city.account(name="Lee Roe")
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    first = pay(session, drawer.id, account, "20.00", "card_present", "k-1", **card())

    again = pay(session, drawer.id, account, "20.00", "card_present", "k-2", **card())
    with pytest.raises(Conflict, match="approval code A1B2C3") as elsewhere:
        pay(session, drawer.id, other, "20.00", "card_present", "k-3", **card())
    new_approval = pay(session, drawer.id, account, "20.00", "card_present", "k-4",
                       **card(code="Z9Y8X7"))

    assert again.payment.id == first.payment.id
    assert again.repeated is True
    assert elsewhere.value.code == "card_approval_reused"
    assert new_approval.payment.id != first.payment.id
    assert_ledger_balanced(session, {account.id: Decimal("-40.00"), other.id: Decimal("0")})


def test_same_approval_code_another_day_posts(session: Session) -> None:
    account, _ = City(session).account()
    monday = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    first = pay(session, monday.id, account, "20.00", "card_present", "k-1", **card())
    close_drawer(session, drawer_session_id=monday.id, counted_cash=Decimal("0.00"),
                 counted_checks=Decimal("0.00"), actor="Maria")
    tuesday = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                          actor="Maria")

    second = pay(session, tuesday.id, account, "20.00", "card_present", "k-2", **card())

    # Approval codes repeat over time, and a new drawer session keeps them apart.
    assert second.payment.id != first.payment.id
    assert second.repeated is False
    assert_ledger_balanced(session, {account.id: Decimal("-40.00")})


def test_second_open_names_opener(session: Session) -> None:
    first = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                        actor="Maria")

    with pytest.raises(Conflict) as raised:
        open_drawer(session, drawer=" Front  1 ", opening_float=Decimal("50.00"), actor="Luis")

    assert raised.value.code == "drawer_already_open"
    message = raised.value.message
    assert f"already open in session {first.id}" in message
    assert "opened by Maria at 20" in message
    assert message.endswith("close that session before opening the drawer again")
    other = open_drawer(session, drawer="Front 2", opening_float=Decimal("0.00"), actor="Luis")
    assert other.id != first.id


def test_payment_on_closed_drawer_rejected(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    close_drawer(session, drawer_session_id=drawer.id, counted_cash=Decimal("0.00"),
                 counted_checks=Decimal("0.00"), actor="Maria")

    with pytest.raises(Conflict, match="was closed by Maria at") as raised:
        pay(session, drawer.id, account, "10.00", "cash", "k-late")

    assert raised.value.code == "drawer_closed"
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_close_twice_conflicts(session: Session) -> None:
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("20.00"),
                         actor="Maria")
    close_drawer(session, drawer_session_id=drawer.id, counted_cash=Decimal("19.00"),
                 counted_checks=Decimal("0.00"), actor="Maria")

    with pytest.raises(Conflict, match="already closed by Maria") as raised:
        close_drawer(session, drawer_session_id=drawer.id, counted_cash=Decimal("20.00"),
                     counted_checks=Decimal("0.00"), actor="Luis")

    assert raised.value.code == "drawer_already_closed"
    assert drawer.variance == Decimal("-1.00")
    assert drawer.closed_by == "Maria"


def test_card_number_rejected(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")

    with pytest.raises(InvalidInput) as raised:
        pay(session, drawer.id, account, "20.00", "card_present", "k-1",
            **card(last4=CARD_NUMBER))
    with pytest.raises(InvalidInput) as in_check_field:
        pay(session, drawer.id, account, "20.00", "check", "k-2", check_number=CARD_NUMBER)
    with pytest.raises(InvalidInput) as in_approval_field:
        pay(session, drawer.id, account, "20.00", "card_present", "k-3",
            **card(code=CARD_NUMBER))

    assert raised.value.code == "card_number_rejected"
    assert in_check_field.value.code == "check_number_invalid"
    assert in_approval_field.value.code == "approval_code_invalid"
    for error in (raised, in_check_field, in_approval_field):
        assert CARD_NUMBER not in error.value.message
        assert "4242" not in error.value.message
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    ("amount", "method", "details", "code"),
    [
        ("0.00", "cash", {}, "invalid_amount"),
        ("0", "cash", {}, "invalid_amount"),
        ("-5.00", "cash", {}, "invalid_amount"),
        ("10.005", "cash", {}, "invalid_amount"),
        ("10000000000.00", "cash", {}, "amount_too_large"),
        ("10.00", "card", {}, "counter_method_invalid"),
        ("10.00", "bitcoin", {}, "counter_method_invalid"),
        ("10.00", "cash", {"tendered": Decimal("9.99")}, "tendered_below_amount"),
        ("10.00", "cash", {"tendered": Decimal("20.001")}, "invalid_amount"),
        ("10.00", "cash", {"check_number": "1180"}, "details_for_other_method"),
        ("10.00", "cash", {"card_last4": "4242"}, "details_for_other_method"),
        ("10.00", "check", {}, "check_number_missing"),
        ("10.00", "check", {"check_number": "11-80"}, "check_number_invalid"),
        ("10.00", "check", {"check_number": "1", "tendered": Decimal("10.00")},
         "details_for_other_method"),
        ("10.00", "card_present", {"card_brand": "Visa", "approval_code": "A1"},
         "card_last4_missing"),
        ("10.00", "card_present", {"card_last4": "42", "card_brand": "Visa",
                                   "approval_code": "A1"}, "card_last4_invalid"),
        ("10.00", "card_present", {"card_last4": "4242", "approval_code": "A1"},
         "card_brand_missing"),
        ("10.00", "card_present", {"card_last4": "4242", "card_brand": "V1sa",
                                   "approval_code": "A1"}, "card_brand_invalid"),
        ("10.00", "card_present", {"card_last4": "4242", "card_brand": "Visa"},
         "approval_code_missing"),
    ],
)
def test_invalid_payment_rejected(
    session: Session, amount: str, method: str, details: dict[str, object], code: str
) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")

    with pytest.raises(InvalidInput) as raised:
        pay(session, drawer.id, account, amount, method, "k-1", **details)

    assert raised.value.code == code
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_unknown_drawer_session_not_found(session: Session) -> None:
    account, _ = City(session).account()

    with pytest.raises(NotFound, match="drawer session 999 not found"):
        pay(session, 999, account, "10.00", "cash", "k-1")
    with pytest.raises(NotFound, match="drawer session 999 not found"):
        close_drawer(session, drawer_session_id=999, counted_cash=Decimal("0.00"),
                     counted_checks=Decimal("0.00"), actor="Maria")


@pytest.mark.parametrize(
    ("drawer", "opening_float", "code"),
    [
        ("", "100.00", "drawer_name_invalid"),
        ("A drawer name that is far too long", "100.00", "drawer_name_invalid"),
        ("Front 1", "-1.00", "invalid_amount"),
        ("Front 1", "100.001", "invalid_amount"),
        ("Front 1", "10000000000.00", "amount_too_large"),
    ],
)
def test_invalid_open_rejected(
    session: Session, drawer: str, opening_float: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        open_drawer(session, drawer=drawer, opening_float=Decimal(opening_float), actor="Maria")

    assert raised.value.code == code


def test_shift_audit_trail(session: Session, session_factory: sessionmaker[Session]) -> None:
    cash_payer, check_payer = billed_accounts(session, session_factory, 2)
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                         actor="Maria")
    cash = pay(session, drawer.id, cash_payer, "40.00", "cash", "k-1", tendered=Decimal("50.00"))
    check = pay(session, drawer.id, check_payer, "88.12", "check", "k-2", check_number="1180")
    card_payment = pay(session, drawer.id, cash_payer, "9.00", "card_present", "k-3", **card())
    close_drawer(session, drawer_session_id=drawer.id, counted_cash=Decimal("135.00"),
                 counted_checks=Decimal("88.12"), actor="Luis")
    session.flush()

    events = list(session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(
            ["drawer.open", "counter.payment", "drawer.close"]
        )).order_by(AuditEvent.id)
    ))

    assert [(event.action, event.actor, event.outcome) for event in events] == [
        ("drawer.open", "Maria", "opened"),
        ("counter.payment", "Maria", "posted"),
        ("counter.payment", "Maria", "posted"),
        ("counter.payment", "Maria", "posted"),
        ("drawer.close", "Luis", "closed"),
    ]
    opened, cash_event, check_event, card_event, closed = events
    assert opened.target == f"drawer_session:{drawer.id}"
    assert opened.arguments == {"drawer": "Front 1", "opening_float": "100.00"}
    assert cash_event.target == f"payment:{cash.payment.id}"
    assert cash_event.arguments["amount"] == "40.00"
    assert cash_event.arguments["tendered"] == "50.00"
    assert cash_event.arguments["change_due"] == "10.00"
    assert check_event.target == f"payment:{check.payment.id}"
    assert check_event.arguments["method_label"] == "check 1180"
    assert check_event.arguments["tendered"] is None
    assert card_event.target == f"payment:{card_payment.payment.id}"
    assert card_event.arguments["method_label"] == "Visa ending 4242"
    # Cash expected 100.00 + 40.00 = 140.00, counted 135.00: 5.00 short.
    assert closed.arguments["expected_cash"] == "140.00"
    assert closed.arguments["cash_variance"] == "-5.00"
    assert closed.arguments["expected_checks"] == "88.12"
    assert closed.arguments["check_variance"] == "0.00"
    assert closed.arguments["variance"] == "-5.00"
    assert closed.arguments["payment_count"] == 3
    # 49.00 - 40.00 - 9.00 = 0.00 and 49.00 - 88.12 = -39.12.
    assert_ledger_balanced(session, {cash_payer.id: Decimal("0.00"),
                                     check_payer.id: Decimal("-39.12")})


def test_received_on_is_local_today(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")

    result = pay(session, drawer.id, account, "10.00", "cash", "k-1")

    assert result.payment.received_on == get_settings().today()


def test_cash_receipt_in_english(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    (account,) = billed_accounts(session, session_factory, 1)
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                         actor="Maria")
    cash = pay(session, drawer.id, account, "40.00", "cash", "k-1", tendered=Decimal("50.00"))

    receipt = build_receipt(session, cash.payment.id)
    text = render_receipt_text(receipt)
    html = render_receipt_html(receipt)

    lines = text.splitlines()
    assert lines[0] == "City of Riverbend Utilities"
    assert lines[1] == "Payment receipt"
    assert f"Receipt number: {cash.payment.id}" in lines
    assert f"Date: {english_date(get_settings().today())}" in lines
    assert f"Account: …{account.number[-4:]}" in lines
    assert "Customer: Customer 0" in lines
    assert "Payment method: Cash" in lines
    assert "Amount paid: $40.00" in lines
    assert "Cash received: $50.00" in lines
    assert "Change due: $10.00" in lines
    # 49.00 billed - 40.00 paid = 9.00.
    assert "Balance due after this payment: $9.00" in lines
    assert "Served by: Maria" in lines
    assert "Thank you for your payment." in lines
    assert "Credit on account" not in text
    time_line = next(line for line in lines if line.startswith("Time: "))
    assert time_line.replace("\u202f", " ").endswith((" AM CST", " PM CST", " AM CDT", " PM CDT"))
    assert '<html lang="en">' in html
    assert "<td>$40.00</td>" in html
    assert "<td>$10.00</td>" in html
    assert f"<td>…{account.number[-4:]}</td>" in html
    for body in (text, html):
        assert account.number not in body


def test_check_receipt_in_spanish_shows_credit(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    (account,) = billed_accounts(session, session_factory, 1)
    account.customer.language = "es"
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("100.00"),
                         actor="Maria")
    check = pay(session, drawer.id, account, "88.12", "check", "k-1", check_number="1180")

    receipt = build_receipt(session, check.payment.id)
    text = render_receipt_text(receipt)
    html = render_receipt_html(receipt)

    # 88.12 paid on 49.00 owed leaves a credit of 39.12 and nothing due.
    assert check.payment.credit_on_account == Decimal("39.12")
    lines = text.splitlines()
    assert lines[1] == "Recibo de pago"
    assert f"Número de recibo: {check.payment.id}" in lines
    assert f"Fecha: {spanish_date(get_settings().today())}" in lines
    assert f"Cuenta: …{account.number[-4:]}" in lines
    assert "Método de pago: Cheque 1180" in lines
    assert "Monto pagado: $88.12" in lines
    assert "Saldo pendiente después de este pago: $0.00" in lines
    assert "Crédito en la cuenta: $39.12" in lines
    assert "Este crédito se aplicará a su próxima factura." in lines
    assert "Gracias por su pago." in lines
    assert "Cambio" not in text
    assert '<html lang="es">' in html
    assert "<td>$39.12</td>" in html
    assert "Este crédito se aplicará a su próxima factura." in html
    for body in (text, html):
        assert account.number not in body
    assert_ledger_balanced(session, {account.id: Decimal("-39.12")})


def test_receipt_language_override(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    card_payment = pay(session, drawer.id, account, "20.00", "card_present", "k-1", **card())

    spanish = render_receipt_text(build_receipt(session, card_payment.payment.id, "es"))
    english = render_receipt_text(build_receipt(session, card_payment.payment.id, "en"))

    assert "Método de pago: Visa terminada en 4242" in spanish.splitlines()
    assert "Código de autorización: A1B2C3" in spanish.splitlines()
    assert "Payment method: Visa ending 4242" in english.splitlines()
    assert "Approval code: A1B2C3" in english.splitlines()
    # Nothing was owed, so all 20.00 is a credit.
    assert "Credit on account: $20.00" in english.splitlines()
    assert "Cash received" not in english


def test_receipt_after_later_entry_dates_balance(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    (account,) = billed_accounts(session, session_factory, 1)
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    cash = pay(session, drawer.id, account, "40.00", "cash", "k-1")
    today = get_settings().today()
    post_adjustment(session, account_id=account.id, amount=Decimal("5.00"), key="fee:1",
                    effective_date=today, actor="test", memo="Late fee")

    lines = render_receipt_text(build_receipt(session, cash.payment.id)).splitlines()

    # 49.00 - 40.00 + 5.00 = 14.00, now owed; it is no longer the balance after the payment.
    assert f"Balance due on {english_date(today)}: $14.00" in lines
    assert not any(line.startswith("Balance due after") for line in lines)
    assert_ledger_balanced(session, {account.id: Decimal("14.00")})


def test_email_receipt_queued_once(session: Session) -> None:
    account, _ = City(session).account()
    account.customer.language = "es"
    session.add(Contact(account_id=account.id, kind=ContactKind.EMAIL,
                        value="pat@example.org", verified=True))
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    cash = pay(session, drawer.id, account, "15.00", "cash", "k-1", tendered=Decimal("20.00"))

    first = email_receipt(session, cash.payment.id)
    again = email_receipt(session, cash.payment.id)

    notices = list(session.scalars(
        select(PaymentNotice).where(PaymentNotice.notice_key == f"receipt-email:{cash.payment.id}")
    ))
    assert first is True
    assert again is False
    assert len(notices) == 1
    payload = notices[0].payload
    assert notices[0].payment_id == cash.payment.id
    assert payload["channel"] == "email"
    assert payload["to"] == "pat@example.org"
    assert payload["language"] == "es"
    assert payload["subject"] == "Su recibo de pago de City of Riverbend Utilities"
    assert payload["body"] == render_receipt_text(build_receipt(session, cash.payment.id))
    assert "Cambio: $5.00" in payload["body"].splitlines()
    assert account.number not in payload["body"]


def test_email_receipt_needs_address(session: Session) -> None:
    account, _ = City(session).account()
    drawer = open_drawer(session, drawer="Front 1", opening_float=Decimal("0.00"),
                         actor="Maria")
    cash = pay(session, drawer.id, account, "15.00", "cash", "k-1")

    with pytest.raises(Conflict, match="has no e-mail address") as raised:
        email_receipt(session, cash.payment.id)

    assert raised.value.code == "no_email_address"
    assert account.number not in raised.value.message


def test_receipt_needs_posted_payment(session: Session) -> None:
    account, _ = City(session).account()
    pending = create_payment(
        session, account_id=account.id, amount=Decimal("10.00"), channel=PaymentChannel.COUNTER,
        method=PaymentMethod.CARD_PRESENT, provider="counter", idempotency_key="web-1",
        taken_by="clerk", received_on=dt.date(2026, 12, 4),
    )

    with pytest.raises(Conflict) as raised:
        build_receipt(session, pending.id)
    with pytest.raises(NotFound):
        build_receipt(session, 999)

    assert raised.value.code == "payment_not_posted"
