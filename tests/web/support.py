"""Helpers the web tests share: the billed city, stored bills and reading HTML tables."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.billing.models import Bill
from app.billing.periods import BillingPeriod


@dataclass(frozen=True)
class BilledCity:
    """A 20-account demo city whose cycle C1 is billed for November 2026."""

    period: BillingPeriod
    special_cases: dict[str, str]


def stored_bill(session: Session, number: str) -> Bill:
    """Return the one bill of the account with this number, as the database stores it."""
    return session.scalars(
        select(Bill).join(Account, Account.id == Bill.account_id).where(Account.number == number)
    ).one()


def dollars(amount: Decimal) -> str:
    """Format an amount the way the staff pages show US dollars: ``$1,234.56``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> list[list[list[str]]]:
    """Return every table of a page as rows of cell texts, whitespace collapsed.

    Header rows are included, so row 0 of each table is usually its column names.
    """
    parser = _TableParser()
    parser.feed(html)
    return parser.tables


def table_after_heading(html: str, heading: str) -> list[list[str]]:
    """Return the first table that follows ``<h2>heading</h2>`` on the page."""
    marker = f"<h2>{heading}</h2>"
    position = html.find(marker)
    if position < 0:
        raise AssertionError(f"heading {heading!r} not found on the page")
    tables = html_tables(html[position:])
    if not tables:
        raise AssertionError(f"no table after heading {heading!r}")
    return tables[0]
