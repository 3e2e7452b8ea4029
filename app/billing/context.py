"""What a bill run loads once: the cycle, the period and every tariff version it may use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.periods import BillingPeriod
from app.billing.usage import BillingProblem
from app.tariffs.models import Tariff, TariffVersion
from billing_engine.document import tariff_from_document
from billing_engine.errors import RatingError
from billing_engine.rating import TariffSegment
from billing_engine.tariff import Tariff as EngineTariff


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

    def load_tariffs(self, session: Session) -> None:
        """Parse every tariff version once; a version that fails is kept with its reason."""
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

    def segments(self, tariff_id: int, start: dt.date, end: dt.date) -> list[TariffSegment]:
        """The tariff versions in effect from ``start`` to ``end``, one segment each."""
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
