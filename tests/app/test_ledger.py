"""The ledger: balanced, append-only, idempotent entries and balances from postings."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import Conflict, InvalidInput
from app.ledger.chart import CASH, RECEIVABLES, REVENUE_BY_SERVICE
from app.ledger.models import EntryKind, JournalEntry, Posting
from app.ledger.service import (
    PostingLine,
    account_balance,
    post_adjustment,
    post_entry,
    post_payment,
    reverse_entry,
)
from tests.app.factories import City
from tests.conftest import ON_POSTGRES

DAY = dt.date(2026, 7, 1)


def charge(session: Session, account_id: int, amount: str, key: str) -> JournalEntry:
    return post_entry(
        session, key=key, kind=EntryKind.BILL, effective_date=DAY, memo="bill", actor="test",
        lines=[PostingLine(RECEIVABLES, Decimal(amount), account_id),
               PostingLine(REVENUE_BY_SERVICE["water"], -Decimal(amount))],
    )


def test_unbalanced_entry_is_rejected(session: Session) -> None:
    account, _ = City(session).account()
    with pytest.raises(InvalidInput, match="does not balance: postings sum to 0.01"):
        post_entry(session, key="k", kind=EntryKind.BILL, effective_date=DAY, memo="m",
                   actor="t", lines=[PostingLine(RECEIVABLES, Decimal("10.01"), account.id),
                                     PostingLine(CASH, Decimal("-10.00"))])


def test_fraction_of_a_cent_is_rejected(session: Session) -> None:
    account, _ = City(session).account()
    with pytest.raises(InvalidInput, match="not whole cents"):
        charge(session, account.id, "1.005", "k")


def test_same_key_posts_once(session: Session) -> None:
    account, _ = City(session).account()
    first = charge(session, account.id, "12.34", "bill:1")
    again = charge(session, account.id, "12.34", "bill:1")
    assert again.id == first.id
    assert account_balance(session, account.id) == Decimal("12.34")


def test_same_key_other_amount_conflicts(session: Session) -> None:
    account, _ = City(session).account()
    charge(session, account.id, "12.34", "bill:1")
    with pytest.raises(Conflict, match="already posted with other amounts"):
        charge(session, account.id, "99.99", "bill:1")


def test_reversal_restores_balance_once(session: Session) -> None:
    account, _ = City(session).account()
    entry = charge(session, account.id, "50.00", "bill:1")
    post_payment(session, account_id=account.id, amount=Decimal("20.00"), key="pay:1",
                 received_on=DAY, actor="test")
    reversal = reverse_entry(
        session, entry.id, actor="test", memo="wrong meter", effective_date=DAY
    )
    assert reversal.reverses_id == entry.id
    assert account_balance(session, account.id) == Decimal("-20.00")
    with pytest.raises(Conflict, match="already reversed"):
        reverse_entry(session, entry.id, actor="test", memo="again", effective_date=DAY)
    with pytest.raises(Conflict, match="itself a reversal"):
        reverse_entry(session, reversal.id, actor="test", memo="undo", effective_date=DAY)


def test_postings_cannot_be_updated_or_deleted(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        account, _ = City(session).account()
        entry_id = charge(session, account.id, "5.00", "bill:1").id
    for statement in (
        f"UPDATE postings SET amount = 0 WHERE entry_id = {entry_id}",
        f"DELETE FROM postings WHERE entry_id = {entry_id}",
        f"UPDATE journal_entries SET memo = 'x' WHERE id = {entry_id}",
        f"DELETE FROM journal_entries WHERE id = {entry_id}",
    ):
        with session_factory() as session, pytest.raises(DatabaseError, match="immutable"):
            session.execute(text(statement))
            session.commit()
    with session_factory() as session:
        assert account_balance(session, account.id) == Decimal("5.00")


@pytest.mark.skipif(not ON_POSTGRES, reason="the commit-time balance check is a PostgreSQL trigger")
def test_database_rejects_unbalanced_commit(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        account, _ = City(session).account()
        charge(session, account.id, "1.00", "seed")  # creates the chart
    session = session_factory()
    entry = JournalEntry(entry_key="raw", kind=EntryKind.BILL, effective_date=DAY, memo="m",
                         actor="t")
    session.add(entry)
    session.flush()
    session.add(Posting(entry_id=entry.id, ledger_account_id=1, account_id=account.id,
                        amount=Decimal("3.00")))
    with pytest.raises(DatabaseError, match="does not balance"):
        session.commit()
    session.close()


# A random history of one customer's financial events.
events = st.lists(
    st.tuples(
        st.sampled_from(["bill", "payment", "adjustment", "reverse"]),
        st.decimals(min_value="0.01", max_value="5000", places=2),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=events)
def test_balances_equal_postings(session_factory: sessionmaker[Session],
                                 history: list[tuple[str, Decimal, bool]]) -> None:
    """Every entry balances and the balance equals an independent running total."""
    with session_factory() as session:
        run = uuid.uuid4().hex[:12]
        account, _ = City(session, cycle_code=f"P{run}").account()
        expected = Decimal(0)
        posted: list[tuple[int, Decimal]] = []  # (entry id, effect on the balance)
        reversed_ids: set[int] = set()
        for number, (kind, amount, credit) in enumerate(history):
            key = f"{run}:{number}"
            if kind == "bill":
                entry = charge(session, account.id, str(amount), key)
                posted.append((entry.id, amount))
                expected += amount
            elif kind == "payment":
                entry = post_payment(session, account_id=account.id, amount=amount, key=key,
                                     received_on=DAY, actor="test")
                posted.append((entry.id, -amount))
                expected -= amount
            elif kind == "adjustment":
                signed = -amount if credit else amount
                entry = post_adjustment(session, account_id=account.id, amount=signed, key=key,
                                        effective_date=DAY, actor="test", memo="adjust")
                posted.append((entry.id, signed))
                expected += signed
            else:
                open_entries = [(i, effect) for i, effect in posted if i not in reversed_ids]
                if not open_entries:
                    continue
                entry_id, effect = open_entries[int(amount * 100) % len(open_entries)]
                reverse_entry(session, entry_id, actor="test", memo="undo", effective_date=DAY)
                reversed_ids.add(entry_id)
                expected -= effect
        session.commit()

        sums = session.execute(
            select(Posting.entry_id, func.sum(Posting.amount)).group_by(Posting.entry_id)
        ).all()
        assert all(total == 0 for _entry, total in sums)
        receivable_sum = session.scalar(
            select(func.coalesce(func.sum(Posting.amount), 0)).where(
                Posting.account_id == account.id
            )
        )
        assert account_balance(session, account.id) == expected
        assert receivable_sum == expected
