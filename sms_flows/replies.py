"""Rendering customer replies from ``templates/sms/*.txt`` in English or Spanish.

Each template opens with a comment naming its segment budget. A reply is sent as one
paragraph: the template's line breaks and runs of spaces become single spaces, so the
segment count is the count of what the customer receives. Values are formatted here
(money, dates, quantities), so the templates do no arithmetic.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal

from app.i18n import BABEL_LOCALES, format_date, format_money, jinja_environment
from app.i18n import normalize_language as normalize
from app.settings import get_settings


def render(name: str, language: str, **context: Any) -> str:
    """Render ``templates/sms/{name}.txt`` in ``language`` as one line of text.

    Every template may use ``utility_name`` and ``office_phone``.
    """
    settings = get_settings()
    template = jinja_environment(language).get_template(f"sms/{name}.txt")
    text = template.render(
        utility_name=settings.utility_name, office_phone=settings.office_phone, **context
    )
    return " ".join(text.split())


def money(amount: Decimal, language: str) -> str:
    return format_money(amount, language)


def day(value: dt.date, language: str) -> str:
    """Format a date as the language writes it, such as ``December 10, 2026``."""
    return format_date(value, language)


def month(value: dt.date, language: str) -> str:
    """Format a month, such as ``Nov 2026`` or ``nov 2026``."""
    return format_date(value, language, "MMM y")


def quantity(value: Decimal, language: str) -> str:
    """Format a quantity without trailing zeros, such as ``4,000`` or ``12.5``."""
    return format_decimal(value.normalize(), locale=BABEL_LOCALES[normalize(language)])
