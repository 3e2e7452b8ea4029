"""Writing a chunk's bills in bulk: entries, postings, bills, lines and meter segments.

Rows go in as Core multi-row INSERTs (no ORM unit of work), and the new ids are read
back by their unique keys, so a chunk of a thousand bills costs a handful of statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.billing.chunk import AccountBill, ChunkResult
from app.billing.context import RunContext
from app.billing.models import Bill, BillLine, BillMeterSegment, BillRunException
from app.bulk import insert_rows
from app.db import utcnow
from app.ledger.chart import RECEIVABLES, REVENUE_BY_SERVICE
from app.ledger.models import EntryKind, JournalEntry, Posting


def _detail(charges_line: Any) -> list[dict[str, str]]:
    return [
        {
            "label": step.label,
            "quantity": str(step.quantity),
            "unit": step.unit,
            "price": str(step.price),
        }
        for step in charges_line.detail
    ]


def _quantity(value: Decimal | None) -> Decimal | None:
    # Quantities are stored to a millionth; the engine's full precision stays in the detail.
    return None if value is None else value.quantize(Decimal("0.000001"))


def write_bills(
    session: Session, context: RunContext, chart: dict[str, int], bills: Sequence[AccountBill]
) -> int:
    """Insert the bills and their journal entries; return how many were written."""
    if not bills:
        return 0
    now = utcnow()
    receivables = chart[RECEIVABLES]
    entry_rows = [
        {
            "entry_key": f"bill:{context.run_id}:{bill.account_id}",
            "kind": EntryKind.BILL,
            "effective_date": context.bill_date,
            "posted_at": now,
            "memo": f"Bill for {context.period.label}",
            "actor": context.actor,
        }
        for bill in bills
    ]
    insert_rows(session, JournalEntry, entry_rows)
    keys = [str(row["entry_key"]) for row in entry_rows]
    ids_by_key: dict[str, int] = dict(
        session.execute(
            select(JournalEntry.entry_key, JournalEntry.id).where(JournalEntry.entry_key.in_(keys))
        ).all()
    )
    entry_ids = [ids_by_key[key] for key in keys]

    posting_rows: list[dict[str, Any]] = []
    bill_rows: list[dict[str, Any]] = []
    for bill, entry_id in zip(bills, entry_ids, strict=True):
        by_service: dict[str, Decimal] = defaultdict(Decimal)
        for agreement, charges in bill.lines:
            for line in charges.lines:
                by_service[agreement.service] += line.amount
        total = sum(by_service.values(), Decimal(0))
        posting_rows.append(
            {
                "entry_id": entry_id,
                "ledger_account_id": receivables,
                "account_id": bill.account_id,
                "amount": total,
            }
        )
        for service, amount in by_service.items():
            posting_rows.append(
                {
                    "entry_id": entry_id,
                    "ledger_account_id": chart[REVENUE_BY_SERVICE[service]],
                    "account_id": None,
                    "amount": -amount,
                }
            )
        bill_rows.append(
            {
                "account_id": bill.account_id,
                "bill_run_id": context.run_id,
                "period_start": context.period.start,
                "period_end": context.period.end,
                "bill_date": context.bill_date,
                "due_date": context.due_date,
                "total": total,
                "journal_entry_id": entry_id,
                "created_at": now,
            }
        )
    insert_rows(session, Posting, posting_rows)
    insert_rows(session, Bill, bill_rows)
    ids_by_account: dict[int, int] = dict(
        session.execute(
            select(Bill.account_id, Bill.id).where(
                Bill.bill_run_id == context.run_id,
                Bill.account_id.in_([bill.account_id for bill in bills]),
            )
        ).all()
    )
    bill_ids = [ids_by_account[bill.account_id] for bill in bills]

    line_rows: list[dict[str, Any]] = []
    segment_rows: list[dict[str, Any]] = []
    for bill, bill_id in zip(bills, bill_ids, strict=True):
        number = 0
        for agreement, charges in bill.lines:
            for line in charges.lines:
                number += 1
                line_rows.append(
                    {
                        "bill_id": bill_id,
                        "line_number": number,
                        "service_agreement_id": agreement.id,
                        "service": agreement.service,
                        "code": line.code,
                        "kind": str(line.kind),
                        "description": line.description[:200],
                        "quantity": _quantity(line.quantity),
                        "unit": line.unit,
                        "amount": line.amount,
                        "detail": _detail(line),
                    }
                )
        for agreement, segment in bill.segments:
            segment_rows.append(
                {
                    "bill_id": bill_id,
                    "service_agreement_id": agreement.id,
                    "meter_serial": segment.meter_serial,
                    "start_date": segment.start_date,
                    "start_value": segment.start_value,
                    "end_date": segment.end_date,
                    "end_value": segment.end_value,
                    "consumption": _quantity(segment.consumption),
                    "unit": segment.unit,
                    "start_read_type": segment.start_read_type,
                    "end_read_type": segment.end_read_type,
                }
            )
    if line_rows:
        insert_rows(session, BillLine, line_rows)
    if segment_rows:
        insert_rows(session, BillMeterSegment, segment_rows)
    return len(bills)


def write_exceptions(
    session: Session, context: RunContext, account_ids: Sequence[int], result: ChunkResult
) -> None:
    """Replace this run's exceptions for the chunk's accounts with the current ones."""
    session.execute(
        delete(BillRunException).where(
            BillRunException.bill_run_id == context.run_id,
            BillRunException.account_id.in_(account_ids),
        )
    )
    if result.problems:
        session.execute(
            insert(BillRunException),
            [
                {
                    "bill_run_id": context.run_id,
                    "account_id": account_id,
                    "service_agreement_id": agreement_id,
                    "code": problem.code,
                    "message": problem.message,
                    "created_at": utcnow(),
                }
                for account_id, agreement_id, problem in result.problems
            ],
        )
