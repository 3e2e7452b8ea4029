"""``upm reads estimate`` and ``upm heat-factor``: estimated reads and gas heat factors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table
from sqlalchemy import select

from app.audit.service import cli_actor
from app.billing.heat_factors import HeatFactor, set_heat_factor
from app.billing.models import BillingCycle
from app.cli.common import clear_errors, console, count_of, err_console
from app.db import session_scope
from app.errors import InvalidInput
from app.meters.estimation import estimate_cycle_reads, estimate_meter_intervals
from app.settings import get_settings

reads_app = typer.Typer(help="Estimate missing meter reads (audited).", no_args_is_help=True)
heat_factor_app = typer.Typer(
    help="Gas heat factors (therms per CCF) that bill CCF registers on therm tariffs.",
    no_args_is_help=True,
)

DATE_FORMATS = ["%Y-%m-%d"]


@reads_app.command("estimate")
def estimate_command(
    cycle: str = typer.Option(..., "--cycle", help="Billing cycle code, e.g. C1."),
    read_date: dt.datetime = typer.Option(
        ..., "--date", formats=DATE_FORMATS, help="Read date to estimate, as YYYY-MM-DD."
    ),
) -> None:
    """Store an estimated read for each register of a cycle without a read near the date.

    A register read in the 7 days up to the date is left alone; running it again adds nothing.
    """
    with clear_errors(), session_scope() as session:
        report = estimate_cycle_reads(
            session, cycle_code=cycle, read_date=read_date.date(), actor=cli_actor()
        )
    console.print(
        f"{count_of(len(report.created), 'read')} estimated, "
        f"{count_of(report.already_read, 'register')} already read, "
        f"{count_of(len(report.skipped), 'register')} without an estimate"
    )
    if report.created:
        table = Table("meter", "register", "date", "read", "use", "method", title="Estimated")
        for row in report.created[:50]:
            table.add_row(
                row.meter_serial,
                row.register_code,
                str(row.read_date),
                f"{row.value.normalize():f}",
                f"{row.consumption.normalize():f}",
                row.method,
            )
        console.print(table)
    if report.skipped:
        skipped = Table("meter", "reason", title="Not estimated (enter an actual read)")
        for serial, reason in report.skipped[:50]:
            skipped.add_row(serial, reason)
        err_console.print(skipped)


@reads_app.command("estimate-intervals")
def estimate_intervals_command(
    meter: str = typer.Option(..., "--meter", help="Serial of the interval meter."),
    start: dt.datetime = typer.Option(
        ..., "--from", formats=DATE_FORMATS, help="First local date to fill, as YYYY-MM-DD."
    ),
    end: dt.datetime = typer.Option(
        ..., "--to", formats=DATE_FORMATS, help="Local date after the last one to fill."
    ),
    interval_minutes: int = typer.Option(60, min=1, help="Length of each interval, in minutes."),
) -> None:
    """Fill missing intervals of a meter: short gaps interpolated, long ones from like days."""
    settings = get_settings()
    with clear_errors(), session_scope() as session:
        report = estimate_meter_intervals(
            session,
            meter_serial=meter,
            start=start.date(),
            end=end.date(),
            zone=settings.zone,
            actor=cli_actor(),
            interval_minutes=interval_minutes,
        )
    methods = ", ".join(
        f"{count} by {method}" for method, count in sorted(report.by_method.items())
    )
    console.print(
        f"meter {meter}: {count_of(report.created, 'interval')} estimated"
        + (f" ({methods})" if methods else "")
    )
    if report.unfilled:
        err_console.print(
            f"{count_of(len(report.unfilled), 'interval')} left empty (no like-day history), "
            f"first at {report.unfilled[0].astimezone(settings.zone):%Y-%m-%d %H:%M %Z}"
        )
        raise typer.Exit(1)


def _heat_factor(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(
            f"heat factor {text!r} is not a number; enter therms per CCF, for example 1.037",
            code="invalid_heat_factor",
        ) from exc


@heat_factor_app.command("set")
def heat_factor_set_command(
    therms_per_ccf: str = typer.Option(
        ..., "--therms-per-ccf", help="Heat factor in therms per CCF, for example 1.037."
    ),
    effective_from: dt.datetime = typer.Option(
        ..., "--from", formats=DATE_FORMATS, help="First date it applies to, as YYYY-MM-DD."
    ),
    effective_to: dt.datetime | None = typer.Option(
        None, "--to", formats=DATE_FORMATS, help="Date it stops applying (exclusive)."
    ),
    cycle: str | None = typer.Option(
        None, "--cycle", help="Billing cycle code; without it the factor applies to every cycle."
    ),
) -> None:
    """Set the gas heat factor from a date; a factor with the same start is changed (audited)."""
    with clear_errors(), session_scope() as session:
        factor = set_heat_factor(
            session,
            actor=cli_actor(),
            therms_per_ccf=_heat_factor(therms_per_ccf),
            effective_from=effective_from.date(),
            effective_to=effective_to.date() if effective_to else None,
            cycle_code=cycle,
        )
        until = f" until {factor.effective_to}" if factor.effective_to else ""
        console.print(
            f"gas heat factor {factor.therms_per_ccf.normalize():f} therms per CCF from "
            f"{factor.effective_from}{until} for {f'cycle {cycle}' if cycle else 'every cycle'}"
        )


@heat_factor_app.command("list")
def heat_factor_list_command() -> None:
    """List the gas heat factors, oldest first."""
    with clear_errors(), session_scope() as session:
        rows = session.execute(
            select(HeatFactor, BillingCycle.code)
            .outerjoin(BillingCycle, BillingCycle.id == HeatFactor.cycle_id)
            .order_by(HeatFactor.effective_from, BillingCycle.code)
        ).all()
        table = Table("cycle", "from", "to", "therms per CCF", "set by")
        for factor, code in rows:
            table.add_row(
                code or "every cycle",
                str(factor.effective_from),
                str(factor.effective_to or ""),
                f"{factor.therms_per_ccf.normalize():f}",
                factor.set_by,
            )
    console.print(table)
