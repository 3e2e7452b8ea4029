"""The chart of accounts every utility starts with."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ledger.models import LedgerAccount, LedgerAccountKind

CASH = "1010"
RECEIVABLES = "1200"
DEPOSITS_HELD = "2100"
SUSPENSE = "2200"
FEES = "4900"
FIELD_SERVICE_CHARGES = "4910"
ADJUSTMENTS = "4950"
MATERIALS_INVENTORY = "1300"
ACCRUED_FIELD_LABOR = "2300"
FLEET_CHARGES_PAYABLE = "2310"
FIELD_LABOR_COST = "5110"
FIELD_MATERIALS_COST = "5120"
FIELD_EQUIPMENT_COST = "5130"

#: Revenue account code per service.
REVENUE_BY_SERVICE = {
    "water": "4010",
    "sewer": "4020",
    "trash": "4030",
    "electric": "4040",
    "gas": "4050",
}

STANDARD_CHART: tuple[tuple[str, str, LedgerAccountKind], ...] = (
    (CASH, "Cash", LedgerAccountKind.ASSET),
    (RECEIVABLES, "Customer receivables", LedgerAccountKind.ASSET),
    (DEPOSITS_HELD, "Customer deposits held", LedgerAccountKind.LIABILITY),
    (SUSPENSE, "Unidentified payments (suspense)", LedgerAccountKind.LIABILITY),
    ("4010", "Water revenue", LedgerAccountKind.REVENUE),
    ("4020", "Sewer revenue", LedgerAccountKind.REVENUE),
    ("4030", "Trash revenue", LedgerAccountKind.REVENUE),
    ("4040", "Electric revenue", LedgerAccountKind.REVENUE),
    ("4050", "Gas revenue", LedgerAccountKind.REVENUE),
    (FEES, "Fee revenue", LedgerAccountKind.REVENUE),
    (ADJUSTMENTS, "Billing adjustments", LedgerAccountKind.REVENUE),
    # Work orders: charges billed to customers, and the job costs posted at close.
    (FIELD_SERVICE_CHARGES, "Field service charges", LedgerAccountKind.REVENUE),
    (MATERIALS_INVENTORY, "Materials inventory", LedgerAccountKind.ASSET),
    (ACCRUED_FIELD_LABOR, "Accrued field labor", LedgerAccountKind.LIABILITY),
    (FLEET_CHARGES_PAYABLE, "Fleet equipment charges payable", LedgerAccountKind.LIABILITY),
    (FIELD_LABOR_COST, "Field labor cost", LedgerAccountKind.EXPENSE),
    (FIELD_MATERIALS_COST, "Field materials cost", LedgerAccountKind.EXPENSE),
    (FIELD_EQUIPMENT_COST, "Field equipment cost", LedgerAccountKind.EXPENSE),
)


def ensure_chart(session: Session) -> dict[str, int]:
    """Create the standard ledger accounts that are missing; return their ids by code."""
    existing = dict(session.execute(select(LedgerAccount.code, LedgerAccount.id)).all())
    for code, name, kind in STANDARD_CHART:
        if code not in existing:
            account = LedgerAccount(code=code, name=name, kind=kind)
            session.add(account)
            session.flush()
            existing[code] = account.id
    return existing
