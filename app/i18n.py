"""Message catalogs and formatting for customer-facing text in English and Spanish.

The catalogs are gettext ``.po`` files under ``app/locales/<language>/LC_MESSAGES/``,
one file per part of the product.
They are read with Babel when first needed and turned into ``Translations`` in memory,
so a fresh clone needs no compile step. A msgid is the English text itself, so a message
missing from a catalog still reads in English.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_timezone_name
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.settings import PROJECT_ROOT, get_settings

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
TEMPLATES_DIR = Path(PROJECT_ROOT) / "templates"
DOMAIN = "messages"

DEFAULT_LANGUAGE = "en"
SUPPORTED_LANGUAGES = ("en", "es")

#: The Babel locale that formats numbers and dates for each language.
# NOTE: both are United States conventions ($1,234.50, 12-hour clock). A utility in
# another country needs its own locale for each language here.
BABEL_LOCALES = {"en": "en_US", "es": "es_US"}


def normalize_language(language: str | None) -> str:
    """Return the supported language for a tag such as ``es``, ``es-MX`` or ``ES_us``.

    An empty, missing or unsupported tag gives English.
    """
    if not language:
        return DEFAULT_LANGUAGE
    primary = language.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def catalog_paths(language: str) -> list[Path]:
    """Return the ``.po`` files of a language (of English for an unknown language).

    Each part of the product keeps its own file (``messages.po`` for bills and pages,
    ``ivr.po``, ``sms.po``, ``alerts.po``); together they are one catalog.
    """
    folder = LOCALES_DIR / normalize_language(language) / "LC_MESSAGES"
    return sorted(folder.glob("*.po"))


def load_catalog(language: str) -> Catalog:
    """Read every ``.po`` file of a language into one catalog.

    The same msgid in two files must carry the same translation.
    """
    locale = BABEL_LOCALES[normalize_language(language)]
    merged = Catalog(locale=locale, domain=DOMAIN)
    for path in catalog_paths(language):
        with path.open("rb") as handle:
            part = read_po(handle, locale=locale)
        for message in part:
            if not message.id:
                continue
            earlier = merged.get(message.id, message.context)
            if earlier is not None and earlier.string != message.string:
                raise ValueError(
                    f"{path.name} translates {message.id!r} differently from another "
                    "catalog file; use one translation or a msgctxt"
                )
            merged[message.id] = message
    return merged


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def _translations(language: str) -> Translations:
    compiled = io.BytesIO()
    write_mo(compiled, load_catalog(language))
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def translations(language: str) -> Translations:
    """Return the translations of ``language``, or English for an unknown language."""
    return _translations(normalize_language(language))


def format_money(amount: Decimal, language: str, currency: str | None = None) -> str:
    """Format an amount as the language writes it, in the utility's currency by default."""
    return format_currency(
        amount,
        currency or get_settings().currency,
        locale=BABEL_LOCALES[normalize_language(language)],
    )


def format_date(day: dt.date, language: str, style: str = "long") -> str:
    """Format a local calendar date, such as ``December 4, 2026`` or ``4 de diciembre de 2026``."""
    return babel_format_date(day, format=style, locale=BABEL_LOCALES[normalize_language(language)])


def format_local_time(instant: dt.datetime, language: str, zone: ZoneInfo | None = None) -> str:
    """Format the clock time of a UTC instant in the utility's zone, such as ``4:07 PM CST``."""
    zone = zone or get_settings().zone
    locale = BABEL_LOCALES[normalize_language(language)]
    local = instant.astimezone(zone)
    clock = babel_format_time(local, format="short", tzinfo=zone, locale=locale)
    return f"{clock} {get_timezone_name(local, width='short', locale=locale)}"


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def _environment(language: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        extensions=["jinja2.ext.i18n"],
        # Plain-text templates (.txt, for e-mail) are not escaped.
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    # The i18n extension adds this method at run time, so type checkers do not see it.
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )
    environment.globals["language"] = language
    environment.filters["money"] = lambda amount: format_money(amount, language)
    environment.filters["date"] = lambda day: format_date(day, language)
    environment.filters["local_time"] = lambda instant: format_local_time(instant, language)
    return environment


def jinja_environment(language: str) -> Environment:
    """Return the Jinja2 environment of ``templates/`` that renders in ``language``.

    Templates call ``_()`` and ``ngettext()`` from the ``jinja2.ext.i18n`` extension in
    its new style, so ``_("Check %(number)s", number=n)`` formats and escapes. The
    ``money``, ``date`` and ``local_time`` filters format in the same language. An unknown
    language renders in English.
    """
    return _environment(normalize_language(language))
