"""Gas heat factors: therms per CCF, in effect for a service (and optionally a cycle).

A gas register counts volume (CCF) but a gas tariff may price therms. The factor that
converts one to the other comes from the gas supplier's heat content and changes from
month to month, so it is kept with effective dates. A cycle's own factor takes precedence
over the service-wide one. A day without any factor is never billed as 1.0 therm per CCF:
the bill run lists the account as an exception that names the missing factor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.audit.service import record
from app.billing.models import BillingCycle
from app.billing.usage import BillingProblem
from app.db import Base, Quantity, UTCDateTime, utcnow
from app.errors import InvalidInput, NotFound

#: Natural gas carries roughly 1.0 to 1.1 therms per CCF; outside this range a value is
#: taken for a typing error (such as 103.7 for 1.037) and rejected.
MIN_THERMS_PER_CCF = Decimal("0.5")
MAX_THERMS_PER_CCF = Decimal("2.0")


class HeatFactor(Base):
    """Therms per CCF for a service from ``effective_from`` until ``effective_to``.

    ``cycle_id`` NULL means every cycle. ``effective_to`` is exclusive; NULL means open-ended.
    """

    __tablename__ = "heat_factors"
    __table_args__ = (UniqueConstraint("service", "cycle_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(20))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("billing_cycles.id"))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    therms_per_ccf: Mapped[Decimal] = mapped_column(Quantity())
    set_by: Mapped[str] = mapped_column(String(80))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class HeatFactorRow:
    cycle_id: int | None
    effective_from: dt.date
    effective_to: dt.date | None
    therms_per_ccf: Decimal

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


def set_heat_factor(
    session: Session,
    *,
    actor: str,
    therms_per_ccf: Decimal,
    effective_from: dt.date,
    effective_to: dt.date | None = None,
    cycle_code: str | None = None,
    service: str = "gas",
) -> HeatFactor:
    """Store a heat factor, or change the one with the same service, cycle and start date.

    The change is audited with the old and new values.
    """
    if not MIN_THERMS_PER_CCF <= therms_per_ccf <= MAX_THERMS_PER_CCF:
        raise InvalidInput(
            f"heat factor {therms_per_ccf} therms per CCF is outside {MIN_THERMS_PER_CCF} to "
            f"{MAX_THERMS_PER_CCF}; enter therms per CCF, for example 1.037",
            code="invalid_heat_factor",
        )
    if effective_to is not None and effective_to <= effective_from:
        raise InvalidInput(
            f"heat factor ends on {effective_to}, not after its start {effective_from}; "
            "give an end date after the start or none",
            code="invalid_heat_factor",
        )
    cycle_id = None
    if cycle_code is not None:
        cycle_id = session.scalar(select(BillingCycle.id).where(BillingCycle.code == cycle_code))
        if cycle_id is None:
            raise NotFound(f"billing cycle {cycle_code!r} not found", code="cycle_not_found")
    factor = session.scalar(
        select(HeatFactor).where(
            HeatFactor.service == service,
            HeatFactor.cycle_id.is_(None) if cycle_id is None else HeatFactor.cycle_id == cycle_id,
            HeatFactor.effective_from == effective_from,
        )
    )
    previous = None if factor is None else str(factor.therms_per_ccf)
    if factor is None:
        factor = HeatFactor(service=service, cycle_id=cycle_id, effective_from=effective_from)
        session.add(factor)
    factor.effective_to = effective_to
    factor.therms_per_ccf = therms_per_ccf
    factor.set_by = actor
    factor.set_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="heat_factor.set",
        target=f"heat_factor:{factor.id}",
        arguments={
            "service": service,
            "cycle": cycle_code,
            "effective_from": effective_from.isoformat(),
            "effective_to": effective_to.isoformat() if effective_to else None,
            "therms_per_ccf": str(therms_per_ccf),
        },
        outcome="changed" if previous is not None else "created",
        detail=None if previous is None else f"was {previous}",
    )
    return factor


def load_heat_factors(session: Session, service: str = "gas") -> list[HeatFactorRow]:
    """Return every heat factor of ``service``, oldest first."""
    rows = session.execute(
        select(
            HeatFactor.cycle_id,
            HeatFactor.effective_from,
            HeatFactor.effective_to,
            HeatFactor.therms_per_ccf,
        )
        .where(HeatFactor.service == service)
        .order_by(HeatFactor.effective_from)
    )
    return [HeatFactorRow(*row) for row in rows]


def _factor_on(rows: Sequence[HeatFactorRow], cycle_id: int, day: dt.date) -> Decimal | None:
    cycle_rows = [row for row in rows if row.cycle_id == cycle_id and row.covers(day)]
    if not cycle_rows:
        cycle_rows = [row for row in rows if row.cycle_id is None and row.covers(day)]
    if not cycle_rows:
        return None
    return max(cycle_rows, key=lambda row: row.effective_from).therms_per_ccf


def period_heat_factor(
    rows: Sequence[HeatFactorRow], *, cycle_id: int, cycle_code: str, start: dt.date, end: dt.date
) -> Decimal:
    """Return the day-weighted mean heat factor from ``start`` to ``end`` (exclusive).

    Raises BillingProblem ``no_heat_factor`` naming the first day that has no factor.
    """
    total = Decimal(0)
    days = (end - start).days
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        factor = _factor_on(rows, cycle_id, day)
        if factor is None:
            raise BillingProblem(
                f"no gas heat factor (therms per CCF) for cycle {cycle_code} on {day}, so "
                "CCF cannot be billed in therms; set one with `upm heat-factor set "
                f"--from {day} --therms-per-ccf <value>`",
                code="no_heat_factor",
            )
        total += factor
    return total / days
