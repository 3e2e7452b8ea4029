"""`upm meters list`: the meters on file, where each serves, and their registers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import typer
from rich.table import Table
from sqlalchemy import func, select

from app.accounts.models import Account
from app.cli.common import clear_errors, console
from app.db import session_scope, utcnow
from app.meters.leak_alerts import service_locations
from app.meters.models import IntervalRead, Meter, Read, Register
from app.premises.models import Premise
from app.settings import get_settings

meters_app = typer.Typer(help="Look up meters: serials, premises, accounts and registers.")


@meters_app.command("list")
def list_command(
    service: str | None = typer.Option(
        None, help="Only meters of this service: water, sewer, electric or gas."
    ),
    serial: str | None = typer.Option(
        None, help="Only meters whose serial starts with this text (case-sensitive)."
    ),
    limit: int = typer.Option(50, min=1, help="Maximum number of meters to list, by serial."),
) -> None:
    """List meters by serial, with the premise and account each serves today."""
    with clear_errors(), session_scope() as session:
        query = select(Meter).order_by(Meter.serial)
        if service is not None:
            query = query.where(Meter.service == service)
        if serial is not None:
            query = query.where(Meter.serial.startswith(serial, autoescape=True))
        meters = list(session.scalars(query.limit(limit)))
        if not meters:
            console.print("No meters match." if service or serial else "No meters on file.")
            return
        meter_ids = [meter.id for meter in meters]

        registers: dict[int, list[Register]] = defaultdict(list)
        for register in session.scalars(
            select(Register).where(Register.meter_id.in_(meter_ids)).order_by(Register.code)
        ):
            registers[register.meter_id].append(register)
        last_reads: dict[int, dt.date] = dict(
            session.execute(
                select(Register.meter_id, func.max(Read.read_date))
                .join(Register, Register.id == Read.register_id)
                .where(Register.meter_id.in_(meter_ids))
                .group_by(Register.meter_id)
            ).all()
        )
        # An interval meter's last read is its newest interval, on the local date it ends.
        zone = get_settings().zone
        newest_intervals = session.execute(
            select(Register.meter_id, func.max(IntervalRead.start_at))
            .join(Register, Register.id == IntervalRead.register_id)
            .where(Register.meter_id.in_(meter_ids))
            .group_by(Register.meter_id)
        ).all()
        for meter_id, start in newest_intervals:
            day = start.astimezone(zone).date()
            last_reads[meter_id] = max(day, last_reads.get(meter_id, day))
        locations = service_locations(session, meter_ids, utcnow())
        premises = dict(
            session.execute(
                select(Premise.id, Premise.address).where(
                    Premise.id.in_({premise_id for premise_id, _ in locations.values()})
                )
            ).all()
        )
        accounts = dict(
            session.execute(
                select(Account.id, Account.number).where(
                    Account.id.in_({account_id for _, account_id in locations.values()})
                )
            ).all()
        )

        table = Table()
        for column in ("serial", "service", "status", "premise", "account", "registers"):
            # Fold rather than cut: a serial or account number cut short is no use.
            table.add_column(column, overflow="fold")
        table.add_column("last read", no_wrap=True)
        for meter in meters:
            premise_id, account_id = locations.get(meter.id, (None, None))
            table.add_row(
                meter.serial,
                meter.service,
                str(meter.stock_status),
                premises.get(premise_id, "") if premise_id else "",
                accounts.get(account_id, "") if account_id else "",
                ", ".join(_register_label(register) for register in registers[meter.id]),
                str(last_reads.get(meter.id) or ""),
            )
        console.print(table)


def _register_label(register: Register) -> str:
    """Return e.g. ``1 (kWh)`` or ``F (gal, interval)``."""
    kind = ", interval" if register.interval else ""
    return f"{register.code} ({register.unit}{kind})"
