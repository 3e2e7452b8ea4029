"""Run context: the cycle, the period and every tariff version a bill run may use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.heat_factors import HeatFactorRow, load_heat_factors, period_heat_factor
from app.billing.models import BillingCycle
from app.billing.periods import BillingPeriod
from app.billing.usage import MONTH_BOUNDARY_DAYS, BillingProblem
from app.tariffs.models import Tariff, TariffVersion
from billing_engine.document import tariff_from_document
from billing_engine.errors import RatingError
from billing_engine.rating import ServiceCharges, TariffSegment
from billing_engine.tariff import Tariff as EngineTariff
from billing_engine.winter import winter_average


class _KeyRecorder(Mapping[tuple[int, int], Decimal]):
    """Mapping that returns 1 for every key and records the keys requested."""

    def __init__(self) -> None:
        self.requested: list[tuple[int, int]] = []

    def __getitem__(self, key: tuple[int, int]) -> Decimal:
        self.requested.append(key)
        return Decimal(1)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(())

    def __len__(self) -> int:
        return 0


def winter_months(months: tuple[int, ...], period_start: dt.date) -> list[tuple[int, int]]:
    """Return the (year, month)s whose consumption the engine's winter average reads."""
    recorder = _KeyRecorder()
    winter_average(recorder, months, period_start)
    return sorted(recorder.requested)


@dataclass(frozen=True)
class LoadedVersion:
    effective_from: dt.date
    tariff: EngineTariff | None
    problem: str | None


@dataclass
class RunContext:
    run_id: int
    cycle_id: int
    period: BillingPeriod
    bill_date: dt.date
    due_date: dt.date
    zone: ZoneInfo
    actor: str
    versions: dict[int, list[LoadedVersion]] = field(default_factory=dict)
    tariff_codes: dict[int, str] = field(default_factory=dict)
    #: The (year, month)s of the last complete winter, per winter-month list in use.
    winters: dict[tuple[int, ...], list[tuple[int, int]]] = field(default_factory=dict)
    rating_cache: dict[object, ServiceCharges] = field(default_factory=dict)
    cycle_code: str = ""
    #: Gas heat factors, loaded with the tariffs.
    heat_factors: list[HeatFactorRow] = field(default_factory=list)

    def load_tariffs(self, session: Session) -> None:
        """Parse every tariff version once; a version that fails is kept with its reason.

        The gas heat factors are loaded here too, because every run that rates loads tariffs.
        """
        self.cycle_code = session.get_one(BillingCycle, self.cycle_id).code
        self.heat_factors = load_heat_factors(session)
        for tariff_id, code in session.execute(select(Tariff.id, Tariff.code)):
            self.tariff_codes[tariff_id] = code
            self.versions[tariff_id] = []
        rows = session.execute(
            select(
                TariffVersion.tariff_id, TariffVersion.effective_from, TariffVersion.document
            ).order_by(TariffVersion.tariff_id, TariffVersion.effective_from)
        )
        for row in rows:
            try:
                loaded = LoadedVersion(row.effective_from, tariff_from_document(row.document), None)
            except (RatingError, KeyError, TypeError, ValueError) as exc:
                loaded = LoadedVersion(row.effective_from, None, str(exc))
            self.versions[row.tariff_id].append(loaded)
            cap = loaded.tariff.winter_average_cap if loaded.tariff else None
            if cap is not None and cap.months not in self.winters:
                self.winters[cap.months] = winter_months(cap.months, self.period.start)

    def therms_per_ccf(self, start: dt.date, end: dt.date) -> Decimal:
        """Return the cycle's mean gas heat factor from ``start`` to ``end``; see heat_factors."""
        return period_heat_factor(
            self.heat_factors,
            cycle_id=self.cycle_id,
            cycle_code=self.cycle_code,
            start=start,
            end=end,
        )

    def read_windows(self, opening_days: int) -> list[tuple[dt.date, dt.date]]:
        """Date ranges of the reads a run needs: the period's and each winter's."""
        windows = [(self.period.start - dt.timedelta(days=opening_days), self.period.end)]
        for months in self.winters.values():
            first_year, first_month = months[0]
            last_year, last_month = months[-1]
            windows.append(
                (
                    dt.date(first_year, first_month, 1) - dt.timedelta(days=MONTH_BOUNDARY_DAYS),
                    dt.date(last_year + last_month // 12, last_month % 12 + 1, 1),
                )
            )
        return windows

    def segments(self, tariff_id: int, start: dt.date, end: dt.date) -> list[TariffSegment]:
        """Return the tariff versions in effect from ``start`` to ``end``, one segment each."""
        code = self.tariff_codes.get(tariff_id, str(tariff_id))
        versions = self.versions.get(tariff_id, [])
        in_effect = [v for v in versions if v.effective_from <= start]
        if not in_effect:
            raise BillingProblem(
                f"tariff {code} has no version in effect on {start}; add a version "
                f"effective on or before that date",
                code="no_tariff_version",
            )
        chosen = [in_effect[-1]] + [v for v in versions if start < v.effective_from < end]
        segments = []
        for index, version in enumerate(chosen):
            if version.tariff is None:
                raise BillingProblem(
                    f"tariff {code} version of {version.effective_from} cannot be read: "
                    f"{version.problem}",
                    code="tariff_unreadable",
                )
            segment_start = start if index == 0 else version.effective_from
            segment_end = chosen[index + 1].effective_from if index + 1 < len(chosen) else end
            segments.append(TariffSegment(version.tariff, segment_start, segment_end))
        return segments
