"""``upm bill-run``: bill one cycle for one month, with a progress bar."""

from __future__ import annotations

import datetime as dt

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.audit.service import cli_actor
from app.billing.periods import parse_period
from app.billing.run import BillRunSummary, run_bill_run
from app.cli.common import clear_errors, console, count_of
from app.db import get_session_factory
from app.settings import get_settings


def print_summary(summary: BillRunSummary) -> None:
    console.print(
        f"bill run {summary.run_id}: cycle {summary.cycle}, period {summary.period}: "
        f"{count_of(summary.bills_created, 'bill')} created now, "
        f"{count_of(summary.bills_in_run, 'bill')} in the run, "
        f"{count_of(len(summary.exceptions), 'exception')}"
    )
    table = Table("service", "billed", title=f"Totals, cycle {summary.cycle} {summary.period}")
    for service, amount in summary.totals_by_service.items():
        table.add_row(service, f"{amount:,.2f}")
    table.add_row("[bold]total[/]", f"[bold]{summary.total_billed:,.2f}[/]")
    console.print(table)
    if summary.exceptions:
        exceptions = Table("account", "code", "reason", title="Exceptions (not billed)")
        for row in summary.exceptions[:30]:
            exceptions.add_row(row.account_number, row.code, row.message)
        console.print(exceptions)
        if len(summary.exceptions) > 30:
            console.print(f"... and {len(summary.exceptions) - 30} more")


def bill_run_command(
    cycle: str = typer.Option(..., "--cycle", help="Billing cycle code, e.g. C1."),
    period: str = typer.Option(..., "--period", help="Month to bill, as YYYY-MM."),
    bill_date: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Bill date (default: the day after the period)."
    ),
) -> None:
    """Bill every active service agreement of a cycle for a month (idempotent, resumable)."""
    settings = get_settings()
    with clear_errors():
        billing_period = parse_period(period)
        with Progress(
            TextColumn("billing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("bill run", total=None)
            summary = run_bill_run(
                get_session_factory(),
                cycle_code=cycle,
                period=billing_period,
                actor=cli_actor(),
                zone=settings.zone,
                due_days=settings.bill_due_days,
                chunk_size=settings.bill_run_chunk_size,
                estimate_missing_reads=settings.estimate_missing_reads,
                bill_date=bill_date.date() if bill_date else None,
                on_start=lambda total: progress.update(task, total=total),
                on_chunk=lambda done: progress.advance(task, done),
            )
    print_summary(summary)
