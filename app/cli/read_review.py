"""``upm reads held|accept|edit|reject|validate``: review the reads validation held.

The ``upm reads`` group is shared with the estimation commands, so ``add_review_commands``
adds these commands to it.
"""

from __future__ import annotations

import typer
from rich.table import Table

from app.audit.service import cli_actor
from app.cli.common import clear_errors, console, count_of
from app.db import session_scope

REASON_HELP = "Why the read is changed, stored in the audit log. Required."


def held_command(
    limit: int = typer.Option(200, min=1, help="Most held reads to list, oldest first."),
) -> None:
    """List held reads with the codes of the rules they failed."""
    from app.meters.editing import list_held_reads

    with clear_errors(), session_scope() as session:
        rows = list_held_reads(session, limit=limit)
    if not rows:
        console.print("No held reads.")
        return
    table = Table("read", "meter", "date", "value", "findings")
    for row in rows:
        pairs = zip(row.codes, row.details, strict=True)
        findings = [f"{code}: {detail}" for code, detail in pairs]
        table.add_row(
            str(row.read_id),
            f"{row.meter_serial}/{row.register_code}",
            row.read_date.isoformat(),
            f"{row.value.normalize():f} {row.unit}",
            "\n".join(findings) or "(no open finding)",
        )
    console.print(table)
    console.print(count_of(len(rows), "held read"))


def accept_command(
    read_id: int = typer.Argument(..., help="Id of the held read, from `upm reads held`."),
    reason: str = typer.Option(..., help=REASON_HELP),
) -> None:
    """Accept a held read as it is, so the next bill run uses it."""
    from app.meters.editing import accept_read

    with clear_errors(), session_scope() as session:
        read = accept_read(session, read_id, actor=cli_actor(), reason=reason)
        value = read.value
    console.print(f"read {read_id} accepted with value {value.normalize():f}")


def edit_command(
    read_id: int = typer.Argument(..., help="Id of the read to replace."),
    value: str = typer.Option(..., help="Corrected register value, as shown on the dials."),
    reason: str = typer.Option(..., help=REASON_HELP),
) -> None:
    """Replace a read's value. The old read stays on file as replaced."""
    from app.meters.editing import replace_read

    with clear_errors(), session_scope() as session:
        new = replace_read(session, read_id, value=value, actor=cli_actor(), reason=reason)
        new_id = new.id
    console.print(f"read {read_id} replaced by read {new_id} with value {value}")


def reject_command(
    read_id: int = typer.Argument(..., help="Id of the read to reject."),
    reason: str = typer.Option(..., help=REASON_HELP),
) -> None:
    """Reject a read with no replacement. It stays on file and is never billed."""
    from app.meters.editing import reject_read

    with clear_errors(), session_scope() as session:
        reject_read(session, read_id, actor=cli_actor(), reason=reason)
    console.print(f"read {read_id} rejected")


def validate_command() -> None:
    """Validate every pending read now (importers and the poller do this as they store)."""
    from app.meters.validation import validate_reads

    with clear_errors(), session_scope() as session:
        summary = validate_reads(session)
    console.print(
        f"{count_of(summary.validated, 'read')} validated, "
        f"{count_of(len(summary.held_read_ids), 'read')} held, "
        f"{count_of(summary.findings, 'finding')} recorded"
    )


def add_review_commands(group: typer.Typer) -> None:
    """Add the held-read review commands to the ``upm reads`` group."""
    group.command("held")(held_command)
    group.command("accept")(accept_command)
    group.command("edit")(edit_command)
    group.command("reject")(reject_command)
    group.command("validate")(validate_command)
