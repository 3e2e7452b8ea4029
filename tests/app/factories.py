"""Small, explicit builders for app tests: one cycle, tariffs, accounts, meters, reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from app.accounts.models import Account, Customer
from app.accounts.service import open_account
from app.billing.models import BillingCycle
from app.meters.models import (
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
from billing_engine.tariff import (
    ConsumptionBasis,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    Service,
    Tier,
    WinterAverageCap,
    constant_schedule,
)
from billing_engine.tariff import (
    Tariff as EngineTariff,
)
from billing_engine.units import Unit

ALL_YEAR = constant_schedule([0] * 12)


def energy(code: str, tiers: list[tuple[str | None, str]], **options: object) -> EnergyCharge:
    return EnergyCharge(
        code=code,
        name=code.title(),
        periods=(
            tuple(Tier(None if lim is None else Decimal(lim), Decimal(p)) for lim, p in tiers),
        ),
        weekday_schedule=ALL_YEAR,
        weekend_schedule=ALL_YEAR,
        **options,  # type: ignore[arg-type]
    )


def water_tariff(base: str = "10.00", first: str = "2.00", rest: str = "3.00") -> EngineTariff:
    """Base charge per month; first 5 kgal at ``first``, the rest at ``rest``."""
    return EngineTariff(
        code="W-TEST",
        name="Test water",
        service=Service.WATER,
        unit=Unit.KGAL,
        charges=(
            FixedCharge("base", "Base charge", Decimal(base), FixedPer.MONTH),
            energy("usage", [("5", first), (None, rest)]),
        ),
    )


def sewer_tariff() -> EngineTariff:
    """$8.00 a month and $4.00 per kgal of water use, capped at the Dec-Feb average."""
    return EngineTariff(
        code="S-TEST",
        name="Test sewer",
        service=Service.SEWER,
        unit=Unit.KGAL,
        charges=(
            FixedCharge("base", "Sewer base", Decimal("8.00"), FixedPer.MONTH),
            energy("usage", [(None, "4.00")], consumption_basis=ConsumptionBasis.WATER),
        ),
        winter_average_cap=WinterAverageCap((12, 1, 2)),
    )


def trash_tariff() -> EngineTariff:
    return EngineTariff(
        code="T-TEST",
        name="Test trash",
        service=Service.TRASH,
        unit=Unit.GAL,
        charges=(FixedCharge("cart", "Cart", Decimal("20.00"), FixedPer.MONTH),),
    )


def electric_tariff() -> EngineTariff:
    """$10.00 a month and $0.10 per kWh."""
    return EngineTariff(
        code="E-TEST",
        name="Test electric",
        service=Service.ELECTRIC,
        unit=Unit.KWH,
        charges=(
            FixedCharge("base", "Customer charge", Decimal("10.00"), FixedPer.MONTH),
            energy("energy", [(None, "0.10")]),
        ),
    )


class City:
    """Builds rows for one test; ``session`` is flushed, never committed, by the builder."""

    def __init__(self, session: Session, cycle_code: str = "C1") -> None:
        self.session = session
        self.cycle = BillingCycle(code=cycle_code, name=f"Cycle {cycle_code}")
        session.add(self.cycle)
        session.flush()
        self.tariffs: dict[str, Tariff] = {}
        self.versions: set[tuple[str, dt.date]] = set()

    def tariff(self, engine_tariff: EngineTariff, effective_from: dt.date = dt.date(2000, 1, 1),
               document: dict[str, object] | None = None) -> Tariff:
        tariff = self.tariffs.get(engine_tariff.code)
        if tariff is None:
            tariff = Tariff(code=engine_tariff.code, name=engine_tariff.name,
                            service=engine_tariff.service.value)
            self.session.add(tariff)
            self.session.flush()
            self.tariffs[engine_tariff.code] = tariff
        if (engine_tariff.code, effective_from) in self.versions:
            return tariff
        self.versions.add((engine_tariff.code, effective_from))
        self.session.add(TariffVersion(
            tariff_id=tariff.id, effective_from=effective_from,
            document=document if document is not None else tariff_to_document(engine_tariff),
        ))
        self.session.flush()
        return tariff

    def account(self, name: str = "Pat Doe", opened_on: dt.date = dt.date(2020, 1, 1)
                ) -> tuple[Account, Premise]:
        customer = Customer(name=name)
        self.session.add(customer)
        account = open_account(self.session, customer=customer, opened_on=opened_on)
        premise = Premise(address="1 Test St", city="Riverbend", state="TX", zip_code="78701",
                          route="R1", cycle_id=self.cycle.id)
        self.session.add(premise)
        self.session.flush()
        return account, premise

    def agreement(self, account: Account, premise: Premise, tariff: Tariff,
                  start: dt.date = dt.date(2020, 1, 1), end: dt.date | None = None
                  ) -> ServiceAgreement:
        agreement = ServiceAgreement(account_id=account.id, premise_id=premise.id,
                                     service=tariff.service, tariff_id=tariff.id,
                                     start_date=start, end_date=end)
        self.session.add(agreement)
        self.session.flush()
        return agreement

    def meter(self, premise: Premise, serial: str, service: str, unit: str, *,
              installed_on: dt.date = dt.date(2020, 1, 1), removed_on: dt.date | None = None,
              dials: int | None = 7, interval: bool = False) -> Register:
        meter = Meter(serial=serial, service=service,
                      stock_status=MeterStockStatus.REMOVED if removed_on
                      else MeterStockStatus.INSTALLED)
        self.session.add(meter)
        self.session.flush()
        register = Register(meter_id=meter.id, code="1", unit=unit, dials=dials,
                            multiplier=Decimal(1), interval=interval)
        self.session.add(register)
        self.session.add(MeterInstallation(meter_id=meter.id, premise_id=premise.id,
                                           service=service, installed_on=installed_on,
                                           removed_on=removed_on))
        self.session.flush()
        return register

    def read(self, register: Register, day: dt.date, value: str,
             read_type: ReadType = ReadType.ACTUAL, at: dt.datetime | None = None) -> Read:
        read = Read(register_id=register.id, read_key=read_key(day, at), read_date=day,
                    read_at=at, value=Decimal(value), read_type=read_type, source="test")
        self.session.add(read)
        self.session.flush()
        return read
