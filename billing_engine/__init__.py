"""Pure billing engine: tariffs, rating and consumption, with Decimal money.

No database, no web and no clock: callers pass dates and usage in, and get bill lines out.
"""

from billing_engine.consumption import RegisterSegment, segment_consumption, total_consumption
from billing_engine.document import tariff_from_document, tariff_to_document
from billing_engine.errors import (
    InvalidLoad,
    InvalidTariff,
    RatingError,
    SuspectRead,
    UnitConversionError,
    UnsupportedTariffFeature,
)
from billing_engine.interval import MonthCharges, YearCharges, load_csv, rate_year
from billing_engine.lines import ChargeKind, ChargeLine, LineDetail
from billing_engine.money import round_money
from billing_engine.rating import (
    Interval,
    IntervalUsage,
    Period,
    RegisterUsage,
    ServiceCharges,
    TariffSegment,
    rate_service,
)
from billing_engine.tariff import (
    ConsumptionBasis,
    DemandCharge,
    DemandKind,
    DemandUnit,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    MinimumCharge,
    MinimumPer,
    Rider,
    RiderKind,
    Service,
    Tariff,
    Tier,
    TierBasis,
    WinterAverageCap,
    constant_schedule,
)
from billing_engine.units import Unit, convert
from billing_engine.urdb import tariff_from_urdb
from billing_engine.winter import winter_average

__all__ = [
    "ChargeKind",
    "ChargeLine",
    "ConsumptionBasis",
    "DemandCharge",
    "DemandKind",
    "DemandUnit",
    "EnergyCharge",
    "FixedCharge",
    "FixedPer",
    "Interval",
    "IntervalUsage",
    "InvalidLoad",
    "InvalidTariff",
    "LineDetail",
    "MinimumCharge",
    "MinimumPer",
    "MonthCharges",
    "Period",
    "RatingError",
    "RegisterSegment",
    "RegisterUsage",
    "Rider",
    "RiderKind",
    "Service",
    "ServiceCharges",
    "SuspectRead",
    "Tariff",
    "TariffSegment",
    "Tier",
    "TierBasis",
    "Unit",
    "UnitConversionError",
    "UnsupportedTariffFeature",
    "WinterAverageCap",
    "YearCharges",
    "constant_schedule",
    "convert",
    "load_csv",
    "rate_service",
    "rate_year",
    "round_money",
    "segment_consumption",
    "tariff_from_document",
    "tariff_from_urdb",
    "tariff_to_document",
    "total_consumption",
    "winter_average",
]
