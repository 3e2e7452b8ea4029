"""Segment budgets of every customer text template, and the field cases of segment counting.

Each template under ``templates/sms/`` and ``templates/alerts/`` opens with its budget,
``{#- segment budget: en=N es=N -#}``: the most segments it may take in each language.
The test renders each template in both languages with the longest realistic value of
each variable, trying every branch value, and counts the segments of what the customer
receives. Spanish accents are kept, so a Spanish text with á, í, ó or ú is UCS-2 and
budgeted as such. A template may not contain avoidable non-GSM punctuation (curly
quotes, dashes, no-break spaces), which would make a whole text UCS-2.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta

from app.i18n import TEMPLATES_DIR, jinja_environment
from app.messaging.segments import SegmentCount, avoidable_characters, count_segments

BUDGET = re.compile(r"\A\{#-?\s*segment budget: en=(\d+) es=(\d+)\s*-?#\}")

#: A long utility name (41 characters); a longer one may exceed the budgets.
UTILITY = "City of Riverbend Water & Light Utilities"
LONG_DATE = {"en": "September 30, 2026", "es": "30 de septiembre de 2026"}
#: A public base URL of 39 characters and a 32-character token.
LINK = "https://riverbend-utilities.example.com/bill/" + "x" * 32

#: Candidate values of each variable of templates/sms/: pre-formatted strings, as the
#: text channel passes them. A dict gives the value per language.
SMS_VALUES: dict[str, list[Any]] = {
    "utility_name": [UTILITY],
    "office_phone": ["+15125550100"],
    "last4": ["4567"],
    "card": ["4242"],
    "ending": ["6789"],
    "amount": ["$99,999.99"],
    "amount_due": ["$99,999.99"],
    "total": ["$99,999.99"],
    "credit": [None, "$9,999.99"],
    "past_due": [None, "$99,999.99"],
    "due_date": [None, LONG_DATE],
    "url": [LINK],
    "hours": [72],
    "minutes": [10],
    "number": ["123456"],
    "word": ["AUTOPAY", "AUTOPAGO"],
    "endings": [["4567", "8910", "1112"]],
    "periods": [
        {
            "en": [("Sep 2026", "12,345 gal, 1,234 kWh")] * 3,
            "es": [("sept 2026", "12,345 gal, 1,234 kWh")] * 3,
        }
    ],
    "reason": [None, "expired", "changed"],
    "kind": ["outage", "leak", "autopay", "payment"],
    "scope": ["billing", "alerts", "both"],
    "answer": ["no", "yes"],
    "method": ["bank", "card"],
    "already_open": [False, True],
    "nothing_due": [False, True],
    "report": [False, True],
}

#: Candidate values of each variable of templates/alerts/: the objects the alert code
#: passes (amounts as Decimal, dates as date), formatted by the templates' filters.
ALERT_VALUES: dict[str, list[Any]] = {
    "utility": [UTILITY],
    "phone": ["512-555-0100"],
    "last4": ["4567"],
    "amount": [Decimal("99999.99")],
    "fee": [Decimal("0"), Decimal("99.99")],
    "credit": [Decimal("0"), Decimal("99999.99")],
    "due_date": [dt.date(2026, 9, 30)],
    "received_on": [dt.date(2026, 9, 30)],
    "since": [dt.date(2026, 9, 30)],
    "quantity": ["99,999"],
    "unit": ["therm", "kWh"],
    "autopay": [False, True],
    "service": ["water", "sewer", "electric", "gas"],
    "restore_on": [dt.date(2026, 9, 30)],
    # 17:07 UTC is 12:07 PM CDT, the longest clock time.
    "restore_at": [None, dt.datetime(2026, 9, 30, 17, 7, tzinfo=dt.UTC)],
}

FOLDERS = {"sms": SMS_VALUES, "alerts": ALERT_VALUES}


def templates() -> list[str]:
    return sorted(
        f"{folder}/{path.name}"
        for folder in FOLDERS
        for path in (Path(TEMPLATES_DIR) / folder).glob("*.txt")
    )


def source_of(name: str) -> str:
    return (Path(TEMPLATES_DIR) / name).read_text(encoding="utf-8")


def renderings(name: str, language: str) -> list[str]:
    """Render ``name`` with every combination of candidate values, as sent (one line)."""
    environment = jinja_environment(language)
    variables = sorted(
        meta.find_undeclared_variables(environment.parse(source_of(name)))
        - set(environment.globals)
    )
    table = FOLDERS[name.split("/")[0]]
    missing = [variable for variable in variables if variable not in table]
    assert missing == [], f"{name}: add the longest realistic value of {missing} to the table"
    texts = []
    for combination in itertools.product(*(table[variable] for variable in variables)):
        values = {
            variable: value[language] if isinstance(value, dict) else value
            for variable, value in zip(variables, combination, strict=True)
        }
        text = environment.get_template(name).render(**values)
        texts.append(" ".join(text.split()))
    return texts


def test_templates_found() -> None:
    names = templates()

    assert "alerts/bill_ready.txt" in names
    assert "alerts/outage.txt" in names


@pytest.mark.parametrize("name", templates())
def test_template_declares_budget(name: str) -> None:
    assert BUDGET.match(source_of(name)), (
        f"{name} must open with {{#- segment budget: en=N es=N -#}}"
    )


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("name", templates())
def test_template_within_budget(name: str, language: str) -> None:
    budget = BUDGET.match(source_of(name))
    assert budget is not None
    allowed = int(budget.group(1 if language == "en" else 2))

    for text in renderings(name, language):
        count = count_segments(text)
        assert count.segments <= allowed, f"{name} ({language}): {count} for {text!r}"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("name", templates())
def test_no_avoidable_non_gsm(name: str, language: str) -> None:
    assert avoidable_characters(source_of(name)) == []
    for text in renderings(name, language):
        assert avoidable_characters(text) == [], f"{name} ({language}): {text!r}"


def test_spanish_accents_kept() -> None:
    [text, *_] = renderings("alerts/autopay_failed.txt", "es")

    assert "automático" in text
    assert count_segments(text).encoding == "UCS-2"


def test_babel_time_spaces_removed() -> None:
    # Babel writes "12:07\u202fPM"; the rendered alert has a plain space.
    texts = renderings("alerts/outage.txt", "en")

    assert any("12:07 PM CDT" in text for text in texts)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param(
            "We\u2019re here to help. Reply PAY to pay $84.12.",
            SegmentCount("UCS-2", 1, 44),
            id="curly-apostrophe",
        ),
        pytest.param("Su pago está confirmado.", SegmentCount("UCS-2", 1, 24), id="a-acute"),
        pytest.param("Niño año", SegmentCount("GSM-7", 1, 8), id="n-tilde"),
        pytest.param("Reply PAY [1]", SegmentCount("GSM-7", 1, 15), id="brackets"),
        pytest.param("x" * 161, SegmentCount("GSM-7", 2, 161), id="161-ascii"),
    ],
)
def test_field_case_inputs(template: str, expected: SegmentCount) -> None:
    rendered = jinja_environment("en").from_string(template).render()

    assert count_segments(rendered) == expected


def test_curly_apostrophe_flagged() -> None:
    assert avoidable_characters("We\u2019re here \u2013 to help.") == ["\u2019", "\u2013"]
    assert avoidable_characters("Su pago está confirmado. Niño año [1]") == []
