"""``upm demo``: build the demo city, bill it, print a summary and serve it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import typer
from rich.table import Column, Table

from app.audit.service import cli_actor
from app.billing.periods import parse_period, previous_full_month
from app.billing.run import BillRunSummary, run_bill_run
from app.cli.common import clear_errors, console
from app.cli.demo_phones import start_phone_demo
from app.db import get_session_factory, session_scope
from app.demo.channels import apply_demo_secrets
from app.demo.metering import (
    MeteringDemoReport,
    describe_metering,
    metering_demo_present,
    seed_metering_day,
)
from app.demo.payments import PaymentsDemoReport, demo_payments_present, seed_payments
from app.demo.seed import (
    CYCLES,
    GREEN_BUTTON_CYCLE,
    GREEN_BUTTON_PERIOD,
    demo_present,
    seed_demo,
)
from app.demo.work_orders import (
    WorkOrdersDemoReport,
    demo_work_orders_present,
    seed_work_orders,
)
from app.migrate import upgrade
from app.settings import get_settings

SERVICES = ("water", "sewer", "trash", "electric")


def print_demo_summary(summaries: list[BillRunSummary]) -> None:
    """Print the runs by cycle, the amounts by service, then every exception."""
    created = sum(s.bills_created for s in summaries)
    console.print(
        f"{created:,} new bill{'' if created == 1 else 's'} created by these runs"
        + ("; every bill below was made by an earlier run" if created == 0 else "")
    )
    runs = Table(
        "cycle",
        "period",
        "accounts",
        "bills",
        "exceptions",
        "billed",
        title="Bill runs",
        title_justify="left",
    )
    for summary in summaries:
        runs.add_row(
            summary.cycle,
            summary.period,
            f"{summary.accounts:,}",
            f"{summary.bills_in_run:,}",
            f"{len(summary.exceptions):,}",
            f"{summary.total_billed:,.2f}",
        )
    runs.add_section()
    runs.add_row(
        "all",
        "",
        f"{sum(s.accounts for s in summaries):,}",
        f"{sum(s.bills_in_run for s in summaries):,}",
        f"{sum(len(s.exceptions) for s in summaries):,}",
        f"{sum((s.total_billed for s in summaries), Decimal(0)):,.2f}",
        style="bold",
    )
    console.print(runs)

    services = Table("service", "billed", title="Billed by service", title_justify="left")
    for service in SERVICES:
        amount = sum((s.totals_by_service.get(service, Decimal(0)) for s in summaries), Decimal(0))
        services.add_row(service, f"{amount:,.2f}")
    console.print(services)

    exceptions = [(s.cycle, row) for s in summaries for row in s.exceptions]
    if exceptions:
        listing = Table(
            "cycle",
            "account",
            Column("code", no_wrap=True),
            "reason",
            title="Not billed (exceptions)",
            title_justify="left",
        )
        for cycle, row in exceptions:
            listing.add_row(cycle, row.account_number, row.code, row.message)
        console.print(listing)


def print_metering_summary(report: MeteringDemoReport) -> None:
    table = Table("metering", "", title="Meters and reads", title_justify="left")
    if report.ami_file:
        table.add_row("AMI export imported", Path(report.ami_file).name)
        table.add_row("AMI lines read", f"{report.ami_rows:,}")
        table.add_row("reads stored (register reads and intervals)", f"{report.reads_stored:,}")
        table.add_row("AMI lines kept for review", f"{report.rows_kept:,}")
        table.add_row("household with a running leak", report.leak_account)
    if report.modbus:
        table.add_row("Modbus meter polled", report.modbus)
    for episode in report.leak_episodes:
        table.add_row("leak episode", episode)
    for text in report.texts:
        table.add_row("customer alert", text)
    for bill in report.estimated_bills:
        table.add_row("bill on an estimated read", bill)
    console.print(table)
    if report.ami_file:
        console.print(f"AMI export: {report.ami_file}")


def print_payments_summary(report: PaymentsDemoReport) -> None:
    table = Table("payments", "", title="Payments", title_justify="left")
    table.add_row("card autopay enrollments", f"{report.card_autopay:,}")
    table.add_row("bank-draft enrollments", f"{report.bank_drafts:,}")
    table.add_row("draft file", f"{report.draft_file} ({report.draft_total:,.2f})")
    table.add_row("drafts returned (R01, R03)", f"{report.returns:,} in {report.returns_file}")
    table.add_row("lockbox file", report.lockbox_file)
    table.add_row("lockbox payments posted", f"{report.lockbox_posted:,}")
    table.add_row("lockbox payments in suspense", f"{report.lockbox_suspense:,}")
    table.add_row("lockbox lines rejected", f"{report.lockbox_errors:,}")
    console.print(table)


def print_work_orders_summary(report: WorkOrdersDemoReport) -> None:
    staff = Table("staff", "role", "phone or Slack user", title="Staff and crews",
                  title_justify="left")
    for name, role, contact in report.staff:
        staff.add_row(name, role, contact)
    console.print(staff)
    orders = Table("work order", "type", "status", "assigned to", title="Open work orders",
                   title_justify="left")
    for number, kind, status, person in report.orders:
        orders.add_row(str(number), kind, status, person)
    console.print(orders)
    console.print(
        "crews N1 (Tia Reyes, Joe Park) and S1 (Ana Diaz); meters in stock for changeouts: "
        + ", ".join(report.stock_meters)
    )


def demo_command(
    accounts: int = typer.Option(
        2000, min=20, max=200_000, help="Number of water, sewer and trash accounts to create."
    ),
    period: str | None = typer.Option(
        None, help="Month to bill, YYYY-MM (default: the last full month)."
    ),
    seed: int = typer.Option(7, help="Random seed; the same seed builds the same city."),
    serve: bool = typer.Option(True, help="Serve the pages after billing (--no-serve to skip)."),
    host: str = typer.Option("127.0.0.1", help="Address to serve on."),
    port: int = typer.Option(8000, help="Port to serve on."),
) -> None:
    """Create and bill a demo city utility, then serve its account pages."""
    settings = get_settings()
    actor = cli_actor()
    with clear_errors():
        zone = settings.zone
        billing_period = (
            parse_period(period) if period else previous_full_month(dt.datetime.now(zone).date())
        )
        console.print(f"database: {settings.database_url}")
        upgrade(settings.database_url)
        with session_scope() as session:
            present = demo_present(session)
            if present:
                console.print(
                    "demo data already present; billing it again (nothing is billed twice)"
                )
            else:
                console.print(
                    f"creating the demo city: {accounts:,} water, sewer and trash accounts, "
                    f"electric accounts, and a Green Button customer ..."
                )
                report = seed_demo(
                    session,
                    accounts=accounts,
                    period=billing_period,
                    zone=zone,
                    seed=seed,
                    actor=actor,
                )
        if not present:
            console.print(
                f"created {report.accounts:,} accounts ({report.water_accounts:,} water, sewer "
                f"and trash; {report.electric_accounts:,} electric), {report.reads:,} register "
                f"reads and {report.interval_reads:,} interval reads"
            )
            cases = Table("case", "account", title="Accounts worth a look")
            for case, number in report.special_cases.items():
                cases.add_row(case, number)
            console.print(cases)

        summaries: list[BillRunSummary] = []
        runs = [(code, billing_period) for code in CYCLES]
        runs.append((GREEN_BUTTON_CYCLE, parse_period(GREEN_BUTTON_PERIOD)))
        for cycle, month in runs:
            summary = run_bill_run(
                get_session_factory(),
                cycle_code=cycle,
                period=month,
                actor=actor,
                zone=zone,
                due_days=settings.bill_due_days,
                chunk_size=settings.bill_run_chunk_size,
                # A household whose read is missing is billed on an estimate, marked so.
                estimate_missing_reads=True,
            )
            summaries.append(summary)
        with session_scope() as session:
            payments = None
            if not demo_payments_present(session):
                folder = settings.bank_data_key_file.parent
                folder.mkdir(parents=True, exist_ok=True)
                payments = seed_payments(
                    session, settings=settings, actor=actor, seed=seed, folder=folder
                )
        with session_scope() as session:
            crews = None
            if not demo_work_orders_present(session):
                crews = seed_work_orders(session, actor=actor)
        with session_scope() as session:
            metering = MeteringDemoReport()
            if not metering_demo_present(session):
                metering = seed_metering_day(
                    session,
                    settings=settings,
                    zone=zone,
                    folder=settings.bank_data_key_file.parent / "ami",
                    actor=actor,
                    seed=seed,
                )
        with session_scope() as session:
            metering = describe_metering(session, metering)
    print_demo_summary(summaries)
    print_metering_summary(metering)
    if payments is not None:
        print_payments_summary(payments)
    if crews is not None:
        print_work_orders_summary(crews)
    start_phone_demo(settings, serve=serve)
    if serve:
        applied = apply_demo_secrets()
        if applied:
            console.print(
                "the simulators can reach this demo: made-up secrets set for "
                + ", ".join(applied)
                + " (`upm sim sms`, `upm sim call` and `upm sim slack` use the same ones)"
            )
        console.print(
            f"serving http://{host}:{port}/ (account search), /docs (API), /health; Ctrl+C stops"
        )
        import uvicorn

        # Forwarded headers are not applied to the request by uvicorn: the Twilio signature
        # check trusts them only from UPM_TWILIO_TRUSTED_PROXIES (app/messaging/twilio_requests).
        uvicorn.run(
            "app.main:create_app", factory=True, host=host, port=port, proxy_headers=False
        )
