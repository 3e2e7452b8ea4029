"""Customer reply templates: each fits its declared segment budget in both languages.

Every template in templates/sms/ opens with ``{#- segment budget: en=N es=M -#}``. Each is
rendered here with the longest values it meets in practice (the largest amounts, the
longest month names, a production-length link) and counted with the segment counter.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.messaging.segments import count_segments
from app.settings import PROJECT_ROOT
from sms_flows import replies

TEMPLATES = Path(PROJECT_ROOT) / "templates" / "sms"
BUDGET = re.compile(r"\{#- segment budget: en=(\d+) es=(\d+) -#\}")

#: A production-length public address and a 32-character link token.
LONG_URL = "https://pay.riverbendutilities.org/bill/" + "x" * 32
LONGEST_DATE = {"en": "September 30, 2026", "es": "30 de septiembre de 2026"}
#: Three months whose short names are among the longest in both languages.
LONG_MONTHS = [dt.date(2026, 9, 1), dt.date(2026, 8, 1), dt.date(2026, 7, 1)]


def longest_context(name: str, language: str) -> dict[str, Any]:
    """Return the longest realistic values each template is rendered with."""
    amount = replies.money(Decimal("12345.67"), language)
    common: dict[str, Any] = {"last4": "4567", "amount": amount, "card": "4242"}
    periods = [(replies.month(day, language), "123,456 gal, 12,345 kWh") for day in LONG_MONTHS]
    contexts: dict[str, dict[str, Any]] = {
        "balance": {"amount_due": amount, "due_date": LONGEST_DATE[language],
                    "past_due": amount, "credit": None},
        "bill": {"total": amount, "due_date": LONGEST_DATE[language], "url": LONG_URL,
                 "hours": 72},
        "choose_account": {"word": "AUTOPAGO" if language == "es" else "AUTOPAY",
                           "endings": ["4567", "8910", "1234"]},
        "pay_link": {"url": LONG_URL.replace("/bill/", "/pay/"), "hours": 72},
        "pay_confirm": {"minutes": 10, "reason": "changed"},
        "autopay_offer": {"minutes": 10, "reason": "expired"},
        "autopay_on": {"method": "bank", "ending": "6789"},
        "nothing_pending": {"answer": "yes"},
        "canceled": {"kind": "autopay"},
        "report": {"kind": "outage", "number": 123456},
        "opted_out": {"scope": "billing"},
        "opted_in": {"scope": "billing"},
        "usage": {"periods": periods},
    }
    return {**common, **contexts.get(name, {})}


def template_names() -> list[str]:
    return sorted(path.stem for path in TEMPLATES.glob("*.txt"))


def test_every_template_declares_budget() -> None:
    missing = [name for name in template_names()
               if not BUDGET.match((TEMPLATES / f"{name}.txt").read_text(encoding="utf-8"))]

    assert template_names(), "no templates found in templates/sms/"
    assert missing == []


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("name", template_names())
def test_template_within_budget(name: str, language: str) -> None:
    source = (TEMPLATES / f"{name}.txt").read_text(encoding="utf-8")
    declared = BUDGET.match(source)
    assert declared is not None
    budget = int(declared.group(1 if language == "en" else 2))

    text = replies.render(name, language, **longest_context(name, language))
    count = count_segments(text)

    assert text
    assert count.segments <= budget, f"{count.segments} {count.encoding} segments: {text}"
    assert budget <= 2, "customer replies are kept to two segments"


@pytest.mark.parametrize("name", template_names())
def test_english_template_is_gsm7(name: str) -> None:
    text = replies.render(name, "en", **longest_context(name, "en"))

    assert count_segments(text).encoding == "GSM-7", text
