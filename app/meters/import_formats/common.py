"""Parts every read format shares: the report, register lookup and storing register reads.

A register read is stored once per register and ``read_key``. A second read with the
same key and value counts as a duplicate. One with another value is a
``duplicate-conflict``: the first value received stays (the earlier line of the file,
or the read already stored), and the other row is kept for review with a reason that
starts with ``duplicate-conflict:``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates
from app.meters.models import (
    Meter,
    Read,
    ReadQuality,
    ReadStatus,
    ReadType,
    Register,
    read_key,
)
from metering.types import ReadFileError, RegisterRead, RowError

#: Rows per ``IN (...)`` query.
BATCH = 1000

#: The start of the reason of a row whose value differs from a read already received.
DUPLICATE_CONFLICT = "duplicate-conflict"


class ReadFormat(enum.StrEnum):
    CSV = "csv"
    INTERVAL = "interval"
    GREENBUTTON = "greenbutton"
    BEACON = "beacon"
    WMBUS = "wmbus"
    MAPPED = "mapped"


@dataclass
class ImportReport:
    import_id: int
    filename: str
    file_format: ReadFormat
    already_imported: bool
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: Registers that received new register reads, for ``after_store.reads_stored``.
    register_ids: set[int] = field(default_factory=set)
    #: Registers that received new interval reads.
    interval_register_ids: set[int] = field(default_factory=set)
    #: The first and last start of the intervals of each of those registers in the file.
    interval_spans: dict[int, tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisterTarget:
    """A register found for a read: its id, unit and meter."""

    register_id: int
    unit: str
    meter_id: int


@dataclass(frozen=True)
class RegisterValue:
    """A parsed read resolved to its register, with the value in the register's unit."""

    read: RegisterRead
    register_id: int
    value: Decimal
    raw: str


def decode_text(content: bytes, kind: str = "CSV") -> str:
    """Return the file as text, or raise ``ReadFileError`` when it is not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadFileError(
            f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8 {kind}"
        ) from exc


def registers_for(
    session: Session, serials: Iterable[str], *, interval: bool | None = None
) -> dict[tuple[str, str], RegisterTarget]:
    """Return the registers of the meters ``serials`` by (serial, register code).

    ``interval`` limits the result to interval registers (True) or to the others (False).
    """
    unique_serials = sorted(set(serials))
    found: dict[tuple[str, str], RegisterTarget] = {}
    for start in range(0, len(unique_serials), BATCH):
        query = (
            select(Meter.serial, Register.code, Register.id, Register.unit, Meter.id)
            .join(Register, Register.meter_id == Meter.id)
            .where(Meter.serial.in_(unique_serials[start : start + BATCH]))
        )
        if interval is not None:
            query = query.where(Register.interval.is_(interval))
        for serial, code, register_id, unit, meter_id in session.execute(query):
            found[(serial, code)] = RegisterTarget(register_id, unit, meter_id)
    return found


def register_row_error(read: RegisterRead, reason: str) -> RowError:
    return RowError(read.line_number, f"{read.meter_serial},{read.register},{read.value}", reason)


def resolve_register_reads(
    session: Session, reads: Sequence[RegisterRead], report: ImportReport, fix: str
) -> list[RegisterValue]:
    """Return ``reads`` on known registers in the register's unit; keep the rest as errors.

    ``fix`` names what to correct in the file, such as "the meter column".
    """
    registers = registers_for(session, (read.meter_serial for read in reads), interval=False)
    values: list[RegisterValue] = []
    for read in reads:
        target = registers.get((read.meter_serial, read.register))
        if target is None:
            reason = (
                f"meter {read.meter_serial!r} register {read.register!r} not found; correct "
                f"{fix}, or have the meter added, then import the file again"
            )
        elif read.unit != target.unit:
            reason = (
                f"unit {read.unit!r} does not match the register's unit {target.unit!r} for "
                f"meter {read.meter_serial} register {read.register}; correct the unit in "
                "the file"
            )
        else:
            raw = f"{read.meter_serial},{read.register},{read.value}"
            values.append(RegisterValue(read, target.register_id, read.value, raw))
            continue
        report.errors.append(register_row_error(read, reason))
    return values


def store_register_reads(
    session: Session,
    import_id: int,
    values: Sequence[RegisterValue],
    report: ImportReport,
) -> None:
    """Store ``values`` in file order; count duplicates and keep conflicts for review."""
    rows: dict[tuple[int, str], tuple[RegisterValue, dict[str, Any]]] = {}
    now = dt.datetime.now(dt.UTC)
    for item in values:
        read = item.read
        key = read_key(read.read_date, read.read_at)
        earlier = rows.get((item.register_id, key))
        if earlier is not None:
            if earlier[0].value == item.value:
                report.rows_duplicate += 1
            else:
                report.errors.append(
                    RowError(
                        read.line_number,
                        item.raw,
                        (
                            f"{DUPLICATE_CONFLICT}: value {item.value} differs from "
                            f"{earlier[0].value} on line {earlier[0].read.line_number} for "
                            f"meter {read.meter_serial} register {read.register} at {key}; "
                            "the first is kept, correct the other"
                        ),
                    )
                )
            continue
        rows[(item.register_id, key)] = (
            item,
            {
                "register_id": item.register_id,
                "read_key": key,
                "read_date": read.read_date,
                "read_at": read.read_at,
                "value": item.value,
                "read_type": ReadType(read.read_type.value),
                "quality": ReadQuality.GOOD,
                # Validation in after_store.reads_stored decides whether it is valid or held.
                "status": ReadStatus.PENDING,
                "source": read.source[:40],
                "import_id": import_id,
                "created_at": now,
            },
        )

    existing = _existing_reads(session, list(rows))
    new_rows = []
    for (register_id, key), (item, row) in rows.items():
        stored = existing.get((register_id, key))
        if stored is None:
            new_rows.append(row)
            report.register_ids.add(register_id)
        elif stored == item.value:
            report.rows_duplicate += 1
        else:
            report.errors.append(
                RowError(
                    item.read.line_number,
                    item.raw,
                    (
                        f"{DUPLICATE_CONFLICT}: conflicts with the stored read of {stored} "
                        f"for meter {item.read.meter_serial} at {key}; the stored read is "
                        "kept, correct one of them"
                    ),
                )
            )
    stored_count = insert_ignoring_duplicates(session, Read, new_rows, ["register_id", "read_key"])
    # A concurrent import may have stored some of the same reads since the lookup above.
    report.rows_duplicate += len(new_rows) - stored_count
    report.rows_stored += stored_count


def _existing_reads(
    session: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], Decimal]:
    wanted = set(keys)
    existing: dict[tuple[int, str], Decimal] = {}
    register_ids = sorted({register_id for register_id, _key in keys})
    for start in range(0, len(register_ids), BATCH):
        chunk = register_ids[start : start + BATCH]
        rows = session.execute(
            select(Read.register_id, Read.read_key, Read.value).where(Read.register_id.in_(chunk))
        )
        for register_id, key, value in rows:
            if (register_id, key) in wanted:
                existing[(register_id, key)] = value
    return existing
