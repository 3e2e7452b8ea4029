"""Seed the demo city: customers, premises, meters, reads, tariffs and electric usage.

Everything is generated from one random seed, so two runs with the same options make
the same city. A handful of accounts carry the cases a clerk meets every month: a meter
changeout, a rollover, a missing read, a suspect read, a move-in and a move-out.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind, Customer, CustomerKind
from app.accounts.numbers import FIRST_BASE, account_number
from app.billing.models import BillingCycle
from app.billing.periods import BillingPeriod
from app.billing.usage import local_midnight_utc
from app.bulk import insert_rows
from app.db import utcnow
from app.demo import people
from app.demo.tariffs import (
    DATA,
    ELECTRIC_TARIFFS,
    electric_tariff,
    sewer_tariff,
    trash_tariff,
    water_tariff,
)
from app.ledger.chart import ensure_chart
from app.meters.imports import ReadFormat, import_reads
from app.meters.models import (
    IntervalRead,
    Meter,
    MeterInstallation,
    MeterStockStatus,
    Read,
    ReadType,
    Register,
    read_key,
)
from app.premises.models import Premise, ServiceAgreement
from app.tariffs.models import Tariff, TariffVersion
from billing_engine.document import tariff_to_document
from billing_engine.interval import load_csv
from billing_engine.tariff import Tariff as EngineTariff

CYCLES = ("C1", "C2", "C3", "C4")
GREEN_BUTTON_CYCLE = "GB"
GREEN_BUTTON_FILE = "Desert_Single_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_7.xml"
GREEN_BUTTON_PERIOD = "2011-12"
TARIFFS_EFFECTIVE = dt.date(2000, 1, 1)
WATER_DIALS = 7
HISTORY_MONTHS = 15
CITY, STATE = "Riverbend", "TX"


@dataclass
class SeedReport:
    accounts: int = 0
    water_accounts: int = 0
    electric_accounts: int = 0
    reads: int = 0
    interval_reads: int = 0
    special_cases: dict[str, str] = field(default_factory=dict)


def _month_start(day: dt.date, months_back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


class IdAllocator:
    """Hands out primary keys for bulk rows, so rows can refer to each other before insert.

    It starts after the highest id in each table; ``sync_sequences`` then moves
    PostgreSQL's sequences past the ids used, so ordinary inserts keep working.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.next_id: dict[str, int] = {}

    def take(self, model: type[Any], count: int) -> list[int]:
        table = model.__table__
        if table.name not in self.next_id:
            highest = self.session.scalar(select(func.max(table.c.id)))
            self.next_id[table.name] = (highest or 0) + 1
        start = self.next_id[table.name]
        self.next_id[table.name] = start + count
        return list(range(start, start + count))

    def sync_sequences(self) -> None:
        connection = self.session.connection()
        if connection.dialect.name != "postgresql":
            return
        for name in self.next_id:
            # Table names come from our own metadata, never from input.
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
            )


def _bulk(ids: IdAllocator, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    new_ids = ids.take(model, len(rows))
    for row, new_id in zip(rows, new_ids, strict=True):
        row["id"] = new_id
    insert_rows(ids.session, model, rows)
    return new_ids


def demo_present(session: Session) -> bool:
    return session.scalar(select(BillingCycle.id).where(BillingCycle.code == "C1")) is not None


class CityBuilder:
    """Builds the demo city row by row in memory, then writes it in bulk."""

    def __init__(self, session: Session, period: BillingPeriod, zone: ZoneInfo, seed: int):
        self.session = session
        self.period = period
        self.zone = zone
        self.random = random.Random(seed)
        self.report = SeedReport()
        self.next_base = FIRST_BASE
        self.ids = IdAllocator(session)
        self.pending_meters: list[dict[str, Any]] = []
        self.pending_registers: list[dict[str, Any]] = []
        self.pending_installations: list[dict[str, Any]] = []
        self.phone_suffix = 0

    # -- reference data -------------------------------------------------------------

    def cycles(self) -> dict[str, int]:
        rows = [{"code": code, "name": f"Cycle {code[1:]}"} for code in CYCLES]
        rows.append({"code": GREEN_BUTTON_CYCLE, "name": "Green Button sample customer"})
        return dict(
            zip([r["code"] for r in rows], _bulk(self.ids, BillingCycle, rows), strict=True)
        )

    def tariffs(self) -> dict[str, int]:
        made: list[tuple[EngineTariff, str]] = [
            (water_tariff(), "demo city rates"),
            (sewer_tariff(), "demo city rates"),
            (trash_tariff(), "demo city rates"),
        ]
        made += [electric_tariff(code, filename) for code, filename, _ in ELECTRIC_TARIFFS]
        ids = {}
        for engine_tariff, source in made:
            tariff = Tariff(
                code=engine_tariff.code,
                name=engine_tariff.name,
                service=engine_tariff.service.value,
            )
            self.session.add(tariff)
            self.session.flush()
            self.session.add(
                TariffVersion(
                    tariff_id=tariff.id,
                    effective_from=TARIFFS_EFFECTIVE,
                    document=tariff_to_document(engine_tariff),
                    source=source,
                )
            )
            ids[engine_tariff.code] = tariff.id
        self.session.flush()
        return ids

    # -- people and places --------------------------------------------------------------

    def _customer(self, business: bool) -> dict[str, Any]:
        if business:
            name = self.random.choice(people.BUSINESSES)
        else:
            name = (
                f"{self.random.choice(people.FIRST_NAMES)} {self.random.choice(people.LAST_NAMES)}"
            )
        return {
            "name": name,
            "kind": CustomerKind.ORGANIZATION if business else CustomerKind.PERSON,
            "language": "es" if self.random.random() < 0.2 else "en",
            "created_at": utcnow(),
        }

    def _premise(self, index: int, cycle_id: int, cycle_code: str) -> dict[str, Any]:
        route = f"{cycle_code}-R{index % 5 + 1:02d}"
        return {
            "address": f"{100 + index * 4} {people.STREETS[index % len(people.STREETS)]}",
            "city": CITY,
            "state": STATE,
            "zip_code": people.ZIP_CODES[index % len(people.ZIP_CODES)],
            "route": route,
            "route_sequence": index,
            "cycle_id": cycle_id,
            "created_at": utcnow(),
        }

    def _contacts(self, account_id: int, customer: dict[str, Any]) -> list[dict[str, Any]]:
        # 555-0100 to 555-0199 are reserved for fiction in the North American plan.
        self.phone_suffix = (self.phone_suffix + 1) % 100
        phone = f"+1512555{100 + self.phone_suffix:04d}"
        local = customer["name"].lower().replace(" ", ".").replace("&", "and")
        return [
            {
                "account_id": account_id,
                "kind": ContactKind.PHONE,
                "value": phone,
                "label": "mobile",
                "verified": self.random.random() < 0.7,
            },
            {
                "account_id": account_id,
                "kind": ContactKind.EMAIL,
                "value": f"{local}{account_id}@example.com",
                "label": "home",
                "verified": True,
            },
        ]

    def accounts(
        self,
        count: int,
        cycles: dict[str, int],
        business_share: float,
        opened_on: dt.date,
        cycle_codes: tuple[str, ...] = CYCLES,
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """Create ``count`` customers, accounts, contacts and premises.

        Returns (account id, premise id, premise row) per account.
        """
        customers = [self._customer(self.random.random() < business_share) for _ in range(count)]
        customer_ids = _bulk(self.ids, Customer, customers)
        account_rows = []
        for customer_id in customer_ids:
            account_rows.append(
                {
                    "number": account_number(self.next_base),
                    "customer_id": customer_id,
                    "opened_on": opened_on,
                    "created_at": utcnow(),
                }
            )
            self.next_base += 1
        account_ids = _bulk(self.ids, Account, account_rows)
        contacts = []
        for account_id, customer in zip(account_ids, customers, strict=True):
            contacts.extend(self._contacts(account_id, customer))
        _bulk(self.ids, Contact, contacts)
        premises = []
        start_index = self.report.accounts
        for offset in range(count):
            code = cycle_codes[(start_index + offset) % len(cycle_codes)]
            premises.append(self._premise(start_index + offset, cycles[code], code))
        premise_ids = _bulk(self.ids, Premise, premises)
        self.report.accounts += count
        return list(zip(account_ids, premise_ids, premises, strict=True))

    # -- meters ------------------------------------------------------------------------

    def meter(
        self,
        serial: str,
        service: str,
        unit: str,
        *,
        interval: bool,
        premise_id: int,
        installed_on: dt.date,
        removed_on: dt.date | None = None,
        dials: int | None = None,
    ) -> int:
        """Queue a meter with one register and its installation; return the register id."""
        meter_id = self.ids.take(Meter, 1)[0]
        register_id = self.ids.take(Register, 1)[0]
        stock = MeterStockStatus.REMOVED if removed_on else MeterStockStatus.INSTALLED
        self.pending_meters.append(
            {"id": meter_id, "serial": serial, "service": service, "model": "demo",
             "size": None, "stock_status": stock}
        )
        self.pending_registers.append(
            {
                "id": register_id,
                "meter_id": meter_id,
                "code": "1",
                "unit": unit,
                "multiplier": Decimal(1),
                "dials": dials,
                "interval": interval,
            }
        )
        self.pending_installations.append(
            {
                "meter_id": meter_id,
                "premise_id": premise_id,
                "service": service,
                "installed_on": installed_on,
                "removed_on": removed_on,
            }
        )
        return register_id

    def flush_meters(self) -> None:
        """Insert the queued meters, registers and installations."""
        insert_rows(self.session, Meter, self.pending_meters)
        insert_rows(self.session, Register, self.pending_registers)
        _bulk(self.ids, MeterInstallation, self.pending_installations)
        self.pending_meters, self.pending_registers, self.pending_installations = [], [], []

    def read(
        self, register_id: int, day: dt.date, gallons: int, read_type: ReadType = ReadType.ACTUAL
    ) -> dict[str, Any]:
        self.report.reads += 1
        return {
            "register_id": register_id,
            "read_key": read_key(day, None),
            "read_date": day,
            "read_at": None,
            "value": Decimal(gallons % 10**WATER_DIALS),
            "read_type": read_type,
            "source": "demo route read",
            "created_at": utcnow(),
        }

    def monthly_gallons(self, base: float, month: int) -> int:
        season = 1.0
        if month in (6, 7, 8, 9):
            season = 1.5
        elif month in (12, 1, 2):
            season = 0.85
        return int(base * season * self.random.uniform(0.85, 1.15) * 1000)

    # -- water, sewer and trash ------------------------------------------------------------

    def water_city(self, count: int, cycles: dict[str, int], tariffs: dict[str, int]) -> None:
        period = self.period
        first_read = _month_start(period.start, HISTORY_MONTHS)
        opened = first_read - dt.timedelta(days=365)
        rows = self.accounts(count, cycles, business_share=0.02, opened_on=opened)
        agreements: list[dict[str, Any]] = []
        reads: list[dict[str, Any]] = []
        special = {
            4: "changeout",
            6: "missing read",
            8: "suspect read",
            10: "rollover",
            12: "move-in",
            14: "move-out",
        }
        for index, (account_id, premise_id, _premise) in enumerate(rows):
            case = special.get(index) if count >= 20 else None
            start = opened
            end = None
            if case == "move-in":
                start = period.start + dt.timedelta(days=9)
            if case == "move-out":
                end = period.start + dt.timedelta(days=19)
            for service in ("water", "sewer", "trash"):
                agreements.append(
                    {
                        "account_id": account_id,
                        "premise_id": premise_id,
                        "service": service,
                        "tariff_id": tariffs[
                            {"water": "W-RES", "sewer": "S-RES", "trash": "T-RES"}[service]
                        ],
                        "start_date": start,
                        "end_date": end,
                        "created_at": utcnow(),
                    }
                )
            reads.extend(
                self._water_reads(index, account_id, premise_id, case, first_read, start, end)
            )
            if case is not None:
                number = self.session.scalar(select(Account.number).where(Account.id == account_id))
                self.report.special_cases[case] = str(number)
            if case == "move-in":
                # A customer who moves in opens the account that day.
                self.session.execute(
                    update(Account).where(Account.id == account_id).values(opened_on=start)
                )
        _bulk(self.ids, ServiceAgreement, agreements)
        self.flush_meters()
        insert_rows(self.session, Read, reads)
        self.report.water_accounts = count

    def _water_reads(
        self,
        index: int,
        account_id: int,
        premise_id: int,
        case: str | None,
        first_read: dt.date,
        start: dt.date,
        end: dt.date | None,
    ) -> list[dict[str, Any]]:
        """Monthly reads of one household's water meter, shaped by the account's case."""
        period = self.period
        base = self.random.uniform(2.5, 9.0)
        changeout_day = period.start + dt.timedelta(days=14)
        serial = f"W{account_id:07d}"
        installed = start if case == "move-in" else first_read - dt.timedelta(days=30)
        register = self.meter(
            serial,
            "water",
            "gal",
            interval=False,
            premise_id=premise_id,
            installed_on=installed,
            removed_on=changeout_day if case == "changeout" else None,
            dials=WATER_DIALS,
        )
        # Cumulative gallons through the register, before wrapping at the dials.
        series: list[tuple[dt.date, int, ReadType]] = []
        gallons = self.random.randrange(0, 4_000_000)
        if case == "move-in":
            series.append((start, gallons, ReadType.ACTUAL))
        else:
            day = first_read
            while day < period.start:
                series.append((day, gallons, ReadType.ACTUAL))
                gallons += self.monthly_gallons(base, day.month)
                day = _month_start(day, -1)
            # The opening read of the billed month; its usage is added below.
            series.append((period.start, gallons, ReadType.ACTUAL))
        if case == "rollover":
            # Shift the history so the period opens 1,500 gallons below the modulus.
            offset = 10**WATER_DIALS - 1_500 - gallons
            series = [(day, value + offset, kind) for day, value, kind in series]
            gallons += offset
        usage = self.monthly_gallons(base, period.start.month)
        reads = [self.read(register, day, value, kind) for day, value, kind in series]
        if case == "changeout":
            half = usage // 2
            reads.append(self.read(register, changeout_day, gallons + half, ReadType.FINAL))
            new_register = self.meter(
                f"W{account_id:07d}N",
                "water",
                "gal",
                interval=False,
                premise_id=premise_id,
                installed_on=changeout_day,
                dials=WATER_DIALS,
            )
            reads.append(self.read(new_register, changeout_day, 0))
            reads.append(self.read(new_register, period.end, usage - half))
        elif case == "missing read":
            pass
        elif case == "suspect read":
            reads.append(self.read(register, period.end, int(gallons * 0.6)))
        elif case == "move-out":
            assert end is not None
            reads.append(self.read(register, end, gallons + usage * 2 // 3, ReadType.FINAL))
        else:
            reads.append(self.read(register, period.end, gallons + usage))
        return reads

    # -- electric -----------------------------------------------------------------------

    def electric_city(
        self, residential: int, commercial: int, cycles: dict[str, int], tariffs: dict[str, int]
    ) -> None:
        period = self.period
        opened = _month_start(period.start, HISTORY_MONTHS)
        profiles = {
            False: load_csv(DATA / "loads" / "residential_sam_default_8760.csv"),
            True: load_csv(DATA / "loads" / "commercial_sam_default_8760.csv"),
        }
        hours = self._local_hours()
        for business, count in ((False, residential), (True, commercial)):
            rows = self.accounts(
                count, cycles, business_share=1.0 if business else 0.0, opened_on=opened
            )
            codes = [code for code, _f, is_business in ELECTRIC_TARIFFS if is_business == business]
            agreements = []
            intervals: list[dict[str, Any]] = []
            for position, (account_id, premise_id, _premise) in enumerate(rows):
                code = codes[position % len(codes)]
                agreements.append(
                    {
                        "account_id": account_id,
                        "premise_id": premise_id,
                        "service": "electric",
                        "tariff_id": tariffs[code],
                        "start_date": opened,
                        "end_date": None,
                        "created_at": utcnow(),
                    }
                )
                register = self.meter(
                    f"E{account_id:07d}",
                    "electric",
                    "kWh",
                    interval=True,
                    premise_id=premise_id,
                    installed_on=opened,
                )
                scale = Decimal(self.random.randrange(60, 161)) / 100
                if code == "E-COM-TOD3":
                    scale *= Decimal("2.5")  # this rate is for customers of 500 to 999 kW
                profile = profiles[business]
                for start_at, index in hours:
                    noise = Decimal(self.random.randrange(900, 1101)) / 1000
                    kwh = profile[index] * scale * noise
                    intervals.append(
                        {
                            "register_id": register,
                            "start_at": start_at,
                            "seconds": 3600,
                            "value": kwh.quantize(Decimal("0.001")),
                            "quality": None,
                            "import_id": None,
                        }
                    )
            _bulk(self.ids, ServiceAgreement, agreements)
            self.flush_meters()
            insert_rows(self.session, IntervalRead, intervals)
            self.report.interval_reads += len(intervals)
            self.report.electric_accounts += count

    def _local_hours(self) -> list[tuple[dt.datetime, int]]:
        """List each true hour of the period with the load-profile row of its local time.

        The profile is a 365-day year: a local hour maps to row (day of year - 1) * 24 +
        hour, and December 31 of a leap year reuses December 30's row.
        """
        instant = local_midnight_utc(self.period.start, self.zone)
        finish = local_midnight_utc(self.period.end, self.zone)
        hours = []
        while instant < finish:
            local = instant.astimezone(self.zone)
            day = min(local.timetuple().tm_yday, 365)
            hours.append((instant, (day - 1) * 24 + local.hour))
            instant += dt.timedelta(hours=1)
        return hours

    # -- Green Button -------------------------------------------------------------------

    def green_button(self, cycles: dict[str, int], tariffs: dict[str, int], actor: str) -> str:
        """Add an electric customer whose usage comes from a real Green Button download."""
        rows = self.accounts(
            1,
            cycles,
            business_share=0.0,
            opened_on=dt.date(2011, 1, 1),
            cycle_codes=(GREEN_BUTTON_CYCLE,),
        )
        account_id, premise_id, _premise = rows[0]
        _bulk(
            self.ids,
            ServiceAgreement,
            [
                {
                    "account_id": account_id,
                    "premise_id": premise_id,
                    "service": "electric",
                    "tariff_id": tariffs["E-RES"],
                    "start_date": dt.date(2011, 1, 1),
                    "end_date": None,
                    "created_at": utcnow(),
                }
            ],
        )
        serial = "GB-DESERT-7"
        self.meter(
            serial,
            "electric",
            "kWh",
            interval=True,
            premise_id=premise_id,
            installed_on=dt.date(2011, 1, 1),
        )
        path = DATA / "greenbutton" / GREEN_BUTTON_FILE
        self.flush_meters()
        report = import_reads(
            self.session,
            filename=path.name,
            content=path.read_bytes(),
            file_format=ReadFormat.GREENBUTTON,
            zone=self.zone,
            actor=actor,
            meter_serial=serial,
        )
        self.report.interval_reads += report.rows_stored
        self.report.electric_accounts += 1
        number = self.session.scalar(select(Account.number).where(Account.id == account_id))
        self.report.special_cases["green button"] = str(number)
        return str(number)


def seed_demo(
    session: Session,
    *,
    accounts: int,
    period: BillingPeriod,
    zone: ZoneInfo,
    seed: int,
    actor: str,
) -> SeedReport:
    """Create the demo city in an empty database; the caller commits."""
    ensure_chart(session)
    builder = CityBuilder(session, period, zone, seed)
    cycles = builder.cycles()
    tariffs = builder.tariffs()
    builder.water_city(accounts, cycles, tariffs)
    builder.electric_city(max(2, accounts // 25), max(2, accounts // 200), cycles, tariffs)
    builder.green_button(cycles, tariffs, actor)
    builder.ids.sync_sequences()
    return builder.report
