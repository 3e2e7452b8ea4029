"""The front counter: cash drawer sessions and the payments taken into them.

A clerk opens a drawer with a float, takes cash, check and card-present payments into
that drawer session, and closes it by counting the cash and the checks. Each payment is
posted at once through ``create_payment``. Every step writes an audit event. Card
numbers never reach this module: a card-present payment carries the brand, the last 4
digits and the terminal's approval code.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.payments.counter.models import DrawerSession, DrawerStatus
from app.payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus
from app.payments.service import check_amount, create_payment
from app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "counter"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

M = PaymentMethod
COUNTER_METHODS = (M.CASH, M.CHECK, M.CARD_PRESENT)

PAYMENT_ACTION = "counter.payment"
MAX_DRAWER_NAME = 20
MAX_ACTOR = 80
MAX_KEY = 160
#: Largest amount a money column (NUMERIC(12,2)) stores.
MAX_AMOUNT = Decimal("9999999999.99")
#: Maximum digits in a check number, so that "check " and the number fit the 60-character
#: method label.
MAX_CHECK_DIGITS = 15
#: Maximum length of a terminal approval code. Codes are usually 6 letters or digits, and
#: a card number (13 to 19 digits) is longer, so it is rejected.
MAX_APPROVAL_CODE = 12

#: Method labels as stored on the payment and shown to the customer. Receipts parse them
#: back with these patterns to word them in the customer's language.
CHECK_LABEL = re.compile(r"check (?P<number>\d+)")
CARD_LABEL = re.compile(r"(?P<brand>[A-Za-z][A-Za-z .-]*) ending (?P<last4>\d{4})")
CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "master card": "Mastercard",
    "amex": "American Express",
    "american express": "American Express",
    "discover": "Discover",
}
BRAND_PATTERN = re.compile(r"[A-Za-z][A-Za-z .-]{1,19}")


@dataclass(frozen=True)
class CounterPayment:
    """A payment taken at the counter, with the change owed for cash."""

    payment: Payment
    #: Cash handed over by the customer, or None for checks and cards.
    tendered: Decimal | None
    #: Cash handed back (tendered minus amount), or 0.00 for checks and cards.
    change_due: Decimal
    #: True when the payment had been posted before (same idempotency key or the same
    #: card approval), so this call posted nothing.
    repeated: bool


@dataclass(frozen=True)
class DrawerTotals:
    """The payments of one drawer session by method, and what the drawer should hold."""

    count_by_method: dict[PaymentMethod, int]
    amount_by_method: dict[PaymentMethod, Decimal]
    #: Opening float plus the cash payments. Change handed back is not in it.
    expected_cash: Decimal
    expected_checks: Decimal

    @property
    def payment_count(self) -> int:
        return sum(self.count_by_method.values())

    @property
    def amount(self) -> Decimal:
        return sum(self.amount_by_method.values(), ZERO)


@dataclass(frozen=True)
class _MethodDetails:
    label: str
    external_ref: str | None
    tendered: Decimal | None


def open_drawer(
    session: Session, *, drawer: str, opening_float: Decimal, actor: str
) -> DrawerSession:
    """Open a session on a drawer, which may have one open session at a time."""
    name = _check_drawer_name(drawer)
    _check_count("opening float", opening_float)
    actor = _check_actor(actor)
    existing = _open_session_of(session, name)
    if existing is not None:
        raise _already_open(existing)
    drawer_session = DrawerSession(
        drawer=name,
        status=DrawerStatus.OPEN,
        opened_by=actor,
        opening_float=opening_float,
        open_drawer=name,
    )
    try:
        with session.begin_nested():
            session.add(drawer_session)
            session.flush()
    except IntegrityError:
        # Another clerk opened the same drawer at the same moment and committed first.
        existing = _open_session_of(session, name)
        if existing is None:
            raise
        raise _already_open(existing) from None
    record(
        session,
        actor=actor,
        action="drawer.open",
        target=f"drawer_session:{drawer_session.id}",
        arguments={"drawer": name, "opening_float": str(opening_float)},
        outcome="opened",
    )
    log.info("opened drawer session %s on drawer %s", drawer_session.id, name)
    return drawer_session


def take_payment(
    session: Session,
    *,
    drawer_session_id: int,
    account_id: int,
    amount: Decimal,
    method: PaymentMethod | str,
    idempotency_key: str,
    actor: str,
    check_number: str | None = None,
    card_last4: str | None = None,
    card_brand: str | None = None,
    approval_code: str | None = None,
    tendered: Decimal | None = None,
) -> CounterPayment:
    """Take a cash, check or card-present payment into an open drawer session.

    The payment is posted at once. Cash may be tendered above the amount, and the
    result gives the change due. The same idempotency key again returns the first
    payment and posts nothing, even after the drawer is closed. A card-present payment
    entered twice with the same approval code, last 4 and amount is posted once too.
    """
    counter_method = _counter_method(method)
    check_amount(amount)
    _check_size("payment amount", amount)
    key = _check_key(idempotency_key)
    actor = _check_actor(actor)
    details = _method_details(
        counter_method,
        amount,
        drawer_session_id=drawer_session_id,
        check_number=check_number,
        card_last4=card_last4,
        card_brand=card_brand,
        approval_code=approval_code,
        tendered=tendered,
    )
    # Locking the drawer session serializes its payments with its close, so no payment
    # lands in a drawer after its count.
    drawer_session = _lock_drawer_session(session, drawer_session_id)
    earlier = session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if earlier is not None:
        return _repeat(session, earlier, drawer_session_id, account_id, amount, counter_method)
    if details.external_ref is not None:
        same_card = _card_payment_of(session, details.external_ref)
        if same_card is not None:
            _check_same_card_account(same_card, account_id)
            return _repeat(
                session, same_card, drawer_session_id, account_id, amount, counter_method
            )
    if drawer_session.status != DrawerStatus.OPEN:
        raise Conflict(
            f"drawer session {drawer_session.id} ({drawer_session.drawer}) was closed by "
            f"{drawer_session.closed_by} at {format_staff_time(drawer_session.closed_at)}; "
            "open the drawer again to take payments",
            code="drawer_closed",
        )
    payment = create_payment(
        session,
        account_id=account_id,
        amount=amount,
        channel=PaymentChannel.COUNTER,
        method=counter_method,
        provider=PROVIDER,
        idempotency_key=key,
        taken_by=actor,
        received_on=get_settings().today(),
        external_ref=details.external_ref,
        method_label=details.label,
        status=PaymentStatus.SUCCEEDED,
        source=f"drawer_session:{drawer_session_id}",
        drawer_session_id=drawer_session_id,
        tendered=details.tendered,
    )
    if payment.idempotency_key != key:
        # A concurrent request posted the same card approval under another key first.
        return _repeat(session, payment, drawer_session_id, account_id, amount, counter_method)
    change_due = ZERO if details.tendered is None else details.tendered - amount
    record(
        session,
        actor=actor,
        action=PAYMENT_ACTION,
        target=f"payment:{payment.id}",
        arguments={
            "drawer_session_id": drawer_session_id,
            "account_id": account_id,
            "amount": str(amount),
            "method": counter_method.value,
            "method_label": details.label,
            "external_ref": details.external_ref,
            "tendered": None if details.tendered is None else str(details.tendered),
            "change_due": str(change_due),
        },
        outcome="posted",
    )
    log.info(
        "took counter payment %s of %s by %s in drawer session %s",
        payment.id,
        amount,
        counter_method.value,
        drawer_session_id,
    )
    return CounterPayment(
        payment=payment, tendered=details.tendered, change_due=change_due, repeated=False
    )


def close_drawer(
    session: Session,
    *,
    drawer_session_id: int,
    counted_cash: Decimal,
    counted_checks: Decimal,
    actor: str,
) -> DrawerSession:
    """Close a drawer session with the cash and checks counted in it.

    Expected cash is the opening float plus the cash payments, and expected checks the
    sum of the check payments. The session stores each expected and counted figure, and
    its variance is the counted total minus the expected total (negative when short).
    """
    _check_count("counted cash", counted_cash)
    _check_count("counted checks", counted_checks)
    actor = _check_actor(actor)
    drawer_session = _lock_drawer_session(session, drawer_session_id)
    if drawer_session.status == DrawerStatus.CLOSED:
        raise Conflict(
            f"drawer session {drawer_session.id} ({drawer_session.drawer}) was already closed "
            f"by {drawer_session.closed_by} at {format_staff_time(drawer_session.closed_at)} "
            f"with a variance of {drawer_session.variance}; open the drawer again for a new "
            "count",
            code="drawer_already_closed",
        )
    totals = drawer_totals(session, drawer_session)
    variance = (counted_cash + counted_checks) - (totals.expected_cash + totals.expected_checks)
    drawer_session.expected_cash = totals.expected_cash
    drawer_session.expected_checks = totals.expected_checks
    drawer_session.counted_cash = counted_cash
    drawer_session.counted_checks = counted_checks
    drawer_session.variance = variance
    drawer_session.status = DrawerStatus.CLOSED
    drawer_session.open_drawer = None
    drawer_session.closed_by = actor
    drawer_session.closed_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="drawer.close",
        target=f"drawer_session:{drawer_session.id}",
        arguments={
            "drawer": drawer_session.drawer,
            "payment_count": totals.payment_count,
            "expected_cash": str(totals.expected_cash),
            "counted_cash": str(counted_cash),
            "cash_variance": str(counted_cash - totals.expected_cash),
            "expected_checks": str(totals.expected_checks),
            "counted_checks": str(counted_checks),
            "check_variance": str(counted_checks - totals.expected_checks),
            "variance": str(variance),
        },
        outcome="closed",
    )
    if variance != 0:
        log.warning("drawer session %s closed with a variance of %s", drawer_session.id, variance)
    else:
        log.info("drawer session %s closed and balanced", drawer_session.id)
    return drawer_session


def get_drawer_session(session: Session, drawer_session_id: int) -> DrawerSession:
    drawer_session = session.get(DrawerSession, drawer_session_id)
    if drawer_session is None:
        raise NotFound(
            f"drawer session {drawer_session_id} not found", code="drawer_session_not_found"
        )
    return drawer_session


def open_drawer_sessions(session: Session) -> list[DrawerSession]:
    return list(
        session.scalars(
            select(DrawerSession)
            .where(DrawerSession.status == DrawerStatus.OPEN)
            .order_by(DrawerSession.drawer)
        )
    )


def recently_closed_sessions(session: Session, *, limit: int = 10) -> list[DrawerSession]:
    return list(
        session.scalars(
            select(DrawerSession)
            .where(DrawerSession.status == DrawerStatus.CLOSED)
            .order_by(DrawerSession.closed_at.desc(), DrawerSession.id.desc())
            .limit(limit)
        )
    )


def drawer_payments(session: Session, drawer_session_id: int) -> list[tuple[Payment, Account]]:
    """Return the payments taken in a drawer session, oldest first, with their accounts."""
    rows = session.execute(
        select(Payment, Account)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.drawer_session_id == drawer_session_id)
        .order_by(Payment.id)
    )
    return [(payment, account) for payment, account in rows]


def drawer_totals(session: Session, drawer_session: DrawerSession) -> DrawerTotals:
    """Sum the posted payments of a drawer session by method."""
    # TODO: subtract voided payments here once the counter can void one.
    rows = session.execute(
        select(Payment.method, func.count(), func.sum(Payment.amount))
        .where(
            Payment.drawer_session_id == drawer_session.id,
            Payment.journal_entry_id.is_not(None),
        )
        .group_by(Payment.method)
    )
    counts = dict.fromkeys(COUNTER_METHODS, 0)
    amounts = dict.fromkeys(COUNTER_METHODS, ZERO)
    for method, count, amount in rows:
        counts[method] = count
        amounts[method] = Decimal(amount).quantize(CENT)
    return DrawerTotals(
        count_by_method=counts,
        amount_by_method=amounts,
        expected_cash=drawer_session.opening_float + amounts[M.CASH],
        expected_checks=amounts[M.CHECK],
    )


def counter_payment(session: Session, payment: Payment) -> CounterPayment:
    """Return a stored counter payment with the cash tendered and change due it recorded."""
    tendered = payment.tendered
    change_due = ZERO if tendered is None else tendered - payment.amount
    return CounterPayment(payment=payment, tendered=tendered, change_due=change_due, repeated=True)


def approval_code_of(payment: Payment) -> str | None:
    """Return the terminal approval code of a card-present counter payment."""
    if payment.provider != PROVIDER or payment.external_ref is None:
        return None
    return payment.external_ref.split(":", 1)[0]


def _repeat(
    session: Session,
    payment: Payment,
    drawer_session_id: int,
    account_id: int,
    amount: Decimal,
    method: PaymentMethod,
) -> CounterPayment:
    same = (
        payment.drawer_session_id == drawer_session_id
        and payment.account_id == account_id
        and payment.amount == amount
        and payment.method == method
    )
    if not same:
        raise Conflict(
            f"idempotency key {payment.idempotency_key!r} was already used for payment "
            f"{payment.id} of {payment.amount} by {payment.method.value} in drawer session "
            f"{payment.drawer_session_id}; send a new key for a new payment",
            code="idempotency_key_reused",
        )
    log.info("counter payment %s was already posted; nothing new posted", payment.id)
    return counter_payment(session, payment)


def _card_payment_of(session: Session, external_ref: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.provider == PROVIDER, Payment.external_ref == external_ref)
    )


def _check_same_card_account(payment: Payment, account_id: int) -> None:
    if payment.account_id != account_id:
        raise Conflict(
            f"approval code {approval_code_of(payment)} for {payment.amount} on the card "
            f"{payment.method_label} was already posted as payment {payment.id} to another "
            "account; check the approval code on the terminal receipt",
            code="card_approval_reused",
        )


def _method_details(
    method: PaymentMethod,
    amount: Decimal,
    *,
    drawer_session_id: int,
    check_number: str | None,
    card_last4: str | None,
    card_brand: str | None,
    approval_code: str | None,
    tendered: Decimal | None,
) -> _MethodDetails:
    """Validate the details that go with the method and build the method label."""
    card_given = any(value is not None for value in (card_last4, card_brand, approval_code))
    if method != M.CHECK and check_number is not None:
        raise InvalidInput(
            f"a check number was given for a {method.value} payment; choose the method "
            "check or leave the check number empty",
            code="details_for_other_method",
        )

    if method != M.CARD_PRESENT and card_given:
        raise InvalidInput(
            f"card details were given for a {method.value} payment; choose the method "
            "card_present or leave the card fields empty",
            code="details_for_other_method",
        )

    if method != M.CASH and tendered is not None:
        raise InvalidInput(
            f"cash tendered applies to cash payments only, not to {method.value}; leave it empty",
            code="details_for_other_method",
        )

    if method == M.CASH:
        return _MethodDetails("cash", None, _check_tendered(amount, tendered))
    if method == M.CHECK:
        return _MethodDetails(f"check {_check_check_number(check_number)}", None, None)

    last4 = _check_last4(card_last4)
    brand = _check_brand(card_brand)
    code = _check_approval_code(approval_code)
    # Approval codes repeat across days and terminals, so the reference that must be
    # unique per provider adds the card's last 4, the amount and the drawer session.
    return _MethodDetails(
        f"{brand} ending {last4}",
        f"{code}:{last4}:{amount.quantize(CENT)}:{drawer_session_id}",
        None,
    )


def _check_tendered(amount: Decimal, tendered: Decimal | None) -> Decimal:
    if tendered is None:
        return amount
    _check_count("cash tendered", tendered)
    if tendered < amount:
        raise InvalidInput(
            f"cash tendered {tendered} is less than the payment amount {amount}; take at "
            f"least {amount} or lower the amount",
            code="tendered_below_amount",
        )
    return tendered


def _check_check_number(value: str | None) -> str:
    # The message never repeats the value, in case a card number was typed here.
    number = (value or "").strip()
    if not number:
        raise InvalidInput(
            "a check payment needs the check number printed on the check",
            code="check_number_missing",
        )
    if not number.isdigit() or len(number) > MAX_CHECK_DIGITS:
        raise InvalidInput(
            f"the check number must be 1 to {MAX_CHECK_DIGITS} digits as printed on the "
            f"check; the value given has {len(number)} characters",
            code="check_number_invalid",
        )
    return number


def _check_last4(value: str | None) -> str:
    # The message never repeats the value, because it may be a whole card number.
    last4 = (value or "").strip()
    if not last4:
        raise InvalidInput(
            "a card payment needs the last 4 digits of the card from the terminal receipt",
            code="card_last4_missing",
        )
    if last4.isdigit() and len(last4) > 4:
        raise InvalidInput(
            "enter only the last 4 digits of the card, never the card number; the value "
            "given was not stored",
            code="card_number_rejected",
        )
    if not (last4.isdigit() and len(last4) == 4):
        raise InvalidInput(
            "the card's last 4 must be exactly 4 digits, such as 4242",
            code="card_last4_invalid",
        )
    return last4


def _check_brand(value: str | None) -> str:
    brand = " ".join((value or "").split())
    if not brand:
        raise InvalidInput(
            "a card payment needs the card brand from the terminal receipt, such as Visa",
            code="card_brand_missing",
        )
    if not BRAND_PATTERN.fullmatch(brand):
        raise InvalidInput(
            "the card brand must be 2 to 20 letters, such as Visa or Mastercard",
            code="card_brand_invalid",
        )
    return CARD_BRANDS.get(brand.lower(), brand)


def _check_approval_code(value: str | None) -> str:
    code = (value or "").strip().upper()
    if not code:
        raise InvalidInput(
            "a card payment needs the approval code printed on the terminal receipt",
            code="approval_code_missing",
        )
    if not code.isalnum() or not code.isascii() or len(code) > MAX_APPROVAL_CODE:
        raise InvalidInput(
            f"the approval code must be 1 to {MAX_APPROVAL_CODE} letters or digits as "
            f"printed on the terminal receipt; the value given has {len(code)} characters",
            code="approval_code_invalid",
        )
    return code


def _counter_method(method: PaymentMethod | str) -> PaymentMethod:
    try:
        parsed: PaymentMethod | None = PaymentMethod(method)
    except ValueError:
        parsed = None
    if parsed is None or parsed not in COUNTER_METHODS:
        allowed = ", ".join(m.value for m in COUNTER_METHODS)
        raise InvalidInput(
            f"payment method {method!r} is not taken at the counter; use one of {allowed}",
            code="counter_method_invalid",
        )
    return parsed


def _check_count(field: str, amount: Decimal) -> None:
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise InvalidInput(
            f"{field} {amount} must be zero or more, in whole cents, such as 140.00",
            code="invalid_amount",
        )
    _check_size(field, amount)


def _check_size(field: str, amount: Decimal) -> None:
    # The message leaves out the value, because a card number typed here would be too large.
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            f"{field} is larger than the maximum of {MAX_AMOUNT}; check what was typed",
            code="amount_too_large",
        )


def _check_drawer_name(drawer: str) -> str:
    name = " ".join(drawer.split())
    if not name or len(name) > MAX_DRAWER_NAME:
        raise InvalidInput(
            f"drawer name {drawer!r} must be 1 to {MAX_DRAWER_NAME} characters, such as 'Front 1'",
            code="drawer_name_invalid",
        )
    return name


def _check_actor(actor: str) -> str:
    name = " ".join(actor.split())
    if not name or len(name) > MAX_ACTOR:
        raise InvalidInput(
            f"the clerk's name must be 1 to {MAX_ACTOR} characters; got {len(name)}",
            code="actor_invalid",
        )
    return name


def _check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(
            f"the idempotency key must be 1 to {MAX_KEY} characters; got {len(key)}",
            code="idempotency_key_invalid",
        )
    return key


def _open_session_of(session: Session, drawer: str) -> DrawerSession | None:
    return session.scalar(select(DrawerSession).where(DrawerSession.open_drawer == drawer))


def _already_open(drawer_session: DrawerSession) -> Conflict:
    return Conflict(
        f"drawer {drawer_session.drawer!r} is already open in session {drawer_session.id}, "
        f"opened by {drawer_session.opened_by} at "
        f"{format_staff_time(drawer_session.opened_at)}; close that session before opening the "
        "drawer again",
        code="drawer_already_open",
    )


def _lock_drawer_session(session: Session, drawer_session_id: int) -> DrawerSession:
    """Lock the session row (PostgreSQL) and reload it, so its status is current."""
    drawer_session = session.scalar(
        select(DrawerSession)
        .where(DrawerSession.id == drawer_session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if drawer_session is None:
        raise NotFound(
            f"drawer session {drawer_session_id} not found", code="drawer_session_not_found"
        )
    return drawer_session


def format_staff_time(instant: dt.datetime | None) -> str:
    """Format an instant in the utility's zone for staff, such as 2026-12-04 16:07 CST."""
    if instant is None:
        return "an unknown time"
    return instant.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M %Z")
