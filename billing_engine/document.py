"""The native tariff document: a JSON-ready dict that round-trips a ``Tariff`` exactly.

Every Decimal is a JSON string (``"0.0485"``), so no value passes through a binary float.
Integers (schedule periods, months, window minutes) stay JSON numbers. Shape::

    {"format": "upm-tariff", "version": 1, "code": ..., "name": ..., "service": "electric",
     "unit": "kWh", "winter_average_cap": {"months": [12, 1, 2]} | null,
     "ignored_features": [...], "charges": [{"type": "fixed" | "energy" | "demand" |
     "minimum" | "rider", "code": ..., "name": ..., ...}, ...]}

A tier is ``{"limit": "500" | null, "price": "0.10", "adjustment": "0"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from billing_engine.errors import InvalidTariff
from billing_engine.tariff import (
    Charge,
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
    Schedule,
    Service,
    Tariff,
    Tier,
    TierBasis,
    Tiers,
    WinterAverageCap,
)
from billing_engine.units import Unit

DOCUMENT_FORMAT = "upm-tariff"
DOCUMENT_VERSION = 1


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidTariff(
            f"{where}: {value!r} must be a decimal string such as \"0.10\" (floats are not "
            "exact)"
        )
    try:
        result = Decimal(str(value)) if isinstance(value, int) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidTariff(f"{where}: {value!r} is not a decimal number") from None
    if not result.is_finite():
        raise InvalidTariff(f"{where}: {value!r} is not a finite number")
    return result


def _required(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InvalidTariff(f"{where}: missing field {key!r}")
    return data[key]


def _enum(enum: Any, value: Any, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidTariff(f"{where}: {value!r} is not one of {allowed}") from None


def _tiers_from(raw: Any, where: str) -> tuple[Tiers, ...]:
    if not isinstance(raw, list):
        raise InvalidTariff(f"{where}: expected a list of periods, each a list of tiers")
    periods: list[Tiers] = []
    for p, period in enumerate(raw):
        tiers: list[Tier] = []
        for t, tier in enumerate(period):
            location = f"{where}[{p}][{t}]"
            limit = tier.get("limit")
            tiers.append(
                Tier(
                    limit=None if limit is None else _money(limit, f"{location}.limit"),
                    price=_money(_required(tier, "price", location), f"{location}.price"),
                    adjustment=_money(tier.get("adjustment", "0"), f"{location}.adjustment"),
                )
            )
        periods.append(tuple(tiers))
    return tuple(periods)


def _tiers_to(periods: Sequence[Tiers]) -> list[list[dict[str, str | None]]]:
    return [
        [
            {
                "limit": None if tier.limit is None else str(tier.limit),
                "price": str(tier.price),
                "adjustment": str(tier.adjustment),
            }
            for tier in tiers
        ]
        for tiers in periods
    ]


def _schedule_from(raw: Any, where: str) -> Schedule:
    if raw is None:
        return tuple(tuple(0 for _ in range(24)) for _ in range(12))
    try:
        return tuple(tuple(int(v) for v in row) for row in raw)
    except (TypeError, ValueError):
        raise InvalidTariff(f"{where}: expected 12 rows of 24 period numbers") from None


def _schedule_to(schedule: Schedule) -> list[list[int]]:
    return [list(row) for row in schedule]


def _charge_from(data: Mapping[str, Any], index: int) -> Charge:
    where = f"charges[{index}]"
    kind = _required(data, "type", where)
    code = str(_required(data, "code", where))
    name = str(data.get("name", code))
    if kind == "fixed":
        return FixedCharge(
            code, name, _money(_required(data, "amount", where), f"{where}.amount"),
            _enum(FixedPer, data.get("per", "month"), f"{where}.per"),
        )
    if kind == "energy":
        return EnergyCharge(
            code=code,
            name=name,
            periods=_tiers_from(_required(data, "periods", where), f"{where}.periods"),
            weekday_schedule=_schedule_from(data.get("weekday_schedule"), where),
            weekend_schedule=_schedule_from(data.get("weekend_schedule"), where),
            tier_basis=_enum(TierBasis, data.get("tier_basis", "month"), f"{where}.tier_basis"),
            period_names=tuple(str(n) for n in data.get("period_names", ())),
            consumption_basis=_enum(
                ConsumptionBasis,
                data.get("consumption_basis", "metered"),
                f"{where}.consumption_basis",
            ),
        )
    if kind == "demand":
        demand_kind = _enum(DemandKind, _required(data, "kind", where), f"{where}.kind")
        window = data.get("window_minutes")
        return DemandCharge(
            code=code,
            name=name,
            kind=demand_kind,
            periods=_tiers_from(_required(data, "periods", where), f"{where}.periods"),
            month_periods=tuple(int(p) for p in data.get("month_periods", ())),
            weekday_schedule=(
                _schedule_from(data.get("weekday_schedule"), where)
                if demand_kind == DemandKind.TOU
                else ()
            ),
            weekend_schedule=(
                _schedule_from(data.get("weekend_schedule"), where)
                if demand_kind == DemandKind.TOU
                else ()
            ),
            demand_unit=_enum(DemandUnit, data.get("demand_unit", "kW"), f"{where}.demand_unit"),
            window_minutes=None if window is None else int(window),
            period_names=tuple(str(n) for n in data.get("period_names", ())),
        )
    if kind == "minimum":
        return MinimumCharge(
            code, name, _money(_required(data, "amount", where), f"{where}.amount"),
            _enum(MinimumPer, data.get("per", "month"), f"{where}.per"),
        )
    if kind == "rider":
        return Rider(
            code=code,
            name=name,
            kind=_enum(RiderKind, _required(data, "kind", where), f"{where}.kind"),
            rate=_money(_required(data, "rate", where), f"{where}.rate"),
            applies_to=tuple(str(c) for c in data.get("applies_to", ())),
        )
    raise InvalidTariff(
        f"{where}.type: {kind!r} is not one of fixed, energy, demand, minimum, rider"
    )


def _charge_to(charge: Charge) -> dict[str, Any]:
    if isinstance(charge, FixedCharge):
        return {
            "type": "fixed", "code": charge.code, "name": charge.name,
            "amount": str(charge.amount), "per": charge.per.value,
        }
    if isinstance(charge, EnergyCharge):
        return {
            "type": "energy",
            "code": charge.code,
            "name": charge.name,
            "periods": _tiers_to(charge.periods),
            "weekday_schedule": _schedule_to(charge.weekday_schedule),
            "weekend_schedule": _schedule_to(charge.weekend_schedule),
            "tier_basis": charge.tier_basis.value,
            "period_names": list(charge.period_names),
            "consumption_basis": charge.consumption_basis.value,
        }
    if isinstance(charge, DemandCharge):
        document: dict[str, Any] = {
            "type": "demand",
            "code": charge.code,
            "name": charge.name,
            "kind": charge.kind.value,
            "periods": _tiers_to(charge.periods),
            "demand_unit": charge.demand_unit.value,
            "window_minutes": charge.window_minutes,
            "period_names": list(charge.period_names),
        }
        if charge.kind == DemandKind.FLAT:
            document["month_periods"] = list(charge.month_periods)
        else:
            document["weekday_schedule"] = _schedule_to(charge.weekday_schedule)
            document["weekend_schedule"] = _schedule_to(charge.weekend_schedule)
        return document
    if isinstance(charge, MinimumCharge):
        return {
            "type": "minimum", "code": charge.code, "name": charge.name,
            "amount": str(charge.amount), "per": charge.per.value,
        }
    return {
        "type": "rider",
        "code": charge.code,
        "name": charge.name,
        "kind": charge.kind.value,
        "rate": str(charge.rate),
        "applies_to": list(charge.applies_to),
    }


def tariff_from_document(document: Mapping[str, Any]) -> Tariff:
    """Build a ``Tariff`` from a native tariff document; raise ``InvalidTariff`` if malformed."""
    if not isinstance(document, Mapping):
        raise InvalidTariff(f"expected a tariff document object, got {type(document).__name__}")
    if document.get("format", DOCUMENT_FORMAT) != DOCUMENT_FORMAT:
        raise InvalidTariff(
            f"format {document.get('format')!r} is not {DOCUMENT_FORMAT!r}; for a URDB "
            "record use tariff_from_urdb"
        )
    if document.get("version", DOCUMENT_VERSION) != DOCUMENT_VERSION:
        raise InvalidTariff(
            f"tariff document version {document.get('version')!r} is not supported; "
            f"expected {DOCUMENT_VERSION}"
        )
    raw_charges = _required(document, "charges", "tariff")
    if not isinstance(raw_charges, list):
        raise InvalidTariff("tariff: 'charges' must be a list")
    cap = document.get("winter_average_cap")
    return Tariff(
        code=str(_required(document, "code", "tariff")),
        name=str(document.get("name", document["code"])),
        service=_enum(Service, _required(document, "service", "tariff"), "tariff.service"),
        unit=_enum(Unit, _required(document, "unit", "tariff"), "tariff.unit"),
        charges=tuple(_charge_from(c, i) for i, c in enumerate(raw_charges)),
        winter_average_cap=(
            None if cap is None else WinterAverageCap(tuple(int(m) for m in cap["months"]))
        ),
        ignored_features=tuple(str(f) for f in document.get("ignored_features", ())),
    )


def tariff_to_document(tariff: Tariff) -> dict[str, Any]:
    """Return the native document of ``tariff``; ``tariff_from_document`` inverts it exactly."""
    cap = tariff.winter_average_cap
    return {
        "format": DOCUMENT_FORMAT,
        "version": DOCUMENT_VERSION,
        "code": tariff.code,
        "name": tariff.name,
        "service": tariff.service.value,
        "unit": tariff.unit.value,
        "winter_average_cap": None if cap is None else {"months": list(cap.months)},
        "ignored_features": list(tariff.ignored_features),
        "charges": [_charge_to(charge) for charge in tariff.charges],
    }
