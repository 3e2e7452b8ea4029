"""Import a tariff from an OpenEI Utility Rate Database (URDB) record.

Fields read (current and legacy names):

* energy: ``energyratestructure`` (``rate``, ``adj``, ``max``, ``unit`` of ``kWh``,
  ``kWh daily``, ``kWh/kW`` or ``kWh/kW daily``), ``energyweekdayschedule`` and
  ``energyweekendschedule``;
* fixed: ``fixedchargefirstmeter`` with ``fixedchargeunits`` (``$/month``, ``$/day``,
  ``$/year``), legacy ``fixedmonthlycharge``;
* minimum: ``mincharge`` with ``minchargeunits``, legacy ``minmonthlycharge`` and
  ``annualmincharge``;
* demand: ``flatdemandstructure`` with ``flatdemandmonths``, ``demandratestructure`` with
  ``demandweekdayschedule`` and ``demandweekendschedule``, the units ``flatdemandunit``,
  ``demandrateunit`` and the camelCase ``flatDemandUnits``, ``demandRateUnits`` (kW or hp),
  and ``demandwindow`` (minutes).

Rejected with ``UnsupportedTariffFeature`` unless ``ignore_unsupported`` is set (then the
feature is dropped and listed in ``Tariff.ignored_features``): coincident demand
(``coincidentratestructure``), reactive power (``demandreactivepowercharge``), demand
ratchets (non-zero ``lookbackpercent``, ``lookbackrange`` or ``demandratchetpercentage``)
and kVA demand. ``sell`` rates and ``dgrules`` only matter for exported energy and are
ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from billing_engine.errors import InvalidTariff, UnsupportedTariffFeature
from billing_engine.money import ZERO
from billing_engine.tariff import (
    HOURS,
    MONTHS,
    Charge,
    DemandCharge,
    DemandKind,
    DemandUnit,
    EnergyCharge,
    FixedCharge,
    FixedPer,
    MinimumCharge,
    MinimumPer,
    Schedule,
    Service,
    Tariff,
    Tier,
    TierBasis,
    Tiers,
)
from billing_engine.units import Unit

_ENERGY_UNITS = {
    "kwh": TierBasis.MONTH,
    "kwh daily": TierBasis.DAY,
    "kwh/kw": TierBasis.DEMAND,
    "kwh/kw daily": TierBasis.DEMAND_DAY,
}

# The FPL RS-1 record (URDB label 5550d6fd5457a3187e8b4567) spells the legacy minimum
# with a stray quote, ``minmonthlycharge'``; it is read as ``minmonthlycharge``.
_LEGACY_MONTHLY_MINIMUM_KEYS = ("minmonthlycharge", "minmonthlycharge'")


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidTariff(f"{field}: expected a number, got {value!r}")
    if isinstance(value, float):
        # repr() is the shortest text that round-trips, so 0.0485 stays 0.0485.
        return Decimal(repr(value))
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidTariff(f"{field}: expected a number, got {value!r}") from None
    if not result.is_finite():
        raise InvalidTariff(f"{field}: expected a finite number, got {value!r}")
    return result


def _period_index(value: Any, field: str, month: int, hour: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidTariff(
            f"{field} month {month} hour {hour}: period {value!r} is not a whole number"
        )
    return int(value)


def _schedule(doc: Mapping[str, Any], field: str, period_count: int, structure: str) -> Schedule:
    raw = doc.get(field)
    if raw is None:
        if period_count == 1:
            return tuple(tuple(0 for _ in range(HOURS)) for _ in range(MONTHS))
        raise InvalidTariff(
            f"{field} is missing, but {structure} defines {period_count} periods; add the "
            "12x24 schedule"
        )
    if len(raw) != MONTHS or any(len(row) != HOURS for row in raw):
        raise InvalidTariff(f"{field} must be 12 rows (months) of 24 hourly period indexes")
    rows: list[tuple[int, ...]] = []
    for month, row in enumerate(raw, start=1):
        periods: list[int] = []
        for hour, value in enumerate(row):
            period = _period_index(value, field, month, hour)
            if not 0 <= period < period_count:
                raise InvalidTariff(
                    f"{field} month {month} hour {hour} names period {period}, but "
                    f"{structure} defines only period(s) 0..{period_count - 1}; fix the "
                    "schedule or add the missing period"
                )
            periods.append(period)
        rows.append(tuple(periods))
    return tuple(rows)


def _tiers(entries: Sequence[Mapping[str, Any]], field: str, period: int) -> Tiers:
    if not entries:
        raise InvalidTariff(f"{field} period {period} has no tiers")
    tiers: list[Tier] = []
    for number, entry in enumerate(entries):
        where = f"{field}[{period}][{number}]"
        last = number == len(entries) - 1
        limit = None
        if not last:
            if "max" not in entry:
                raise InvalidTariff(f"{where}: a tier before the last needs a 'max'")
            limit = _decimal(entry["max"], f"{where}.max")
        # A 'max' on the last tier is dropped: a utility bills every unit, so the last
        # tier is unlimited (SAM instead leaves usage above it unbilled).
        tiers.append(
            Tier(
                limit=limit,
                price=_decimal(entry.get("rate", 0), f"{where}.rate"),
                adjustment=_decimal(entry.get("adj", 0), f"{where}.adj"),
            )
        )
    return tuple(tiers)


def _structure(doc: Mapping[str, Any], field: str) -> tuple[Tiers, ...]:
    raw = doc[field]
    if not isinstance(raw, list) or not raw:
        raise InvalidTariff(f"{field} must be a non-empty list of periods")
    return tuple(_tiers(period, field, index) for index, period in enumerate(raw))


class _Importer:
    def __init__(self, doc: Mapping[str, Any], ignore_unsupported: bool) -> None:
        self.doc = doc
        self.ignore_unsupported = ignore_unsupported
        self.ignored: list[str] = []

    def unsupported(self, field: str, message: str) -> None:
        if not self.ignore_unsupported:
            raise UnsupportedTariffFeature(
                f"{message} (URDB field {field!r}); the engine cannot bill it. Pass "
                "ignore_unsupported=True (--ignore-unsupported) to rate without it",
                field=field,
            )
        self.ignored.append(field)

    def check_unsupported(self) -> None:
        doc = self.doc
        if doc.get("coincidentratestructure"):
            self.unsupported("coincidentratestructure", "coincident (system-peak) demand")
        reactive = doc.get("demandreactivepowercharge")
        if reactive is not None and _decimal(reactive, "demandreactivepowercharge") != 0:
            self.unsupported("demandreactivepowercharge", "reactive power (kVAR) charge")
        for field in ("lookbackpercent", "lookbackrange"):
            value = doc.get(field)
            if value is not None and _decimal(value, field) != 0:
                self.unsupported(field, "demand ratchet (billing demand lookback)")
        ratchets = doc.get("demandratchetpercentage")
        if ratchets and any(_decimal(v, "demandratchetpercentage") != 0 for v in ratchets):
            self.unsupported("demandratchetpercentage", "demand ratchet")

    def demand_unit(self, fields: Sequence[str]) -> DemandUnit | None:
        """Return the demand unit, or None when the charge must be dropped (kVA ignored)."""
        for field in fields:
            value = self.doc.get(field)
            if value is None:
                continue
            text = str(value).strip().lower()
            if text == "kw":
                return DemandUnit.KW
            if text == "hp":
                return DemandUnit.HP
            if text == "kva":
                self.unsupported(field, "demand billed in kVA")
                return None
            raise InvalidTariff(f"{field}: unknown demand unit {value!r}; expected kW or hp")
        return DemandUnit.KW

    def window(self) -> int | None:
        value = self.doc.get("demandwindow")
        if value is None:
            return None
        minutes = _decimal(value, "demandwindow")
        if minutes <= 0 or minutes != minutes.to_integral_value():
            raise InvalidTariff(f"demandwindow {value!r} must be a positive whole number")
        return int(minutes)

    def energy(self) -> EnergyCharge | None:
        doc = self.doc
        if "energyratestructure" not in doc:
            return None
        periods = _structure(doc, "energyratestructure")
        units = {
            str(entry.get("unit", "kWh")).strip().lower()
            for period in doc["energyratestructure"]
            for entry in period
        }
        if len(units) != 1:
            raise InvalidTariff(
                f"energyratestructure mixes tier units {sorted(units)}; one unit is supported"
            )
        unit = units.pop()
        if unit not in _ENERGY_UNITS:
            raise InvalidTariff(
                f"energyratestructure unit {unit!r} is unknown; expected kWh, kWh daily, "
                "kWh/kW or kWh/kW daily"
            )
        count = len(periods)
        return EnergyCharge(
            code="energy",
            name="Energy charge",
            periods=periods,
            weekday_schedule=_schedule(doc, "energyweekdayschedule", count, "energyratestructure"),
            weekend_schedule=_schedule(doc, "energyweekendschedule", count, "energyratestructure"),
            tier_basis=_ENERGY_UNITS[unit],
        )

    def check_demand_tier_units(self, field: str) -> bool:
        for period in self.doc[field]:
            for entry in period:
                unit = str(entry.get("unit", "kW")).strip().lower()
                if unit == "kva":
                    self.unsupported(field, "demand billed in kVA")
                    return False
                if unit not in ("kw", "hp"):
                    raise InvalidTariff(f"{field}: unknown demand unit {entry['unit']!r}")
        return True

    def flat_demand(self) -> DemandCharge | None:
        doc = self.doc
        if "flatdemandstructure" not in doc:
            return None
        periods = _structure(doc, "flatdemandstructure")
        if not self.check_demand_tier_units("flatdemandstructure"):
            return None
        unit = self.demand_unit(("flatdemandunit", "flatDemandUnits"))
        if unit is None:
            return None

        raw_months = doc.get("flatdemandmonths")
        if raw_months is None:
            if len(periods) != 1:
                raise InvalidTariff(
                    f"flatdemandmonths is missing, but flatdemandstructure defines "
                    f"{len(periods)} periods; add the 12 month periods"
                )
            raw_months = [0] * MONTHS
        if len(raw_months) != MONTHS:
            raise InvalidTariff(f"flatdemandmonths must list 12 months, got {len(raw_months)}")
        months: list[int] = []
        for month, value in enumerate(raw_months, start=1):
            period = _period_index(value, "flatdemandmonths", month, 0)
            if not 0 <= period < len(periods):
                raise InvalidTariff(
                    f"flatdemandmonths month {month} names period {period}, but "
                    f"flatdemandstructure defines only period(s) 0..{len(periods) - 1}"
                )
            months.append(period)

        return DemandCharge(
            code="demand_flat",
            name="Demand charge",
            kind=DemandKind.FLAT,
            periods=periods,
            month_periods=tuple(months),
            demand_unit=unit,
            window_minutes=self.window(),
        )

    def tou_demand(self) -> DemandCharge | None:
        doc = self.doc
        if "demandratestructure" not in doc:
            return None
        periods = _structure(doc, "demandratestructure")
        if not self.check_demand_tier_units("demandratestructure"):
            return None
        unit = self.demand_unit(("demandrateunit", "demandRateUnits"))
        if unit is None:
            return None
        count = len(periods)
        return DemandCharge(
            code="demand_tou",
            name="Time-of-use demand charge",
            kind=DemandKind.TOU,
            periods=periods,
            weekday_schedule=_schedule(doc, "demandweekdayschedule", count, "demandratestructure"),
            weekend_schedule=_schedule(doc, "demandweekendschedule", count, "demandratestructure"),
            demand_unit=unit,
            window_minutes=self.window(),
        )

    def fixed(self) -> FixedCharge | None:
        doc = self.doc
        if "fixedchargefirstmeter" in doc:
            amount = _decimal(doc["fixedchargefirstmeter"], "fixedchargefirstmeter")
            units = str(doc.get("fixedchargeunits", "$/month")).strip()
            if units == "$/month":
                return FixedCharge("fixed", "Customer charge", amount, FixedPer.MONTH)
            if units == "$/day":
                return FixedCharge("fixed", "Customer charge", amount, FixedPer.DAY)
            if units == "$/year":
                return FixedCharge("fixed", "Customer charge", amount / MONTHS, FixedPer.MONTH)
            raise InvalidTariff(
                f"fixedchargeunits {units!r} is unknown; expected $/month, $/day or $/year"
            )
        if "fixedmonthlycharge" in doc:
            amount = _decimal(doc["fixedmonthlycharge"], "fixedmonthlycharge")
            return FixedCharge("fixed", "Customer charge", amount, FixedPer.MONTH)
        return None

    def minimums(self) -> list[MinimumCharge]:
        doc = self.doc
        found: list[MinimumCharge] = []
        if "mincharge" in doc:
            amount = _decimal(doc["mincharge"], "mincharge")
            units = str(doc.get("minchargeunits", "$/month")).strip()
            per = {"$/month": MinimumPer.MONTH, "$/day": MinimumPer.DAY, "$/year": MinimumPer.YEAR}
            if units not in per:
                raise InvalidTariff(
                    f"minchargeunits {units!r} is unknown; expected $/month, $/day or $/year"
                )
            code = "minimum_annual" if per[units] == MinimumPer.YEAR else "minimum"
            found.append(MinimumCharge(code, "Minimum charge", amount, per[units]))
        has_monthly = any(m.per != MinimumPer.YEAR for m in found)
        has_yearly = any(m.per == MinimumPer.YEAR for m in found)
        if not has_monthly:
            for key in _LEGACY_MONTHLY_MINIMUM_KEYS:
                if key in doc:
                    amount = _decimal(doc[key], key)
                    found.append(MinimumCharge("minimum", "Minimum charge", amount))
                    break
        if not has_yearly and "annualmincharge" in doc:
            amount = _decimal(doc["annualmincharge"], "annualmincharge")
            found.append(
                MinimumCharge("minimum_annual", "Annual minimum charge", amount, MinimumPer.YEAR)
            )
        return [m for m in found if m.amount != ZERO]


def tariff_from_urdb(doc: Mapping[str, Any], *, ignore_unsupported: bool = False) -> Tariff:
    """Build a ``Tariff`` from one URDB rate record (a dict parsed from its JSON).

    Raises ``InvalidTariff`` for a malformed record (for example a schedule naming a
    period the rate structure lacks) and ``UnsupportedTariffFeature`` for a feature the
    engine cannot bill, unless ``ignore_unsupported`` is true.
    """
    if not isinstance(doc, Mapping):
        raise InvalidTariff(f"expected a URDB rate object, got {type(doc).__name__}")
    importer = _Importer(doc, ignore_unsupported)
    importer.check_unsupported()

    charges: list[Charge] = []
    fixed = importer.fixed()
    if fixed is not None:
        charges.append(fixed)
    energy = importer.energy()
    if energy is not None:
        charges.append(energy)
    for demand in (importer.flat_demand(), importer.tou_demand()):
        if demand is not None:
            charges.append(demand)
    charges.extend(importer.minimums())

    label = str(doc.get("label") or "urdb")
    name = " ".join(str(doc[k]) for k in ("utility", "name") if doc.get(k)) or label
    return Tariff(
        code=label,
        name=name,
        service=Service.ELECTRIC,
        unit=Unit.KWH,
        charges=tuple(charges),
        ignored_features=tuple(importer.ignored),
    )
