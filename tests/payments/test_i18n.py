"""Message catalogs: English and Spanish carry the same messages, and both render."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir

from app.i18n import (
    format_date,
    format_local_time,
    format_money,
    jinja_environment,
    load_catalog,
    normalize_language,
    translations,
)
from app.settings import PROJECT_ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog_messages(language: str) -> dict[str, str]:
    """Return msgid to msgstr for every message but the header."""
    return {
        str(message.id): str(message.string)
        for message in load_catalog(language)
        if message.id
    }


def used_msgids() -> set[str]:
    """Extract every msgid that the code and the templates pass to gettext."""
    found: set[str] = set()
    sources = [
        ("app", [("**.py", "python")]),
        ("ivr_flows", [("**.py", "python")]),
        ("sms_flows", [("**.py", "python")]),
        ("templates", [("**.html", "jinja2.ext:babel_extract"),
                       ("**.txt", "jinja2.ext:babel_extract")]),
    ]
    for folder, method_map in sources:
        options = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern, _ in method_map}
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(Path(PROJECT_ROOT) / folder), method_map=method_map, options_map=options
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_catalogs_have_same_msgids() -> None:
    english = catalog_messages("en")
    spanish = catalog_messages("es")

    assert english, "the English catalog has no messages"
    assert set(spanish) - set(english) == set()
    assert set(english) - set(spanish) == set()


def test_every_spanish_msgstr_is_filled() -> None:
    untranslated = [msgid for msgid, text in catalog_messages("es").items() if not text.strip()]
    fuzzy = [str(message.id) for message in load_catalog("es") if message.id and message.fuzzy]

    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_msgstr_keeps_placeholders(language: str) -> None:
    for msgid, text in catalog_messages(language).items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_catalog_covers_every_msgid_used() -> None:
    used = used_msgids()
    english = set(catalog_messages("en"))

    assert "Payment receipt" in used
    assert used - english == set()
    assert english - used == set(), "the catalog has messages no code or template uses"


def test_message_renders_in_both_languages() -> None:
    template = "{{ _('Thank you for your payment.') }} {{ _('Check %(number)s', number=n) }}"

    english = jinja_environment("en").from_string(template).render(n="1180")
    spanish = jinja_environment("es").from_string(template).render(n="1180")

    assert english == "Thank you for your payment. Check 1180"
    assert spanish == "Gracias por su pago. Cheque 1180"


def test_unknown_language_falls_back_to_english() -> None:
    assert translations("fr").gettext("Cash") == "Cash"
    assert translations("").gettext("Cash") == "Cash"
    assert translations("es-MX").gettext("Cash") == "Efectivo"
    assert jinja_environment("de").from_string("{{ _('Print') }}").render() == "Print"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("es", "es"), ("ES", "es"), ("es-MX", "es"), ("es_US", "es"), ("en-GB", "en"),
     ("fr", "en"), ("", "en"), (None, "en")],
)
def test_normalize_language(tag: str | None, expected: str) -> None:
    assert normalize_language(tag) == expected


def test_money_and_dates_by_language() -> None:
    # 22:07 UTC on 4 December 2026 is 4:07 PM Central Standard Time (UTC-6).
    instant = dt.datetime(2026, 12, 4, 22, 7, tzinfo=dt.UTC)
    zone = ZoneInfo("America/Chicago")

    assert format_money(Decimal("1234.50"), "en", "USD") == "$1,234.50"
    assert format_money(Decimal("1234.50"), "es", "USD") == "$1,234.50"
    assert format_money(Decimal("-11.88"), "en", "USD") == "-$11.88"
    assert format_date(dt.date(2026, 12, 4), "en") == "December 4, 2026"
    assert format_date(dt.date(2026, 12, 4), "es") == "4 de diciembre de 2026"
    # CLDR puts a narrow no-break space before the AM/PM marker.
    assert format_local_time(instant, "en", zone).replace("\u202f", " ") == "4:07 PM CST"
    assert format_local_time(instant, "es", zone).replace("\u202f", " ") == "4:07 p.m. CST"
