"""Alerts for a new leak, burst, meter-flag or high-usage episode, sent once each.

The customer hears by text or by e-mail, one or the other:

- a text (``usage_alert``) to every verified phone when at least one of them takes
  alerts (has not opted out of the alerts program);
- otherwise an e-mail to every verified e-mail address of the account;
- backflow goes to staff only, because the utility's cross-connection staff act on it
  and the customer has nothing to check.

Staff get a ``LEAK_DETECTED`` or ``HIGH_USAGE_DETECTED`` alert from a Celery task after
the commit. With ``UPM_LEAK_WORK_ORDERS`` on, a major or critical leak, burst or meter
flag also opens a leak-investigation work order at the premise. When an order of that
type and any priority is already open there, the episode names that order instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from celery import shared_task
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.alerts import HIGH_USAGE_DETECTED, LEAK_DETECTED, raise_alert
from app.bulk import matching
from app.db import session_scope
from app.messaging.after_commit import apply_after_commit
from app.messaging.alerts import UsageAlertKind, account_phones, usage_alert
from app.messaging.consent import is_opted_out
from app.messaging.email import email_account
from app.messaging.models import Program
from app.meters.leak_models import LeakEpisode
from app.meters.models import MeterInstallation
from app.premises.models import Premise, ServiceAgreement
from app.settings import get_settings
from app.work_orders.models import Priority, WorkOrderType
from app.work_orders.reports import lock_location, open_order_at
from app.work_orders.service import Actor, create_order
from metering.leaks import FindingKind, Severity

log = logging.getLogger(__name__)

STAFF_ALERT_TASK = "meters.leak_staff_alert"

#: The e-mail template of each kind the customer hears about.
EMAIL_TEMPLATES = {
    FindingKind.LEAK: "leak",
    FindingKind.METER_LEAK: "leak",
    FindingKind.BURST: "burst",
    FindingKind.METER_BURST: "burst",
    FindingKind.HIGH_USAGE: "high_usage",
}

#: The name of each kind in staff alerts and work orders.
KIND_LABELS = {
    FindingKind.LEAK: "continuous flow",
    FindingKind.BURST: "burst",
    FindingKind.METER_LEAK: "leak flag from the meter",
    FindingKind.METER_BURST: "burst flag from the meter",
    FindingKind.BACKFLOW: "backflow flag from the meter",
    FindingKind.HIGH_USAGE: "high usage",
}


def service_locations(
    session: Session, meter_ids: Collection[int], now: dt.datetime
) -> dict[int, tuple[int, int | None]]:
    """Return the (premise id, account id) each meter serves on the local date of ``now``.

    The account is the one whose service agreement of the meter's service is in effect
    at the premise that day; None when the premise has no such agreement (vacant).
    """
    day = now.astimezone(get_settings().zone).date()
    found: dict[int, tuple[int, int | None]] = {}
    for clause in matching(session, MeterInstallation.meter_id, sorted(meter_ids)):
        rows = session.execute(
            select(
                MeterInstallation.meter_id,
                MeterInstallation.premise_id,
                ServiceAgreement.account_id,
            )
            .outerjoin(
                ServiceAgreement,
                (ServiceAgreement.premise_id == MeterInstallation.premise_id)
                & (ServiceAgreement.service == MeterInstallation.service)
                & (ServiceAgreement.start_date <= day)
                & or_(ServiceAgreement.end_date.is_(None), ServiceAgreement.end_date > day),
            )
            .where(
                clause,
                MeterInstallation.installed_on <= day,
                or_(MeterInstallation.removed_on.is_(None), MeterInstallation.removed_on > day),
            )
            .order_by(MeterInstallation.meter_id, ServiceAgreement.id)
        )
        for meter_id, premise_id, account_id in rows:
            found.setdefault(meter_id, (premise_id, account_id))
    return found


def store_and_alert(
    session: Session,
    episodes: Sequence[LeakEpisode],
    meter_of_register: Mapping[int, int],
    *,
    now: dt.datetime,
    alert_after: dt.datetime | None = None,
) -> int:
    """Add new episodes with the premise and account of their meters; alert them.

    An episode whose last hour ended before ``alert_after`` is stored without an alert.
    Returns how many episodes were alerted.
    """
    if not episodes:
        return 0
    locations = service_locations(
        session, {meter_of_register[e.register_id] for e in episodes}, now
    )
    for episode in episodes:
        location = locations.get(meter_of_register[episode.register_id])
        if location is not None:
            episode.premise_id, episode.account_id = location
        session.add(episode)
    session.flush()
    alerted = 0
    for episode in episodes:
        if alert_after is None or episode.last_seen_at >= alert_after:
            alert_episode(
                session, episode, meter_id=meter_of_register[episode.register_id], now=now
            )
            alerted += 1
    return alerted


def alert_episode(
    session: Session, episode: LeakEpisode, *, meter_id: int | None, now: dt.datetime
) -> None:
    """Queue the customer and staff alerts of a new episode, and its work order.

    Does nothing for an episode already alerted, so each episode alerts once.
    """
    if episode.alerted_at is not None:
        return
    episode.alerted_at = now
    kind = FindingKind(episode.kind)
    if episode.account_id is not None and kind != FindingKind.BACKFLOW:
        _alert_customer(session, episode, kind, now)
    if get_settings().leak_work_orders and _needs_work_order(episode, kind):
        _open_work_order(session, episode, kind, meter_id, now)
    apply_after_commit(session, STAFF_ALERT_TASK, [episode.id])


def _alert_customer(
    session: Session, episode: LeakEpisode, kind: FindingKind, now: dt.datetime
) -> None:
    assert episode.account_id is not None
    key = f"leak_episode:{episode.id}"
    since = episode.started_at.astimezone(get_settings().zone).date()
    if _texts_alerts(session, episode.account_id):
        usage_alert(
            session,
            account_id=episode.account_id,
            kind=UsageAlertKind.HIGH_USAGE
            if kind == FindingKind.HIGH_USAGE
            else UsageAlertKind.LEAK,
            quantity=_display_quantity(episode),
            unit=episode.unit,
            since=since,
            idempotency_key=key,
            now=now,
        )
        return
    account = session.get(Account, episode.account_id)
    assert account is not None
    email_account(
        session,
        account_id=episode.account_id,
        template=EMAIL_TEMPLATES[kind],
        key=key,
        last4=account.number[-4:],
        since=since,
        quantity=_display_quantity(episode),
        unit=episode.unit,
    )


def _texts_alerts(session: Session, account_id: int) -> bool:
    """Return True when a verified phone of the account takes alert texts."""
    phones = account_phones(session, [account_id]).get(account_id)
    if phones is None:
        return False
    return any(not is_opted_out(session, phone, Program.ALERTS) for _, phone in phones.phones)


def _display_quantity(episode: LeakEpisode) -> Decimal:
    """Round the quantity for the customer: whole units from 10 up, else two decimals."""
    if episode.quantity >= 10:
        return episode.quantity.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return episode.quantity.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def plain_quantity(quantity: Decimal) -> str:
    """Write a quantity without trailing zeros or an exponent, such as 60 or 12.5."""
    return f"{quantity.normalize():f}"


def _needs_work_order(episode: LeakEpisode, kind: FindingKind) -> bool:
    return kind != FindingKind.HIGH_USAGE and episode.severity in (
        Severity.MAJOR.value,
        Severity.CRITICAL.value,
    )


def _open_work_order(
    session: Session,
    episode: LeakEpisode,
    kind: FindingKind,
    meter_id: int | None,
    now: dt.datetime,
) -> None:
    if episode.premise_id is None and episode.account_id is None:
        log.warning("leak episode %s: no premise or account, so no work order", episode.id)
        return
    lock_location(session, episode.account_id, episode.premise_id)
    order = open_order_at(
        session,
        type=WorkOrderType.LEAK_INVESTIGATION,
        priority=None,
        account_id=episode.account_id,
        premise_id=episode.premise_id,
    )
    if order is None:
        order = create_order(
            session,
            type=WorkOrderType.LEAK_INVESTIGATION,
            priority=Priority.EMERGENCY
            if episode.severity == Severity.CRITICAL.value
            else Priority.URGENT,
            actor=Actor("leak-detection"),
            idempotency_key=f"leak_episode:{episode.id}",
            account_id=episode.account_id,
            premise_id=episode.premise_id,
            meter_id=meter_id,
            notes=(
                f"Meter data: {KIND_LABELS[kind]} ({episode.severity}) since "
                f"{episode.started_at.isoformat()}, "
                f"{plain_quantity(episode.quantity)} {episode.unit} so far."
            ),
            now=now,
        )
    else:
        log.info("leak episode %s names open work order %s", episode.id, order.number)
    episode.work_order_id = order.id


@shared_task(name=STAFF_ALERT_TASK)
def staff_alert(episode_id: int) -> str:
    """Tell staff about a new episode: kind, severity, use, premise and account."""
    with session_scope() as session:
        episode = session.get(LeakEpisode, episode_id)
        if episode is None:
            log.warning("leak staff alert: episode %s not found", episode_id)
            return "missing"
        kind = FindingKind(episode.kind)
        premise = session.get(Premise, episode.premise_id) if episode.premise_id else None
        account = session.get(Account, episode.account_id) if episode.account_id else None
        place = premise.address if premise is not None else "no premise on file"
        account_label = account.masked_number if account is not None else "none"
        order = f", work order id {episode.work_order_id}" if episode.work_order_id else ""
        zone = get_settings().zone
        message = (
            f"{KIND_LABELS[kind].capitalize()} ({episode.severity}) on register "
            f"{episode.register_id} since {episode.started_at.astimezone(zone):%Y-%m-%d %H:%M %Z}: "
            f"{plain_quantity(episode.quantity)} {episode.unit} at {place}, account {account_label}"
            f"{order}."
        )
    raise_alert(HIGH_USAGE_DETECTED if kind == FindingKind.HIGH_USAGE else LEAK_DETECTED, message)
    return "alerted"
