"""``upm leaks``: run leak and high-usage detection now, and list episodes."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table
from sqlalchemy import select

from app.accounts.models import Account
from app.audit.service import cli_actor, record
from app.cli.common import clear_errors, console, count_of
from app.db import session_scope, utcnow
from app.meters.high_usage import check_high_usage
from app.meters.leak_alerts import plain_quantity
from app.meters.leak_models import LeakEpisode
from app.meters.leaks import interval_registers_read_since, scan_registers
from app.meters.models import Meter, Register
from app.settings import get_settings

leaks_app = typer.Typer(
    help="Leak, burst, meter-flag and high-usage episodes.", no_args_is_help=True
)


@leaks_app.command("scan")
def scan_command(
    register: list[int] = typer.Option(
        [],
        "--register",
        help="Register id to scan; repeat for several. Default: those read in the last --hours.",
    ),
    hours: int = typer.Option(
        26, min=1, help="Without --register, scan registers with interval reads in this many hours."
    ),
    high_usage: bool = typer.Option(
        False,
        "--high-usage",
        help="Also compare each register's last --days local days with earlier periods.",
    ),
    days: int = typer.Option(7, min=1, help="Length of the high-usage period in local days."),
) -> None:
    """Run detection now, open and close episodes, and queue the alerts of new ones."""
    with clear_errors(), session_scope() as session:
        now = utcnow()
        register_ids = register or interval_registers_read_since(
            session, now - dt.timedelta(hours=hours)
        )
        result = scan_registers(session, register_ids, now=now)
        record(
            session,
            actor=cli_actor(),
            action="leaks.scan",
            outcome="done",
            arguments={"registers": register, "hours": hours, "high_usage": high_usage},
            detail=f"{result.opened} opened, {result.closed} closed, {result.alerted} alerted",
        )
        console.print(
            f"Leak scan: {count_of(result.registers, 'register')}, {result.opened} opened, "
            f"{result.updated} updated, {result.closed} closed, {result.alerted} alerted."
        )
        if high_usage:
            usage = check_high_usage(
                session,
                today=get_settings().today(),
                days=days,
                register_ids=register or None,
                now=now,
            )
            console.print(
                f"High usage: {count_of(usage.registers, 'register')}, {usage.opened} opened, "
                f"{usage.updated} updated, {usage.closed} closed, {usage.alerted} alerted."
            )


@leaks_app.command("list")
def list_command(
    all_episodes: bool = typer.Option(False, "--all", help="Also list closed episodes."),
    limit: int = typer.Option(50, min=1, help="Maximum number of episodes to list, newest first."),
) -> None:
    """List episodes, newest first: open ones only unless --all."""
    zone = get_settings().zone
    with clear_errors(), session_scope() as session:
        query = select(LeakEpisode).order_by(LeakEpisode.started_at.desc(), LeakEpisode.id.desc())
        if not all_episodes:
            query = query.where(LeakEpisode.closed_at.is_(None))
        episodes = list(session.scalars(query.limit(limit)))
        if not episodes:
            console.print("No episodes." if all_episodes else "No open episodes.")
            return
        serial_rows = session.execute(
            select(Register.id, Meter.serial)
            .join(Meter, Meter.id == Register.meter_id)
            .where(Register.id.in_({episode.register_id for episode in episodes}))
        )
        # A Result has keys(), so dict() would read it as a mapping: list its rows first.
        serials = dict(serial_rows.all())
        number_rows = session.execute(
            select(Account.id, Account.number).where(
                Account.id.in_({episode.account_id for episode in episodes})
            )
        )
        numbers = dict(number_rows.all())
        table = Table(
            "id",
            "meter",
            "account",
            "kind",
            "severity",
            "since",
            "until",
            "quantity",
            "alerted",
            "work order id",
        )
        for episode in episodes:
            table.add_row(
                str(episode.id),
                serials.get(episode.register_id, f"register {episode.register_id}"),
                numbers.get(episode.account_id, "") if episode.account_id else "",
                episode.kind,
                episode.severity,
                f"{episode.started_at.astimezone(zone):%Y-%m-%d %H:%M %Z}",
                f"{episode.closed_at.astimezone(zone):%Y-%m-%d %H:%M %Z}"
                if episode.closed_at
                else "open",
                f"{plain_quantity(episode.quantity)} {episode.unit}",
                "yes" if episode.alerted_at else "no",
                str(episode.work_order_id or ""),
            )
        console.print(table)
