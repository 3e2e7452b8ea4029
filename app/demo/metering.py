"""The demo's metering day: a BEACON AMI export with a leak, and a polled Modbus meter.

Twelve households get an hourly interval register beside their monthly register. Their
AMI export for yesterday is written as a BEACON CSV and imported like any utility's
file, so the reads go through validation and leak detection. One household's toilet
runs all night: every hour shows flow, which opens a leak episode. The customer is texted
(the demo has no Twilio account, so the text waits in the outbox) and staff are alerted.
A simulated Eastron SDM120 on 127.0.0.1 is polled once through ``upm modbus``'s service.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind
from app.billing.models import Bill, BillMeterSegment
from app.messaging.consent import opt_in
from app.messaging.models import OutboundMessage, Program
from app.meters.imports import ReadFormat, import_reads
from app.meters.leak_models import LeakEpisode
from app.meters.leaks import scan_registers
from app.meters.models import Meter, MeterInstallation, Read, Register
from app.modbus.models import ModbusDevice
from app.modbus.service import add_device, poll_enabled_devices
from app.premises.models import ServiceAgreement
from app.settings import Settings

AMI_HOUSEHOLDS = 12
#: The seed gives its first 15 water accounts special cases, so AMI households start after them.
FIRST_HOUSEHOLD = 15
LEAK_PHONE = "+15550100188"
SDM_SERIAL = "SDM-0001"
SDM_DEVICE = "demo-sdm120"
BEACON_COLUMNS = ("Meter_ID", "Endpoint_SN", "Read", "Read_Unit", "Read_Time", "Flow", "Flow_Unit")


@dataclass
class MeteringDemoReport:
    ami_file: str = ""
    ami_rows: int = 0
    reads_stored: int = 0
    rows_kept: int = 0
    leak_account: str = ""
    leak_episodes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    estimated_bills: list[str] = field(default_factory=list)
    modbus: str = ""


def _plain(value: Decimal) -> str:
    """Return ``value`` without the trailing zeros of its stored scale (354.000000 -> 354)."""
    return f"{value.normalize():f}"


def metering_demo_present(session: Session) -> bool:
    return session.scalar(select(Meter.id).where(Meter.serial == SDM_SERIAL)) is not None


def _households(session: Session) -> list[tuple[int, int, str]]:
    """Return (account id, water register id, meter serial) of the AMI households."""
    rows = session.execute(
        select(ServiceAgreement.account_id, Register.id, Meter.serial)
        .join(MeterInstallation, MeterInstallation.premise_id == ServiceAgreement.premise_id)
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .join(Register, Register.meter_id == Meter.id)
        .where(
            ServiceAgreement.service == "water",
            ServiceAgreement.end_date.is_(None),
            MeterInstallation.removed_on.is_(None),
            MeterInstallation.service == "water",
            Register.interval.is_(False),
        )
        .order_by(ServiceAgreement.account_id)
        .offset(FIRST_HOUSEHOLD)
        .limit(AMI_HOUSEHOLDS)
    )
    return [(account_id, register_id, serial) for account_id, register_id, serial in rows]


def _hourly_flows(rng: random.Random, leaking: bool) -> list[Decimal]:
    """Gallons per local hour of one household's day; a leak never lets an hour reach zero."""
    flows = []
    for hour in range(24):
        if 6 <= hour <= 8 or 18 <= hour <= 21:
            gallons = rng.randint(15, 60)
        elif 0 <= hour <= 5:
            gallons = 0
        else:
            gallons = rng.choice((0, 0, 3, 8, 12))
        if leaking:
            gallons += 4
        flows.append(Decimal(gallons))
    return flows


def _register_at_start_of(session: Session, register_id: int, day: dt.date) -> Decimal:
    """Return the register at the start of ``day``, going on at its last month's daily use.

    The monthly reads stop at the billed period's end. The days between that read and
    ``day`` get the household's usual use, because otherwise validation would rightly hold
    the first AMI read as a stopped meter.
    """
    last_two = session.execute(
        select(Read.read_date, Read.value)
        .where(Read.register_id == register_id)
        .order_by(Read.read_date.desc())
        .limit(2)
    ).all()
    if not last_two:
        return Decimal(0)
    latest_date, latest = last_two[0]
    if len(last_two) < 2 or latest_date >= day:
        return latest
    earlier_date, earlier = last_two[1]
    daily = max(latest - earlier, Decimal(0)) / max((latest_date - earlier_date).days, 1)
    return latest + (daily * (day - latest_date).days).to_integral_value()


def write_ami_export(
    session: Session, households: list[tuple[int, int, str]], day: dt.date, seed: int
) -> str:
    """Return a BEACON export of ``day``: one line per meter and hour, the first one leaking."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(BEACON_COLUMNS)
    for index, (_account_id, register_id, serial) in enumerate(households):
        total = _register_at_start_of(session, register_id, day)
        for hour, flow in enumerate(_hourly_flows(rng, leaking=index == 0)):
            total += flow
            # Each line gives the register at the end of the hour and the hour's flow.
            stamp = dt.datetime.combine(day, dt.time(hour, 59)).strftime("%Y-%m-%d %H:%M")
            writer.writerow(
                (serial, f"E{serial[1:]}", f"{total}", "Gallons", stamp, f"{flow}", "Gallons")
            )
    return out.getvalue()


def _add_interval_registers(session: Session, households: list[tuple[int, int, str]]) -> None:
    for _account_id, _register_id, serial in households:
        meter_id = session.scalar(select(Meter.id).where(Meter.serial == serial))
        session.add(Register(meter_id=meter_id, code="2", unit="gal", interval=True))
    session.flush()


def _give_leak_customer_a_phone(session: Session, account_id: int) -> None:
    """Give the leaking household a verified mobile that takes alerts, unless it has one."""
    verified = session.scalar(
        select(Contact.id).where(
            Contact.account_id == account_id,
            Contact.kind == ContactKind.PHONE,
            Contact.verified.is_(True),
        )
    )
    if verified is not None:
        return
    session.add(
        Contact(
            account_id=account_id,
            kind=ContactKind.PHONE,
            value=LEAK_PHONE,
            label="mobile",
            verified=True,
            verified_at=dt.datetime.now(dt.UTC),
        )
    )
    opt_in(session, LEAK_PHONE, [Program.ALERTS], source="demo")


def seed_metering_day(
    session: Session,
    *,
    settings: Settings,
    zone: ZoneInfo,
    folder: Path,
    actor: str,
    seed: int,
) -> MeteringDemoReport:
    """Import yesterday's AMI export, scan for leaks and poll the simulated Modbus meter."""
    report = MeteringDemoReport()
    households = _households(session)
    if not households:
        return report
    leak_account_id = households[0][0]
    report.leak_account = str(
        session.scalar(select(Account.number).where(Account.id == leak_account_id))
    )
    _give_leak_customer_a_phone(session, leak_account_id)
    _add_interval_registers(session, households)

    day = dt.datetime.now(zone).date() - dt.timedelta(days=1)
    text = write_ami_export(session, households, day, seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"beacon-{day.isoformat()}.csv"
    path.write_text(text, encoding="utf-8")

    imported = import_reads(
        session,
        filename=path.name,
        content=text.encode("utf-8"),
        file_format=ReadFormat.BEACON,
        zone=zone,
        actor=actor,
    )
    report.ami_file = str(path)
    report.ami_rows = imported.rows_read
    report.reads_stored = imported.rows_stored
    report.rows_kept = len(imported.errors)

    # The import queues a scan after commit. Scanning here too lets the summary show it.
    scan_registers(session, imported.interval_register_ids)
    report.modbus = _poll_simulated_meter(session, settings, actor)
    return report


def _poll_simulated_meter(session: Session, settings: Settings, actor: str) -> str:
    from app.demo.modbus_meter import start_simulated_meter

    meter = Meter(serial=SDM_SERIAL, service="electric", model="Eastron SDM120")
    session.add(meter)
    session.flush()
    session.add(Register(meter_id=meter.id, code="1", unit="kWh"))
    session.flush()
    simulated = start_simulated_meter()
    try:
        add_device(
            session,
            name=SDM_DEVICE,
            host="127.0.0.1",
            port=simulated.port,
            unit_id=1,
            register_map="eastron-sdm120",
            byte_order="ABCD",
            meter_serial=SDM_SERIAL,
            register_code="1",
            actor=actor,
        )
        outcomes = poll_enabled_devices(session, settings, names=[SDM_DEVICE])
    finally:
        simulated.stop()
    device = session.scalar(select(ModbusDevice).where(ModbusDevice.name == SDM_DEVICE))
    if device is not None:
        # The simulator is gone once the demo serves; keep the device from being polled.
        device.enabled = False
    outcome = outcomes[0] if outcomes else None
    if outcome is None or not outcome.responded:
        return f"{SDM_SERIAL}: no response ({outcome.error if outcome else 'not polled'})"
    energy = _plain(outcome.value or Decimal(0))
    return f"{SDM_SERIAL} (Eastron SDM120 on 127.0.0.1:{simulated.port}): {energy} kWh"


def describe_metering(session: Session, report: MeteringDemoReport) -> MeteringDemoReport:
    """Fill in the leak episodes and the texts they queued, from the database."""
    for episode in session.scalars(select(LeakEpisode).order_by(LeakEpisode.id)):
        state = "open" if episode.closed_at is None else "closed"
        report.leak_episodes.append(
            f"{episode.kind} ({episode.severity}, {state}): {_plain(episode.quantity)} "
            f"{episode.unit} since {episode.started_at:%Y-%m-%d %H:%M} UTC"
        )
    for message in session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.program == Program.ALERTS)
        .order_by(OutboundMessage.id)
    ):
        report.texts.append(f"to …{message.to_number[-4:]} ({message.status}): {message.body}")
    estimated = session.execute(
        select(Account.number, Bill.id)
        .join(Bill, Bill.account_id == Account.id)
        .join(BillMeterSegment, BillMeterSegment.bill_id == Bill.id)
        .where(BillMeterSegment.end_read_type == "estimated")
        .order_by(Bill.id)
        .limit(5)
    )
    for number, bill_id in estimated:
        report.estimated_bills.append(f"account {number}, bill {bill_id}")
    return report
