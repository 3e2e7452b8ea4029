"""``upm payments …``: bank files, drafts, autopay, the suspense queue and key setup."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Column, Table

from app.alerts import LOCKBOX_UNMATCHED, raise_alert
from app.audit.service import cli_actor, record
from app.cli.common import clear_errors, console, count_of, err_console
from app.db import get_session_factory, session_scope
from app.errors import InvalidInput
from app.payments.drafts.vault import create_key_file, write_private
from app.settings import get_settings

payments_app = typer.Typer(
    help="Payments: import bank files, originate drafts, run autopay, work the suspense queue.",
    no_args_is_help=True,
)


def _read(file: Path) -> bytes:
    if file.is_dir():
        raise InvalidInput(f"{file} is a folder; name one file in it", code="not_a_file")
    if not file.is_file():
        raise InvalidInput(f"file {file} not found; check the path", code="file_not_found")
    return file.read_bytes()


def _date(text: str | None) -> dt.date:
    if text is None:
        return get_settings().today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(
            f"date {text!r} is not a valid date in YYYY-MM-DD form, such as 2026-12-10",
            code="invalid_date",
        ) from error


@payments_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="Lockbox (BAI), BAI2 or payment CSV file."),
) -> None:
    """Post a bank payment file; unmatched payments go to the suspense queue."""
    from app.payments.bankfiles.lockbox_import import import_payment_file

    with clear_errors():
        content = _read(file)
        with session_scope() as session:
            report = import_payment_file(
                session, filename=file.name, content=content, actor=cli_actor()
            )
    if report.bank_file_id is None:
        for error in report.errors:
            err_console.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    if report.duplicate:
        console.print(
            f"{file.name} was imported before (file {report.bank_file_id}); "
            "nothing was posted again."
        )
        return
    if report.suspense:
        raise_alert(
            LOCKBOX_UNMATCHED,
            f"{file.name}: {count_of(report.suspense, 'payment')} totalling "
            f"{report.suspense_total} matched no account; see the suspense queue",
        )
    console.print(
        f"{file.name} ({report.format}): posted {count_of(report.posted, 'payment')} "
        f"totalling {report.posted_total}; {count_of(report.suspense, 'payment')} "
        f"totalling {report.suspense_total} to suspense."
    )
    if report.deposit_totals:
        console.print(
            f"{count_of(report.deposit_totals, 'lockbox deposit total')} not posted: "
            "import the bank's lockbox detail file for the checks."
        )
    for error in report.errors:
        err_console.print(f"[yellow]{error}[/yellow]")
    if report.errors:
        raise typer.Exit(2)


@payments_app.command("drafts")
def drafts_command(
    draft_date: str | None = typer.Option(
        None, "--date", help="Draft date, YYYY-MM-DD; default today in the utility's time zone."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write the NACHA file for the bank (mode 0600)."
    ),
    allow_past: bool = typer.Option(
        False, "--allow-past", help="Allow a draft date before today, to redo a missed day."
    ),
) -> None:
    """Originate the day's bank drafts as a NACHA file (once per date)."""
    from sqlalchemy import select

    from app.payments.drafts.models import DraftFile
    from app.payments.drafts.originate import draft_file_bytes, generate_draft_file

    with clear_errors():
        day = _date(draft_date)
        if day < get_settings().today() and not allow_past:
            raise InvalidInput(
                f"draft date {day} is in the past; drafts settle on a later banking day, so "
                "pass --allow-past only to redo a day that was missed",
                code="draft_date_past",
            )
        if output is not None and not output.parent.is_dir():
            raise InvalidInput(
                f"folder {output.parent} does not exist; create it or choose another -o path",
                code="output_folder_missing",
            )
        with session_scope() as session:
            earlier = session.scalar(select(DraftFile.id).where(DraftFile.draft_date == day))
            draft_file = generate_draft_file(session, draft_date=day, actor=cli_actor())
            if draft_file is None:
                console.print(f"no drafts are due for {day}; no file was written")
                return
            content = draft_file_bytes(draft_file)
            summary = (
                ("(made earlier; nothing new was drafted) " if earlier else "")
                + f"draft file {draft_file.id} for {day} (settles "
                f"{draft_file.effective_date}): "
                f"{count_of(draft_file.entry_count, 'draft')} totalling "
                f"{draft_file.debit_total}"
            )
    console.print(summary)
    if output is not None:
        write_private(output, content)
        console.print(f"wrote {output} (readable by its owner only: it has account numbers)")


@payments_app.command("returns")
def returns_command(
    file: Path = typer.Argument(..., help="ACH return or notification-of-change file."),
) -> None:
    """Apply an ACH returns or NOC file: reverse returned drafts, update bank details."""
    from app.payments.drafts.returns import import_returns

    with clear_errors():
        content = _read(file)
        with session_scope() as session:
            report = import_returns(session, filename=file.name, content=content, actor=cli_actor())
    if report.bank_file_id is None or (report.duplicate and report.errors):
        for error in report.errors:
            err_console.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    if report.duplicate:
        console.print(f"{file.name} was imported before; nothing was applied again.")
        return
    console.print(
        f"{file.name}: {count_of(report.returned, 'return')} reversed, "
        f"{count_of(report.changes, 'change')} applied, "
        f"{count_of(report.already_applied, 'return')} already applied, "
        f"{count_of(report.suspense, 'item')} to the suspense queue."
    )
    for error in report.errors:
        err_console.print(f"[red]{error}[/red]")
    if report.errors:
        raise typer.Exit(2)


@payments_app.command("autopay")
def autopay_command(
    day: str | None = typer.Option(
        None, "--date", help="Charge date, YYYY-MM-DD; default today in the utility's time zone."
    ),
) -> None:
    """Charge card autopay for bills due on the date (and retries scheduled for it)."""
    from app.payments.autopay.cards import run_autopay

    with clear_errors():
        report = run_autopay(get_session_factory(), today=_date(day))
    console.print(
        f"autopay: {count_of(report.charged, 'charge')} succeeded, "
        f"{report.declined} declined, {report.skipped} skipped, "
        f"{report.unknown} with an unknown outcome (retried with the same key next run)."
    )
    if report.failed:
        err_console.print(
            f"[yellow]{count_of(report.failed, 'bill')} failed with an error (see the log); "
            "they are tried again on the next run[/yellow]"
        )
        raise typer.Exit(2)


@payments_app.command("suspense")
def suspense_command() -> None:
    """List the open suspense items: payments, returns and changes that matched no account."""
    from app.payments.suspense import open_items

    with clear_errors(), session_scope() as session:
        items = open_items(session)
        table = Table(
            "id",
            Column("kind", overflow="fold"),
            "received",
            "amount",
            Column("reference", overflow="fold"),
            Column("payer", overflow="fold"),
            Column("reason", overflow="fold"),
        )
        for item in items:
            table.add_row(
                str(item.id),
                item.kind.value,
                item.received_on.isoformat(),
                str(item.amount),
                item.reference or "",
                item.payer_name or "",
                item.reason,
            )
    console.print(table if items else "The suspense queue is empty.")


@payments_app.command("resolve")
def resolve_command(
    item_id: int = typer.Argument(..., help="Suspense item id from `upm payments suspense`."),
    account: str = typer.Option(..., help="Account number the payment belongs to."),
    note: str | None = typer.Option(None, help="Why this account, for the audit log."),
) -> None:
    """Apply an unmatched payment to an account."""
    from app.accounts.service import get_account_by_number
    from app.payments.suspense import resolve_to_account

    with clear_errors(), session_scope() as session:
        target = get_account_by_number(session, account)
        payment = resolve_to_account(
            session, item_id, account_id=target.id, actor=cli_actor(), note=note
        )
        message = f"suspense item {item_id} posted as payment {payment.id} to {target.number}"
    console.print(message)


@payments_app.command("bank-key")
def bank_key_command() -> None:
    """Create the key file that encrypts bank numbers, unless one exists."""
    settings = get_settings()
    with clear_errors(), session_scope() as session:
        created = create_key_file(settings.bank_data_key_file)
        record(
            session,
            actor=cli_actor(),
            action="bank_key.create",
            outcome="created" if created else "exists",
            target="bank_data_key",
            arguments={"path": str(settings.bank_data_key_file)},
        )
    if created:
        console.print(
            f"wrote a new key to {settings.bank_data_key_file} (mode 0600); back it "
            "up: bank numbers cannot be read without it."
        )
    else:
        console.print(f"{settings.bank_data_key_file} exists; left unchanged.")


@payments_app.command("reconcile")
def reconcile_command(
    day: str | None = typer.Option(
        None,
        "--date",
        help="Local day to check, YYYY-MM-DD; default yesterday in the utility's time zone.",
    ),
) -> None:
    """Compare a day's Stripe charges with the payments posted here; report, never post."""
    from app.payments.cards.gateway import StripeGateway
    from app.payments.cards.reconcile import reconcile_stripe

    with clear_errors():
        checked = _date(day) if day else get_settings().today() - dt.timedelta(days=1)
        with session_scope() as session:
            report = reconcile_stripe(session, StripeGateway(), day=checked)
    console.print(
        f"{checked}: {count_of(report.charges_listed, 'charge')} at Stripe, "
        f"{count_of(report.matched, 'payment')} matched"
    )
    table = Table("finding", "payment", "Stripe", "ours", "theirs")
    for charge in report.charges_without_payment:
        table.add_row(
            "charge with no payment here",
            "",
            charge.payment_intent_ref or charge.charge_ref,
            "",
            str(charge.amount),
        )
    for payment in report.payments_without_charge:
        table.add_row(
            "payment with no charge at Stripe",
            str(payment.payment_id),
            payment.payment_intent_ref or "",
            str(payment.amount),
            "",
        )
    for kind, rows in (
        ("amount differs", report.amount_mismatches),
        ("status differs", report.status_mismatches),
        ("refunds differ", report.refund_mismatches),
    ):
        for row in rows:
            table.add_row(
                kind, str(row.payment_id), row.payment_intent_ref or "", row.ours, row.stripe
            )
    if report.clean:
        console.print("Nothing to look at: every charge matches a payment.")
        return
    console.print(table)
    raise typer.Exit(2)


@payments_app.command("link")
def link_command(
    account: str = typer.Argument(..., help="Account number the link pays."),
    amount: str | None = typer.Option(
        None, help="Dollars and cents, such as 84.12; default the amount due."
    ),
    key: str | None = typer.Option(
        None, help="Idempotency key; the same key returns the same link. Default: a new one."
    ),
) -> None:
    """Create a payment link to text or e-mail a customer (the hosted card page)."""
    import uuid
    from decimal import Decimal, InvalidOperation

    from app.accounts.service import get_account_by_number
    from app.payments.channels import start_payment_link
    from app.payments.models import PaymentChannel

    with clear_errors():
        value = None
        if amount is not None:
            try:
                value = Decimal(amount)
            except InvalidOperation as error:
                raise InvalidInput(
                    f"amount {amount!r} is not dollars and cents, such as 84.12",
                    code="invalid_amount",
                ) from error
        if not get_settings().stripe_secret_key:
            raise InvalidInput(
                "card payments are off: set UPM_STRIPE_SECRET_KEY (see docs/payments.md) "
                "before sending a payment link",
                code="stripe_not_configured",
            )
        with session_scope() as session:
            target = get_account_by_number(session, account)
            link, url = start_payment_link(
                session,
                account_id=target.id,
                channel=PaymentChannel.WEB,
                idempotency_key=key or f"cli-link:{uuid.uuid4()}",
                actor=cli_actor(),
                amount=value,
            )
            expires = link.expires_at.astimezone(get_settings().zone)
            message = (
                f"payment link for {link.amount:.2f} on account {target.masked_number}, valid "
                f"until {expires:%Y-%m-%d %H:%M %Z}:\n{url}"
            )
    console.print(message)
