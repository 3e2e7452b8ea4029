"""Billing one chunk of accounts: load their data in a few queries, rate, build rows.

Nothing here commits. The bill-run driver commits each chunk as one transaction, so a
chunk's bills, lines and journal entries land together or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from app.billing.context import RunContext, winter_months
from app.billing.models import Bill, BillMeterSegment
from app.billing.usage import (
    OPENING_READ_DAYS,
    BillingProblem,
    HeldRead,
    InstallationRow,
    ReadRow,
    RegisterRow,
    RegisterUsageResult,
    UsedSegment,
    check_held_reads,
    interval_register,
    interval_usage,
    local_midnight_utc,
    monthly_consumption,
    register_usage,
)
from app.meters.models import (
    IntervalRead,
    Meter,
    MeterInstallation,
    Read,
    ReadStatus,
    ReadType,
    Register,
)
from app.meters.validation_models import FindingSeverity, FindingStatus, ReadFinding
from app.premises.models import Premise, ServiceAgreement
from billing_engine.errors import RatingError
from billing_engine.rating import (
    IntervalUsage,
    Period,
    RegisterUsage,
    ServiceCharges,
    TariffSegment,
    rate_service,
)
from billing_engine.tariff import ConsumptionBasis
from billing_engine.tariff import Tariff as EngineTariff
from billing_engine.units import Unit, convert
from billing_engine.winter import winter_average

#: Services whose agreements bill a meter; sewer bills water usage and trash bills none.
METERED_SERVICES = ("water", "electric", "gas")
#: How far back a removed meter is still loaded, so last winter's meter is in reach.
READ_HISTORY_DAYS = 460


@dataclass(frozen=True)
class AgreementRow:
    id: int
    account_id: int
    premise_id: int
    service: str
    tariff_id: int
    start_date: dt.date
    end_date: dt.date | None


@dataclass
class AccountBill:
    """One account's rated bill before it is written."""

    account_id: int
    lines: list[tuple[AgreementRow, ServiceCharges]] = field(default_factory=list)
    segments: list[tuple[AgreementRow, UsedSegment]] = field(default_factory=list)


@dataclass
class ChunkResult:
    bills: list[AccountBill] = field(default_factory=list)
    problems: list[tuple[int, int | None, BillingProblem]] = field(default_factory=list)


@dataclass
class ChunkData:
    agreements: dict[int, list[AgreementRow]]
    installations: dict[tuple[int, str], list[InstallationRow]]
    registers: dict[int, list[RegisterRow]]
    reads: dict[int, list[ReadRow]]
    intervals: dict[int, list[tuple[dt.datetime, int, Decimal]]]
    #: Reads of the chunk's registers that validation held or has not validated.
    held: dict[int, list[HeldRead]] = field(default_factory=dict)
    #: Per agreement, the read each meter's last bill ended on (see ``register_usage``).
    billed_to: dict[int, dict[str, ReadRow]] = field(default_factory=dict)


def load_chunk(session: Session, context: RunContext, account_ids: Sequence[int]) -> ChunkData:
    """Fetch the chunk's agreements, meters, registers and reads in five queries."""
    period = context.period
    agreements: dict[int, list[AgreementRow]] = defaultdict(list)
    rows = session.execute(
        select(
            ServiceAgreement.id,
            ServiceAgreement.account_id,
            ServiceAgreement.premise_id,
            ServiceAgreement.service,
            ServiceAgreement.tariff_id,
            ServiceAgreement.start_date,
            ServiceAgreement.end_date,
        )
        .join(Premise, Premise.id == ServiceAgreement.premise_id)
        .where(
            ServiceAgreement.account_id.in_(account_ids),
            Premise.cycle_id == context.cycle_id,
            ServiceAgreement.start_date < period.end,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > period.start),
        )
        .order_by(ServiceAgreement.account_id, ServiceAgreement.id)
    )
    premise_ids: set[int] = set()
    for row in rows:
        agreement = AgreementRow(row[0], row[1], row[2], str(row[3]), row[4], row[5], row[6])
        agreements[agreement.account_id].append(agreement)
        premise_ids.add(agreement.premise_id)

    installations: dict[tuple[int, str], list[InstallationRow]] = defaultdict(list)
    meter_ids: set[int] = set()
    install_rows = session.execute(
        select(
            MeterInstallation.meter_id,
            Meter.serial,
            MeterInstallation.premise_id,
            MeterInstallation.service,
            MeterInstallation.installed_on,
            MeterInstallation.removed_on,
        )
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .where(
            MeterInstallation.premise_id.in_(premise_ids),
            MeterInstallation.installed_on < period.end,
            or_(
                MeterInstallation.removed_on.is_(None),
                MeterInstallation.removed_on > period.start - dt.timedelta(days=READ_HISTORY_DAYS),
            ),
        )
    )
    for install in install_rows:
        installation = InstallationRow(*install)
        installations[(installation.premise_id, installation.service)].append(installation)
        meter_ids.add(installation.meter_id)

    registers: dict[int, list[RegisterRow]] = defaultdict(list)
    register_rows = session.execute(
        select(
            Register.id,
            Register.meter_id,
            Register.unit,
            Register.multiplier,
            Register.dials,
            Register.interval,
        )
        .where(Register.meter_id.in_(meter_ids))
        .order_by(Register.meter_id, Register.code)
    )
    consumption_ids: list[int] = []
    interval_ids: list[int] = []
    for register_row in register_rows:
        register = RegisterRow(*register_row)
        registers[register.meter_id].append(register)
        (interval_ids if register.interval else consumption_ids).append(register.id)

    reads: dict[int, list[ReadRow]] = defaultdict(list)
    if consumption_ids:
        windows = context.read_windows(OPENING_READ_DAYS)
        read_rows = session.execute(
            select(Read.register_id, Read.read_date, Read.value, Read.read_type)
            .where(
                Read.register_id.in_(consumption_ids),
                Read.status == ReadStatus.VALID,
                or_(*(Read.read_date.between(first, last) for first, last in windows)),
            )
            # An estimate sorts before other reads of its date, so the latest read on or
            # before a date is an actual one when both are on file.
            .order_by(
                Read.register_id,
                Read.read_date,
                case((Read.read_type == ReadType.ESTIMATED, 0), else_=1),
                Read.read_key,
            )
        )
        for register_id, read_date, value, read_type in read_rows:
            reads[register_id].append(ReadRow(read_date, value, str(read_type)))

    held = _held_reads(session, context, consumption_ids)

    intervals: dict[int, list[tuple[dt.datetime, int, Decimal]]] = defaultdict(list)
    if interval_ids:
        interval_rows = session.execute(
            select(
                IntervalRead.register_id,
                IntervalRead.start_at,
                IntervalRead.seconds,
                IntervalRead.value,
            )
            .where(
                and_(
                    IntervalRead.register_id.in_(interval_ids),
                    IntervalRead.start_at >= local_midnight_utc(period.start, context.zone),
                    IntervalRead.start_at < local_midnight_utc(period.end, context.zone),
                )
            )
            .order_by(IntervalRead.register_id, IntervalRead.start_at)
        )
        for register_id, start_at, seconds, value in interval_rows:
            intervals[register_id].append((start_at, seconds, value))

    billed_to = _billed_to(session, context, [a.id for rows in agreements.values() for a in rows])
    return ChunkData(
        agreements, installations, registers, reads, intervals, held=held, billed_to=billed_to
    )


def _billed_to(
    session: Session, context: RunContext, agreement_ids: Sequence[int]
) -> dict[int, dict[str, ReadRow]]:
    """Return the end read of each agreement's and meter's latest earlier bill segment."""
    period = context.period
    billed: dict[int, dict[str, ReadRow]] = defaultdict(dict)
    if not agreement_ids:
        return billed
    rows = session.execute(
        select(
            BillMeterSegment.service_agreement_id,
            BillMeterSegment.meter_serial,
            BillMeterSegment.end_date,
            BillMeterSegment.end_value,
            BillMeterSegment.end_read_type,
        )
        .join(Bill, Bill.id == BillMeterSegment.bill_id)
        .where(
            BillMeterSegment.service_agreement_id.in_(agreement_ids),
            BillMeterSegment.end_value.is_not(None),
            BillMeterSegment.end_date.between(
                period.start - dt.timedelta(days=OPENING_READ_DAYS), period.start
            ),
            Bill.period_start < period.start,
        )
        .order_by(BillMeterSegment.end_date, BillMeterSegment.id)
    )
    for agreement_id, serial, end_date, end_value, end_read_type in rows:
        if end_value is not None:
            billed[agreement_id][serial] = ReadRow(end_date, end_value, end_read_type or "actual")
    return billed


def _held_reads(
    session: Session, context: RunContext, register_ids: Sequence[int]
) -> dict[int, list[HeldRead]]:
    """Load the held and pending reads of the read windows, with their open hold codes."""
    held: dict[int, list[HeldRead]] = defaultdict(list)
    if not register_ids:
        return held
    windows = context.read_windows(OPENING_READ_DAYS)
    rows = session.execute(
        select(Read.id, Read.register_id, Read.read_date, Read.value, Read.status)
        .where(
            Read.register_id.in_(register_ids),
            Read.status.in_([ReadStatus.HELD, ReadStatus.PENDING]),
            or_(*(Read.read_date.between(first, last) for first, last in windows)),
        )
        .order_by(Read.register_id, Read.read_date, Read.read_key)
    ).all()
    if not rows:
        return held
    codes: dict[int, list[str]] = defaultdict(list)
    finding_rows = session.execute(
        select(ReadFinding.read_id, ReadFinding.rule)
        .where(
            ReadFinding.read_id.in_([row[0] for row in rows]),
            ReadFinding.severity == FindingSeverity.HOLD,
            ReadFinding.status == FindingStatus.OPEN,
        )
        .order_by(ReadFinding.id)
    )
    for read_id, rule in finding_rows:
        if read_id is not None:
            codes[read_id].append(rule)
    for read_id, register_id, read_date, value, status in rows:
        held[register_id].append(
            HeldRead(read_id, read_date, value, str(status), tuple(codes[read_id]))
        )
    return held


def _service_window(context: RunContext, agreement: AgreementRow) -> tuple[dt.date, dt.date]:
    start = max(context.period.start, agreement.start_date)
    end = min(context.period.end, agreement.end_date or context.period.end)
    return start, end


def _metered_usage(
    context: RunContext, data: ChunkData, agreement: AgreementRow, start: dt.date, end: dt.date
) -> tuple[RegisterUsage | IntervalUsage, RegisterUsageResult | None]:
    installations = data.installations.get((agreement.premise_id, agreement.service), [])
    found = interval_register(installations, data.registers, start, end)
    if found is not None:
        installation, register = found
        intervals = interval_usage(
            serial=installation.serial,
            start=start,
            end=end,
            zone=context.zone,
            rows=data.intervals.get(register.id, []),
        )
        total = sum((interval.quantity for interval in intervals), Decimal(0))
        used = UsedSegment(
            meter_serial=installation.serial,
            start_date=start,
            start_value=None,
            end_date=end,
            end_value=None,
            consumption=total,
            unit=register.unit,
        )
        return IntervalUsage(intervals=intervals), RegisterUsageResult(
            total, register.unit, (used,)
        )
    check_held_reads(
        start=start,
        end=end,
        installations=installations,
        registers_by_meter=data.registers,
        reads_by_register=data.reads,
        held_by_register=data.held,
    )
    result = register_usage(
        service=agreement.service,
        start=start,
        end=end,
        installations=installations,
        registers_by_meter=data.registers,
        reads_by_register=data.reads,
        billed_to=data.billed_to.get(agreement.id),
    )
    return RegisterUsage(quantity=result.quantity, unit=Unit(result.unit)), result


def _winter_average_for(
    context: RunContext, data: ChunkData, water: AgreementRow, months: tuple[int, ...]
) -> Decimal | None:
    installations = data.installations.get((water.premise_id, "water"), [])
    if len(installations) != 1:
        # NOTE: a premise whose water meter changed during the winter gets no cap; the
        # per-meter monthly totals would have to be joined across the changeout.
        return None
    meter_registers = [
        r for r in data.registers.get(installations[0].meter_id, []) if not r.interval
    ]
    if not meter_registers:
        return None
    register = meter_registers[0]
    winter_keys = context.winters.get(months) or winter_months(months, context.period.start)
    monthly = monthly_consumption(data.reads.get(register.id, []), winter_keys, register)
    return winter_average(monthly, months, context.period.start)


#: Rated results kept per run; the engine is pure, so equal inputs give equal lines.
RATING_CACHE_SIZE = 50_000


def _rate(
    context: RunContext,
    tariff_id: int,
    segments: list[TariffSegment],
    nominal: Period,
    usage: RegisterUsage | IntervalUsage,
    winter: Decimal | None,
    therms_per_ccf: Decimal | None = None,
) -> ServiceCharges:
    """Rate through the engine, reusing the result for register usage seen before."""
    key = None
    if isinstance(usage, RegisterUsage):
        spans = tuple((segment.start, segment.end) for segment in segments)
        key = (tariff_id, spans, usage.quantity, usage.unit, winter, therms_per_ccf)
        cached = context.rating_cache.get(key)
        if cached is not None:
            return cached
    try:
        charges = rate_service(
            segments, nominal, usage, winter_average=winter, therms_per_ccf=therms_per_ccf
        )
    except RatingError as exc:
        raise BillingProblem(str(exc), code=exc.code) from exc
    if key is not None:
        if len(context.rating_cache) >= RATING_CACHE_SIZE:
            context.rating_cache.clear()
        context.rating_cache[key] = charges
    return charges


def _explain_winter_cap(
    tariff: EngineTariff, charges: ServiceCharges, usage: RegisterUsage, winter: Decimal | None
) -> ServiceCharges:
    """Say on each water-based line whether the winter average capped it, and at what."""
    water_based = {
        charge.code
        for charge in tariff.energy_charges
        if charge.consumption_basis == ConsumptionBasis.WATER
    }
    used = convert(usage.quantity, usage.unit, tariff.unit)
    if winter is None:
        note = "no winter average on file, all water use billed"
    else:
        average = convert(winter, usage.unit, tariff.unit)
        if usage.quantity > winter:
            note = f"capped at the winter average of {_amount(average)} {tariff.unit}"
        else:
            note = f"under the winter average of {_amount(average)} {tariff.unit}"
    note += f"; water use {_amount(used)} {tariff.unit}"
    lines = [
        dataclasses.replace(line, description=f"{line.description} ({note})")
        if line.code in water_based
        else line
        for line in charges.lines
    ]
    return ServiceCharges(lines)


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')).normalize():,f}"


def bill_accounts(context: RunContext, data: ChunkData, account_ids: Sequence[int]) -> ChunkResult:
    """Rate every agreement of each account; an account with any problem is not billed."""
    result = ChunkResult()
    nominal = Period(context.period.start, context.period.end)
    for account_id in account_ids:
        bill = AccountBill(account_id)
        water_usage: dict[int, tuple[AgreementRow, RegisterUsage]] = {}
        agreements = sorted(
            data.agreements.get(account_id, []), key=lambda a: (a.service != "water", a.id)
        )
        current: AgreementRow | None = None
        try:
            for agreement in agreements:
                current = agreement
                start, end = _service_window(context, agreement)
                segments = context.segments(agreement.tariff_id, start, end)
                tariff = segments[0].tariff
                winter = None
                usage: RegisterUsage | IntervalUsage
                if agreement.service in METERED_SERVICES:
                    usage, used = _metered_usage(context, data, agreement, start, end)
                    if used is not None:
                        bill.segments.extend((agreement, s) for s in used.segments)
                    if agreement.service == "water" and isinstance(usage, RegisterUsage):
                        water_usage[agreement.premise_id] = (agreement, usage)
                elif any(
                    charge.consumption_basis == ConsumptionBasis.WATER
                    for charge in tariff.energy_charges
                ):
                    if agreement.premise_id not in water_usage:
                        raise BillingProblem(
                            f"{agreement.service} agreement {agreement.id} bills on water use, "
                            "but the account has no metered water service at the premise",
                            code="no_water_service",
                        )
                    water, usage = water_usage[agreement.premise_id]
                    if tariff.winter_average_cap is not None:
                        winter = _winter_average_for(
                            context, data, water, tariff.winter_average_cap.months
                        )
                else:
                    usage = RegisterUsage(quantity=Decimal(0), unit=tariff.unit)
                therms_per_ccf = None
                if isinstance(usage, RegisterUsage) and Unit.THERM in (usage.unit, tariff.unit):
                    if usage.unit != tariff.unit:
                        therms_per_ccf = context.therms_per_ccf(start, end)
                charges = _rate(
                    context, agreement.tariff_id, segments, nominal, usage, winter, therms_per_ccf
                )
                if tariff.winter_average_cap is not None and isinstance(usage, RegisterUsage):
                    charges = _explain_winter_cap(tariff, charges, usage, winter)
                bill.lines.append((agreement, charges))
        except BillingProblem as problem:
            result.problems.append((account_id, current.id if current else None, problem))
            continue
        if not bill.lines:
            continue
        result.bills.append(bill)
    return result
