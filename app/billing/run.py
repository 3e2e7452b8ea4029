"""The bill run: bill every active service agreement of a cycle for one period.

The run is idempotent and resumable. It is unique per cycle and period, and each chunk
of accounts commits as one transaction. Only accounts without a bill in the run are
picked up, so a second run creates nothing and a run killed halfway finishes the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Account
from app.audit.service import record
from app.billing.chunk import ChunkResult, bill_accounts, load_chunk
from app.billing.context import RunContext
from app.billing.models import (
    Bill,
    BillingCycle,
    BillLine,
    BillRun,
    BillRunException,
    BillRunStatus,
)
from app.billing.periods import BillingPeriod
from app.billing.writer import write_bills, write_exceptions
from app.db import utcnow
from app.errors import InvalidInput, NotFound
from app.ledger.chart import ensure_chart
from app.messaging.bill_alerts import bill_ready_after_commit
from app.meters.estimation import estimate_cycle_reads
from app.meters.validation import validate_cycle_reads
from app.premises.models import Premise, ServiceAgreement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExceptionRow:
    account_number: str
    code: str
    message: str


@dataclass
class BillRunSummary:
    run_id: int
    cycle: str
    period: str
    accounts: int
    bills_created: int
    bills_in_run: int
    total_billed: Decimal
    totals_by_service: dict[str, Decimal] = field(default_factory=dict)
    exceptions: list[ExceptionRow] = field(default_factory=list)


def _active_accounts(context: RunContext, run_id: int) -> Select[Any]:
    period = context.period
    return (
        select(ServiceAgreement.account_id)
        .join(Premise, Premise.id == ServiceAgreement.premise_id)
        .where(
            Premise.cycle_id == context.cycle_id,
            ServiceAgreement.start_date < period.end,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > period.start),
            ~exists().where(
                Bill.bill_run_id == run_id, Bill.account_id == ServiceAgreement.account_id
            ),
        )
        .distinct()
    )


def _open_run(
    session: Session, cycle_code: str, period: BillingPeriod, actor: str
) -> tuple[BillRun, BillingCycle]:
    cycle = session.scalar(select(BillingCycle).where(BillingCycle.code == cycle_code))
    if cycle is None:
        known = ", ".join(session.scalars(select(BillingCycle.code).order_by(BillingCycle.code)))
        raise NotFound(
            f"billing cycle {cycle_code!r} not found; known cycles: {known or 'none'}",
            code="cycle_not_found",
        )
    run = session.scalar(
        select(BillRun).where(BillRun.cycle_id == cycle.id, BillRun.period_start == period.start)
    )
    if run is None:
        run = BillRun(
            cycle_id=cycle.id,
            period_start=period.start,
            period_end=period.end,
            started_by=actor,
        )
        session.add(run)
        session.flush()
    return run, cycle


def run_bill_run(
    factory: sessionmaker[Session],
    *,
    cycle_code: str,
    period: BillingPeriod,
    actor: str,
    zone: ZoneInfo,
    due_days: int,
    chunk_size: int = 1000,
    bill_date: dt.date | None = None,
    today: dt.date | None = None,
    on_start: Callable[[int], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    estimate_missing_reads: bool = False,
) -> BillRunSummary:
    """Bill a cycle for a period, committing chunk by chunk; see the module docstring.

    ``on_start`` receives the number of accounts still to bill and ``on_chunk`` the
    number handled by each committed chunk (for a progress bar). With
    ``estimate_missing_reads``, each register of the cycle without a read in the week
    before the period end first gets an estimated read on the period end (see
    ``app.meters.estimation``), and the bills built on it say so.
    """
    today = today or dt.datetime.now(zone).date()
    if period.end > today:
        last_day = period.end - dt.timedelta(days=1)
        raise InvalidInput(
            f"period {period.label} has not ended: it runs until {last_day} and can be "
            f"billed from {period.end}",
            code="period_not_ended",
        )
    bill_date = bill_date or period.end
    with factory.begin() as session:
        try:
            run, cycle = _open_run(session, cycle_code, period, actor)
        except IntegrityError:
            # A concurrent run created it first; reopen that one.
            session.rollback()
            run, cycle = _open_run(session, cycle_code, period, actor)
        record(
            session,
            actor=actor,
            action="bill_run.start",
            target=f"bill_run:{run.id}",
            arguments={"cycle": cycle_code, "period": period.label},
            outcome="started",
        )
        chart = ensure_chart(session)
        run_id, cycle_id = run.id, cycle.id
        # Reads still pending (stored by a path that did not validate them) are
        # validated now, so the run bills valid reads and lists held ones.
        validate_cycle_reads(session, cycle_id)
        if estimate_missing_reads:
            estimates = estimate_cycle_reads(
                session, cycle_code=cycle_code, read_date=period.end, actor=actor
            )
            log.info(
                "bill run %s: %d closing reads estimated, %d registers without an estimate",
                run_id,
                len(estimates.created),
                len(estimates.skipped),
            )

    context = RunContext(
        run_id=run_id,
        cycle_id=cycle_id,
        period=period,
        bill_date=bill_date,
        due_date=bill_date + dt.timedelta(days=due_days),
        zone=zone,
        actor=actor,
    )
    with factory() as session:
        context.load_tariffs(session)
        pending = (
            session.scalar(
                select(func.count()).select_from(_active_accounts(context, run_id).subquery())
            )
            or 0
        )
    if on_start is not None:
        on_start(pending)

    # Rating runs in this thread while a writer thread commits the previous chunk, so the
    # database works on one chunk while Python rates the next.
    created = 0
    last_account = 0
    in_flight: tuple[Future[int], int] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bill-writer") as writer:
        while True:
            with factory() as session:
                account_ids: list[int] = list(
                    session.scalars(
                        _active_accounts(context, run_id)
                        .where(ServiceAgreement.account_id > last_account)
                        .order_by(ServiceAgreement.account_id)
                        .limit(chunk_size)
                    )
                )
                if account_ids:
                    data = load_chunk(session, context, account_ids)
            if in_flight is not None:
                created += _finish(in_flight, run_id, on_chunk)
                in_flight = None
            if not account_ids:
                break
            result = bill_accounts(context, data, account_ids)
            future = writer.submit(_write_chunk, factory, context, chart, account_ids, result)
            in_flight = (future, len(account_ids))
            last_account = account_ids[-1]

    with factory.begin() as session:
        run = session.get_one(BillRun, run_id)
        if run.status != BillRunStatus.COMPLETED:
            # Once per run, however often it is resumed; a repeat would queue nothing new.
            bill_ready_after_commit(session, run_id)
        run.status = BillRunStatus.COMPLETED
        run.finished_at = utcnow()
        summary = summarize(session, run_id)
        summary.bills_created = created
        record(
            session,
            actor=actor,
            action="bill_run.finish",
            target=f"bill_run:{run_id}",
            arguments={"cycle": cycle_code, "period": period.label},
            outcome="completed",
            detail=(
                f"{created} bills created, {summary.bills_in_run} in run, "
                f"{len(summary.exceptions)} exceptions"
            ),
        )
    return summary


def bill_account(
    session: Session,
    *,
    account_id: int,
    cycle_id: int,
    period: BillingPeriod,
    actor: str,
    zone: ZoneInfo,
    due_days: int,
    bill_date: dt.date,
) -> Bill | None:
    """Bill one account for ``period`` in the caller's transaction, as for a final bill.

    The bill joins the cycle's run for that period (opened if missing), so the cycle's
    own run later finds the account billed and skips it. An account already billed in
    that run returns its bill. A problem is stored as the run's exception for the
    account, and the function returns None.
    """
    cycle = session.get(BillingCycle, cycle_id)
    if cycle is None:
        raise NotFound(f"billing cycle {cycle_id} not found", code="cycle_not_found")
    run, _ = _open_run(session, cycle.code, period, actor)
    existing = session.scalar(
        select(Bill).where(Bill.bill_run_id == run.id, Bill.account_id == account_id)
    )
    if existing is not None:
        return existing
    context = RunContext(
        run_id=run.id,
        cycle_id=cycle.id,
        period=period,
        bill_date=bill_date,
        due_date=bill_date + dt.timedelta(days=due_days),
        zone=zone,
        actor=actor,
    )
    context.load_tariffs(session)
    session.flush()
    validate_cycle_reads(session, cycle.id)
    data = load_chunk(session, context, [account_id])
    result = bill_accounts(context, data, [account_id])
    chart = ensure_chart(session)
    if write_bills(session, context, chart, result.bills):
        bill_ready_after_commit(session, run.id, [account_id])
    write_exceptions(session, context, [account_id], result)
    record(
        session,
        actor=actor,
        action="bill_run.bill_account",
        target=f"bill_run:{run.id}",
        arguments={"account_id": account_id, "period": period.label},
        outcome="billed" if result.bills else "exception",
    )
    return session.scalar(
        select(Bill).where(Bill.bill_run_id == run.id, Bill.account_id == account_id)
    )


def _write_chunk(
    factory: sessionmaker[Session],
    context: RunContext,
    chart: dict[str, int],
    account_ids: list[int],
    result: ChunkResult,
) -> int:
    """Commit one chunk's bills and exceptions in one transaction; return the bill count."""
    with factory.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            # A chunk lost to a server crash in the moment after commit is billed again
            # when the run resumes, so the run need not wait for each WAL flush.
            session.execute(text("SET LOCAL synchronous_commit = off"))
        written = write_bills(session, context, chart, result.bills)
        write_exceptions(session, context, account_ids, result)
    log.info(
        "bill run %s: chunk of %d accounts committed, %d bills, %d problems",
        context.run_id,
        len(account_ids),
        written,
        len(result.problems),
    )
    return written


def _finish(
    in_flight: tuple[Future[int], int], run_id: int, on_chunk: Callable[[int], None] | None
) -> int:
    """Wait for a chunk's commit (re-raising its error) and report its progress."""
    future, accounts = in_flight
    written = future.result()
    if on_chunk is not None:
        on_chunk(accounts)
    return written


def summarize(session: Session, run_id: int) -> BillRunSummary:
    """Totals of a run as stored: bills, amounts by service, exceptions."""
    run = session.get_one(BillRun, run_id)
    bills_in_run, total = session.execute(
        select(func.count(Bill.id), func.coalesce(func.sum(Bill.total), 0)).where(
            Bill.bill_run_id == run_id
        )
    ).one()
    by_service = dict(
        session.execute(
            select(BillLine.service, func.sum(BillLine.amount))
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(Bill.bill_run_id == run_id)
            .group_by(BillLine.service)
            .order_by(BillLine.service)
        ).all()
    )
    exceptions = [
        ExceptionRow(number, code, message)
        for number, code, message in session.execute(
            select(Account.number, BillRunException.code, BillRunException.message)
            .join(Account, Account.id == BillRunException.account_id)
            .where(BillRunException.bill_run_id == run_id)
            .order_by(Account.number)
        )
    ]
    accounts = bills_in_run + len(exceptions)
    return BillRunSummary(
        run_id=run_id,
        cycle=run.cycle.code,
        period=f"{run.period_start:%Y-%m}",
        accounts=accounts,
        bills_created=0,
        bills_in_run=bills_in_run,
        total_billed=Decimal(total),
        totals_by_service={k: Decimal(v) for k, v in by_service.items()},
        exceptions=exceptions,
    )
