"""Jinja2 environment and the one filter that formats money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from fastapi.templating import Jinja2Templates

from app.settings import PROJECT_ROOT, get_settings

TEMPLATES_DIR = Path(PROJECT_ROOT) / "templates"

CURRENCY_SYMBOLS = {"USD": "$", "CAD": "$", "EUR": "€", "GBP": "£", "MXN": "$"}


def format_money(amount: Decimal | None) -> str:
    """Format an amount as ``$1,234.56`` or ``-$12.00`` in the utility's currency."""
    if amount is None:
        return ""
    currency = get_settings().currency
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


def format_quantity(value: Decimal | str | None) -> str:
    """Format a quantity with thousands separators and at most six decimals."""
    if value is None:
        return ""
    text = f"{Decimal(value):,.6f}".rstrip("0").rstrip(".")
    return text or "0"


def last_day(end: dt.date) -> dt.date:
    """Return the last day a half-open period covers, the day before its end."""
    return end - dt.timedelta(days=1)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["money"] = format_money
    templates.env.filters["quantity"] = format_quantity
    templates.env.filters["last_day"] = last_day
    templates.env.globals["utility_name"] = get_settings().utility_name
    return templates
