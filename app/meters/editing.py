"""Staff decisions on reads that validation held (the E for editing of VEE).

Staff accept a held read as it is, replace a read's value, or reject a read. Nothing is
deleted: a replaced read stays on file with status ``replaced`` and a link to its
replacement, and a rejected read stays with status ``rejected``. A reason is required,
and every decision is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.meters.models import Meter, Read, ReadStatus, ReadType, Register
from app.meters.validation_models import FindingSeverity, FindingStatus, ReadFinding

#: Source of a read entered by staff in place of another.
EDITED_SOURCE = "edited"
#: Marks an edited read's key: ``<original key>#<edit number>``.
EDIT_KEY_SEPARATOR = "#"
#: Decimal places a register value keeps (a ``Quantity`` column).
VALUE_PLACES = 6


@dataclass(frozen=True)
class HeldReadRow:
    """A held read as staff review it: its meter, value and open finding codes."""

    read_id: int
    meter_serial: str
    register_code: str
    read_date: dt.date
    read_at: dt.datetime | None
    value: Decimal
    unit: str
    codes: tuple[str, ...]
    details: tuple[str, ...]


def list_held_reads(session: Session, *, limit: int = 200) -> list[HeldReadRow]:
    """Return up to ``limit`` held reads, oldest first, with their open hold findings."""
    rows = session.execute(
        select(
            Read.id,
            Meter.serial,
            Register.code,
            Read.read_date,
            Read.read_at,
            Read.value,
            Register.unit,
        )
        .join(Register, Register.id == Read.register_id)
        .join(Meter, Meter.id == Register.meter_id)
        .where(Read.status == ReadStatus.HELD)
        .order_by(Read.read_date, Read.id)
        .limit(limit)
    ).all()
    findings: dict[int, list[tuple[str, str]]] = {row[0]: [] for row in rows}
    if rows:
        finding_rows = session.execute(
            select(ReadFinding.read_id, ReadFinding.rule, ReadFinding.detail)
            .where(
                ReadFinding.read_id.in_(list(findings)),
                ReadFinding.severity == FindingSeverity.HOLD,
                ReadFinding.status == FindingStatus.OPEN,
            )
            .order_by(ReadFinding.id)
        )
        for read_id, rule, detail in finding_rows:
            if read_id is not None:
                findings[read_id].append((rule, detail))
    return [
        HeldReadRow(
            read_id=read_id,
            meter_serial=serial,
            register_code=code,
            read_date=read_date,
            read_at=read_at,
            value=value,
            unit=unit,
            codes=tuple(rule for rule, _detail in findings[read_id]),
            details=tuple(detail for _rule, detail in findings[read_id]),
        )
        for read_id, serial, code, read_date, read_at, value, unit in rows
    ]


def _required_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "a reason is required; say why the read is accepted, edited or rejected",
            code="reason_required",
        )
    return text


def _read_for_update(session: Session, read_id: int, allowed: tuple[ReadStatus, ...]) -> Read:
    read = session.get(Read, read_id)
    if read is None:
        raise NotFound(
            f"read {read_id} not found; `upm reads held` lists held reads", code="read_not_found"
        )
    if read.status not in allowed:
        names = " or ".join(status.value for status in allowed)
        raise Conflict(
            f"read {read_id} is {read.status.value}, and only a {names} read can be changed "
            "this way",
            code="read_status",
        )
    return read


def _resolve_findings(
    session: Session, read_id: int, status: FindingStatus, actor: str, reason: str
) -> None:
    session.execute(
        update(ReadFinding)
        .where(ReadFinding.read_id == read_id, ReadFinding.status == FindingStatus.OPEN)
        .values(status=status, resolved_by=actor, resolved_at=utcnow(), reason=reason)
    )


def accept_read(session: Session, read_id: int, *, actor: str, reason: str | None) -> Read:
    """Accept a held read as it is, so it is billed, and mark its open findings accepted."""
    return _settle_read(
        session,
        read_id,
        from_statuses=(ReadStatus.HELD,),
        to_status=ReadStatus.VALID,
        finding_status=FindingStatus.ACCEPTED,
        action="reads.accept",
        outcome="accepted",
        actor=actor,
        reason=reason,
    )


def _settle_read(
    session: Session,
    read_id: int,
    *,
    from_statuses: tuple[ReadStatus, ...],
    to_status: ReadStatus,
    finding_status: FindingStatus,
    action: str,
    outcome: str,
    actor: str,
    reason: str | None,
) -> Read:
    """Move a read to ``to_status``, resolve its open findings and audit the change."""
    text = _required_reason(reason)
    read = _read_for_update(session, read_id, from_statuses)
    read.status = to_status
    _resolve_findings(session, read.id, finding_status, actor, text)
    record(
        session,
        actor=actor,
        action=action,
        target=f"read:{read.id}",
        arguments={"reason": text},
        outcome=outcome,
        detail=f"register {read.register_id} read {read.value.normalize():f} of {read.read_date}",
    )
    session.flush()
    return read


def _parse_value(value: Decimal | str) -> Decimal:
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(
            f"read value {value!r} is not a number; give the register value, e.g. 17077.963",
            code="invalid_read_value",
        ) from None
    if not parsed.is_finite() or parsed < 0:
        raise InvalidInput(
            f"read value {value} is invalid; give the register value as shown on the dials, "
            "zero or more",
            code="invalid_read_value",
        )
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > VALUE_PLACES:
        raise InvalidInput(
            f"read value {value} has more than {VALUE_PLACES} decimal places; round it",
            code="invalid_read_value",
        )
    return parsed


def replace_read(
    session: Session, read_id: int, *, value: Decimal | str, actor: str, reason: str | None
) -> Read:
    """Store ``value`` in place of a read and return the new read.

    The old read stays on file as ``replaced``, linked to the new one, and its open
    findings become overridden. The new read has the same register, date and instant,
    type and source ``edited`` and status ``valid``. Its key is the old read's natural
    key plus ``#<n>``, so importing the original file again does not bring the old value
    back.
    """
    text = _required_reason(reason)
    new_value = _parse_value(value)
    old = _read_for_update(session, read_id, (ReadStatus.HELD, ReadStatus.VALID))
    base_key = old.read_key.split(EDIT_KEY_SEPARATOR)[0]
    edits = session.scalar(
        select(func.count())
        .select_from(Read)
        .where(
            Read.register_id == old.register_id,
            Read.read_key.startswith(base_key + EDIT_KEY_SEPARATOR, autoescape=True),
        )
    )
    new = Read(
        register_id=old.register_id,
        read_key=f"{base_key}{EDIT_KEY_SEPARATOR}{(edits or 0) + 1}",
        read_date=old.read_date,
        read_at=old.read_at,
        value=new_value,
        read_type=ReadType.EDITED,
        quality=old.quality,
        source=EDITED_SOURCE,
        status=ReadStatus.VALID,
    )
    session.add(new)
    session.flush()
    old.status = ReadStatus.REPLACED
    old.replaced_by_id = new.id
    _resolve_findings(session, old.id, FindingStatus.OVERRIDDEN, actor, text)
    record(
        session,
        actor=actor,
        action="reads.edit",
        target=f"read:{old.id}",
        arguments={"value": str(new_value), "reason": text},
        outcome="replaced",
        detail=(
            f"register {old.register_id} read {old.value.normalize():f} of {old.read_date} "
            f"replaced by read {new.id} with {new_value}"
        ),
    )
    session.flush()
    return new


def reject_read(session: Session, read_id: int, *, actor: str, reason: str | None) -> Read:
    """Reject a held or valid read with no replacement. It stays on file and is never billed."""
    return _settle_read(
        session,
        read_id,
        from_statuses=(ReadStatus.HELD, ReadStatus.VALID),
        to_status=ReadStatus.REJECTED,
        finding_status=FindingStatus.OVERRIDDEN,
        action="reads.reject",
        outcome="rejected",
        actor=actor,
        reason=reason,
    )
