"""Payment application: which open charges an account's credits have paid.

Application is computed from the ledger each time it is needed, never stored, so a
return or a reversed bill changes it with no bookkeeping of its own. The total of the
account's credits (payments, credit adjustments) is spent on its charges (bills, fees,
refunds paid out) in the order the utility's policy gives. A surplus is a credit
balance carried forward to the next charge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

#: Policies a utility can choose (setting ``payment_application``).
POLICIES = ("oldest_first", "fees_first", "fees_last")


@dataclass(frozen=True)
class Charge:
    """A debit to the account's receivable: a bill, a fee, a charge adjustment."""

    entry_id: int
    kind: str
    posted_on: dt.date
    due_date: dt.date
    amount: Decimal
    bill_id: int | None = None


@dataclass(frozen=True)
class OpenCharge:
    charge: Charge
    paid: Decimal
    open: Decimal


@dataclass(frozen=True)
class Application:
    charges: list[OpenCharge]
    #: Credits left after every charge is paid: the credit balance carried forward.
    unapplied: Decimal

    @property
    def open_charges(self) -> list[OpenCharge]:
        return [item for item in self.charges if item.open > 0]

    def past_due(self, today: dt.date) -> Decimal:
        """Sum what is still open on charges whose due date is before ``today``."""
        return sum(
            (item.open for item in self.charges if item.charge.due_date < today), Decimal("0.00")
        )


def _order(charges: Sequence[Charge], policy: str) -> list[Charge]:
    def oldest(charge: Charge) -> tuple[dt.date, int]:
        return (charge.posted_on, charge.entry_id)

    if policy == "oldest_first":
        return sorted(charges, key=oldest)
    if policy == "fees_first":
        return sorted(charges, key=lambda c: (c.kind != "fee", *oldest(c)))
    if policy == "fees_last":
        return sorted(charges, key=lambda c: (c.kind == "fee", *oldest(c)))
    raise ValueError(f"payment application policy {policy!r} is not one of {POLICIES}")


def apply_credits(charges: Sequence[Charge], credits: Decimal, policy: str) -> Application:
    """Spend ``credits`` on ``charges`` in policy order; return what each charge has open."""
    if credits < 0:
        raise ValueError(f"credits {credits} must not be negative")
    remaining = credits
    applied: list[OpenCharge] = []
    for charge in _order(charges, policy):
        paid = min(remaining, charge.amount)
        remaining -= paid
        applied.append(OpenCharge(charge=charge, paid=paid, open=charge.amount - paid))
    return Application(charges=applied, unapplied=remaining)
