"""The ``upm`` command line; every command is registered here."""

from __future__ import annotations

import logging

import typer

# Every model must be mapped before a command touches one that names others.
import app.models as _all_models  # noqa: F401
from app.cli.billing import bill_run_command
from app.cli.database import db_app
from app.cli.demo import demo_command
from app.cli.estimation import heat_factor_app, reads_app
from app.cli.imports import imports_app
from app.cli.leaks import leaks_app
from app.cli.meters import meters_app
from app.cli.modbus import modbus_app
from app.cli.payments import payments_app
from app.cli.rate import rate_command
from app.cli.read_review import add_review_commands
from app.cli.reads import import_reads_command
from app.cli.serve import serve_command
from app.cli.sim import sim_app
from app.cli.slack import slack_socket_command

app = typer.Typer(
    name="upm",
    help="Utility Process Management: accounts, meters, tariffs, bills and the ledger.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_app, name="db")
app.add_typer(leaks_app, name="leaks")
app.add_typer(payments_app, name="payments")
app.add_typer(modbus_app, name="modbus")
app.add_typer(meters_app, name="meters")
app.add_typer(imports_app, name="imports")
app.add_typer(sim_app, name="sim")
add_review_commands(reads_app)
app.add_typer(reads_app, name="reads")
app.add_typer(heat_factor_app, name="heat-factor")
app.command("import-reads")(import_reads_command)
app.command("bill-run")(bill_run_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("slack-socket")(slack_socket_command)
app.command("rate")(rate_command)


def main() -> None:
    from app.settings import get_settings

    logging.basicConfig(
        level=get_settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app()
