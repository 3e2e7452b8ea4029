"""Start and stop service, and what completing a field order changes in billing.

Every channel calls ``start_service`` and ``stop_service``, and the completion hooks
below run from ``service.complete`` whichever channel completes the order:

- a turn-on stores the opening read, and the agreement starts on that read's date;
- a turn-off stores the final read, the agreement ends on that read's date, the account
  gets its final bill, and an account with no other open agreement is closed;
- a meter changeout, install or removal moves the meters' installations (which is how
  the bill run finds the meter serving an agreement) and stores their reads.

Service starts and ends on the read dates because the meter turned on and off then, so
the bill run finds an opening or closing read exactly at the agreement's boundary.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Account, AccountStatus
from app.billing.periods import parse_period
from app.billing.run import bill_account
from app.errors import Conflict, InvalidInput, NotFound
from app.meters.models import Meter, MeterInstallation, MeterStockStatus, ReadType
from app.premises.models import Premise, ServiceAgreement, ServiceType
from app.settings import get_settings
from app.tariffs.models import Tariff
from app.work_orders import inventory
from app.work_orders.hooks import Completion, on_complete
from app.work_orders.models import Priority, WorkOrder, WorkOrderType
from app.work_orders.service import Actor, create_order

log = logging.getLogger(__name__)

T = WorkOrderType


def start_service(
    session: Session,
    *,
    account_id: int,
    premise_id: int,
    service: str,
    tariff_id: int,
    start_date: dt.date,
    actor: Actor,
    idempotency_key: str,
) -> tuple[ServiceAgreement, WorkOrder]:
    """Create the service agreement and its turn-on order, once per idempotency key."""
    existing = _order_by_key(session, f"{idempotency_key}:turn_on")
    if existing is not None and existing.service_agreement_id is not None:
        return session.get_one(ServiceAgreement, existing.service_agreement_id), existing

    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} not found", code="account_not_found")
    if session.get(Premise, premise_id) is None:
        raise NotFound(f"premise {premise_id} not found", code="premise_not_found")
    kind = _service_type(service)
    tariff = session.get(Tariff, tariff_id)
    if tariff is None:
        raise NotFound(f"tariff {tariff_id} not found", code="tariff_not_found")
    if tariff.service != kind.value:
        raise InvalidInput(
            f"tariff {tariff.code} is for {tariff.service} service, not {kind.value}; "
            "choose a tariff of that service",
            code="tariff_wrong_service",
        )
    overlapping = session.scalar(
        select(ServiceAgreement).where(
            ServiceAgreement.premise_id == premise_id,
            ServiceAgreement.service == kind,
            or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > start_date),
        )
    )
    if overlapping is not None:
        raise Conflict(
            f"premise {premise_id} already has {kind.value} service under agreement "
            f"{overlapping.id}; stop that service first",
            code="service_already_active",
        )

    meter = _installed_meter(session, premise_id, kind.value)
    order = create_order(
        session,
        type=T.TURN_ON,
        priority=Priority.ROUTINE,
        actor=actor,
        idempotency_key=f"{idempotency_key}:turn_on",
        account_id=account_id,
        premise_id=premise_id,
        meter_id=meter.id if meter else None,
        notes=f"Start {kind.value} service on {start_date}",
    )
    agreement = ServiceAgreement(
        account_id=account_id,
        premise_id=premise_id,
        service=kind,
        tariff_id=tariff_id,
        start_date=start_date,
    )
    session.add(agreement)
    session.flush()
    order.service_agreement_id = agreement.id
    if account.status == AccountStatus.CLOSED:
        account.status = AccountStatus.ACTIVE
        account.closed_on = None
    session.flush()
    log.info("service agreement %s started, turn-on order %s", agreement.id, order.number)
    return agreement, order


def stop_service(
    session: Session,
    *,
    agreement_id: int,
    end_date: dt.date,
    actor: Actor,
    idempotency_key: str,
) -> WorkOrder:
    """Set the agreement's end date and create its turn-off (final read) order, once per key."""
    existing = _order_by_key(session, f"{idempotency_key}:turn_off")
    if existing is not None:
        return existing
    agreement = session.get(ServiceAgreement, agreement_id)
    if agreement is None:
        raise NotFound(f"service agreement {agreement_id} not found",
                       code="agreement_not_found")
    if agreement.end_date is not None and agreement.end_date != end_date:
        raise Conflict(
            f"service agreement {agreement_id} already ends on {agreement.end_date}",
            code="agreement_already_ending",
        )
    if end_date <= agreement.start_date:
        raise InvalidInput(
            f"end date {end_date} must be after the agreement's start date "
            f"{agreement.start_date}",
            code="end_before_start",
        )
    meter = _installed_meter(session, agreement.premise_id, str(agreement.service))
    order = create_order(
        session,
        type=T.TURN_OFF,
        priority=Priority.ROUTINE,
        actor=actor,
        idempotency_key=f"{idempotency_key}:turn_off",
        account_id=agreement.account_id,
        premise_id=agreement.premise_id,
        service_agreement_id=agreement.id,
        meter_id=meter.id if meter else None,
        notes=f"Final read; stop {str(agreement.service)} service on {end_date}",
    )
    agreement.end_date = end_date
    session.flush()
    return order


@on_complete(T.TURN_ON)
def _turn_on(session: Session, order: WorkOrder, completion: Completion) -> None:
    day = completion.local_date
    agreement = _agreement_of(session, order)
    if agreement is not None and agreement.end_date is not None and agreement.end_date <= day:
        raise Conflict(
            f"service agreement {agreement.id} ends on {agreement.end_date}; a turn-on read "
            f"on {day} is too late",
            code="turn_on_after_end",
        )
    meter = _order_meter(session, order, agreement)
    if meter is not None:
        inventory.record_field_read(
            session, meter, value=Decimal(completion.capture["read"]), on=day,
            at=completion.completed_at,
        )
    if agreement is not None:
        agreement.start_date = day


@on_complete(T.TURN_OFF)
def _turn_off(session: Session, order: WorkOrder, completion: Completion) -> None:
    day = completion.local_date
    agreement = _agreement_of(session, order)
    if agreement is not None and day <= agreement.start_date:
        raise Conflict(
            f"service agreement {agreement.id} starts on {agreement.start_date}; a final read "
            f"on {day} must be later",
            code="final_read_before_start",
        )
    meter = _order_meter(session, order, agreement)
    if meter is not None:
        inventory.record_field_read(
            session, meter, value=Decimal(completion.capture["read"]), on=day,
            at=completion.completed_at, read_type=ReadType.FINAL,
        )
    if agreement is None:
        return
    agreement.end_date = day
    session.flush()
    _final_bill(session, agreement, completion.actor)


def _final_bill(session: Session, agreement: ServiceAgreement, actor: Actor) -> None:
    """Bill the month of the last day of service and close an account with nothing open."""
    assert agreement.end_date is not None
    settings = get_settings()
    last_day = agreement.end_date - dt.timedelta(days=1)
    period = parse_period(f"{last_day:%Y-%m}")
    premise = session.get_one(Premise, agreement.premise_id)
    # NOTE: only the month of the last day is billed here. An earlier month that the
    # cycle's own run has not billed yet is billed by that run, as for any account.
    bill = bill_account(
        session,
        account_id=agreement.account_id,
        cycle_id=premise.cycle_id,
        period=period,
        actor=actor.label,
        zone=settings.zone,
        due_days=settings.bill_due_days,
        bill_date=max(agreement.end_date, settings.today()),
    )
    if bill is None:
        log.warning(
            "final bill of account %s for %s not made; see the bill run's exceptions",
            agreement.account_id, period.label,
        )
    still_open = session.scalar(
        select(ServiceAgreement.id).where(
            ServiceAgreement.account_id == agreement.account_id,
            ServiceAgreement.id != agreement.id,
            or_(
                ServiceAgreement.end_date.is_(None),
                ServiceAgreement.end_date > agreement.end_date,
            ),
        )
    )
    if still_open is None:
        account = session.get_one(Account, agreement.account_id)
        account.status = AccountStatus.CLOSED
        account.closed_on = agreement.end_date


@on_complete(T.METER_CHANGEOUT)
def _changeout(session: Session, order: WorkOrder, completion: Completion) -> None:
    premise_id = _premise_of(order)
    day = completion.local_date
    old = inventory.meter_by_serial(session, completion.capture["old_serial"])
    new = inventory.meter_by_serial(session, completion.capture["new_serial"])
    if old.id == new.id:
        raise InvalidInput(f"old and new meter are both {old.serial}; give two serials",
                           code="same_meter")
    if new.service != old.service:
        raise InvalidInput(
            f"meter {new.serial} measures {new.service}, but meter {old.serial} measures "
            f"{old.service}",
            code="meter_wrong_service",
        )
    _check_removable(session, old, premise_id, day)
    _check_installable(session, new)
    inventory.remove_meter(session, old, premise_id=premise_id, on=day)
    inventory.install_meter(session, new, premise_id=premise_id, on=day)
    inventory.record_field_read(session, old, value=Decimal(completion.capture["old_read"]),
                                on=day, at=completion.completed_at)
    inventory.record_field_read(session, new, value=Decimal(completion.capture["new_read"]),
                                on=day, at=completion.completed_at)
    log.info("work order %s: meter %s replaced by %s at premise %s on %s",
             order.number, old.serial, new.serial, premise_id, day)


@on_complete(T.METER_INSTALL)
def _install(session: Session, order: WorkOrder, completion: Completion) -> None:
    premise_id = _premise_of(order)
    day = completion.local_date
    new = inventory.meter_by_serial(session, completion.capture["new_serial"])
    _check_installable(session, new)
    present = _installed_meter(session, premise_id, new.service)
    if present is not None:
        raise Conflict(
            f"meter {present.serial} already measures {new.service} at premise {premise_id}; "
            "use a meter changeout order",
            code="premise_has_meter",
        )
    inventory.install_meter(session, new, premise_id=premise_id, on=day)
    inventory.record_field_read(session, new, value=Decimal(completion.capture["new_read"]),
                                on=day, at=completion.completed_at)


@on_complete(T.METER_REMOVE)
def _remove(session: Session, order: WorkOrder, completion: Completion) -> None:
    premise_id = _premise_of(order)
    day = completion.local_date
    old = inventory.meter_by_serial(session, completion.capture["old_serial"])
    _check_removable(session, old, premise_id, day)
    inventory.remove_meter(session, old, premise_id=premise_id, on=day)
    inventory.record_field_read(session, old, value=Decimal(completion.capture["old_read"]),
                                on=day, at=completion.completed_at)


def _check_removable(session: Session, meter: Meter, premise_id: int, day: dt.date) -> None:
    current = inventory.open_installation(session, meter)
    if current is None or current.premise_id != premise_id:
        raise Conflict(
            f"meter {meter.serial} is not installed at premise {premise_id}; check the serial",
            code="meter_not_at_premise",
        )
    if day <= current.installed_on:
        raise InvalidInput(
            f"meter {meter.serial} was installed on {current.installed_on}; it cannot be "
            f"removed on {day}",
            code="meter_removed_before_installed",
        )
    _check_has_register(session, meter)


def _check_installable(session: Session, meter: Meter) -> None:
    if meter.stock_status == MeterStockStatus.RETIRED:
        raise Conflict(f"meter {meter.serial} is retired and cannot be installed",
                       code="meter_retired")
    current = inventory.open_installation(session, meter)
    if current is not None:
        raise Conflict(
            f"meter {meter.serial} is already installed at premise {current.premise_id}; "
            "remove it there first",
            code="meter_installed",
        )
    _check_has_register(session, meter)


def _check_has_register(session: Session, meter: Meter) -> None:
    if not any(not register.interval for register in meter.registers):
        raise Conflict(
            f"meter {meter.serial} has no consumption register to store the read on; add one",
            code="no_register",
        )


def _premise_of(order: WorkOrder) -> int:
    if order.premise_id is None:
        raise InvalidInput(f"work order {order.number} names no premise for the meter",
                           code="work_order_no_premise")
    return order.premise_id


def _agreement_of(session: Session, order: WorkOrder) -> ServiceAgreement | None:
    if order.service_agreement_id is None:
        return None
    return session.get(ServiceAgreement, order.service_agreement_id)


def _order_meter(
    session: Session, order: WorkOrder, agreement: ServiceAgreement | None
) -> Meter | None:
    """Return the order's meter, or the meter serving the agreement's premise and service."""
    if order.meter_id is not None:
        return session.get(Meter, order.meter_id)
    if agreement is not None:
        return _installed_meter(session, agreement.premise_id, str(agreement.service))
    return None


def _installed_meter(session: Session, premise_id: int, service: str) -> Meter | None:
    return session.scalar(
        select(Meter)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .where(
            MeterInstallation.premise_id == premise_id,
            MeterInstallation.service == service,
            MeterInstallation.removed_on.is_(None),
        )
        .order_by(MeterInstallation.installed_on.desc())
        .limit(1)
    )


def _order_by_key(session: Session, key: str) -> WorkOrder | None:
    return session.scalar(select(WorkOrder).where(WorkOrder.idempotency_key == key))


def _service_type(service: str) -> ServiceType:
    try:
        return ServiceType(service.strip().lower())
    except ValueError:
        names = ", ".join(kind.value for kind in ServiceType)
        raise InvalidInput(f"service {service!r} is not one of {names}",
                           code="service_unknown") from None
