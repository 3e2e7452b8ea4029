"""``upm rate``: rate a year of hourly load against a tariff file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from billing_engine import (
    RatingError,
    Tariff,
    YearCharges,
    load_csv,
    rate_year,
    tariff_from_document,
    tariff_from_urdb,
)

_COLUMNS = (
    "energy_charge",
    "demand_charge",
    "fixed_charge",
    "minimum_charge_adjustment",
    "total",
)


def _read_tariff(path: Path, ignore_unsupported: bool) -> Tariff:
    """Read a native tariff document or a URDB record (bare, or an API ``items`` list)."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RatingError(f"{path}: invalid JSON ({error})", code="invalid_tariff") from None
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        if len(document["items"]) != 1:
            raise RatingError(
                f"{path}: the URDB response contains {len(document['items'])} rates; save one",
                code="invalid_tariff",
            )
        document = document["items"][0]
    if isinstance(document, dict) and "charges" in document:
        return tariff_from_document(document)
    if not isinstance(document, dict):
        raise RatingError(f"{path}: expected a JSON object", code="invalid_tariff")
    return tariff_from_urdb(document, ignore_unsupported=ignore_unsupported)


def _as_json(tariff: Tariff, result: YearCharges) -> str:
    months = [
        {"month": m.month, **{column: str(getattr(m, column)) for column in _COLUMNS}}
        for m in result.months
    ]
    payload = {
        "tariff": tariff.code,
        "year": result.year,
        "ignored_features": list(tariff.ignored_features),
        "months": months,
        "annual_total": str(result.total),
    }
    return json.dumps(payload, indent=2)


def _as_table(tariff: Tariff, result: YearCharges) -> Table:
    table = Table(title=f"{tariff.name} ({tariff.code}), {result.year}")
    table.add_column("month", justify="right")
    for column in _COLUMNS:
        table.add_column(column.replace("_", " "), justify="right")
    for month in result.months:
        table.add_row(str(month.month), *(f"{getattr(month, c):,}" for c in _COLUMNS))
    table.add_section()
    table.add_row("year", "", "", "", "", f"{result.total:,}")
    return table


#: Rows in a year of quarter-hour data, in a common and in a leap year.
QUARTER_HOUR_ROWS = (35040, 35136)


def _interval_minutes(load: list[Any]) -> int:
    """Tell hourly from quarter-hour data by the number of rows."""
    return 15 if len(load) in QUARTER_HOUR_ROWS else 60


def rate_command(
    tariff_file: Annotated[
        Path, typer.Argument(help="Tariff JSON: a URDB rate record or a native upm tariff.")
    ],
    load_file: Annotated[
        Path,
        typer.Argument(
            help="Load CSV: header 'kWh', then one value per hour (8760 or 8784 rows) or per "
            "15 minutes (35040 or 35136 rows) of the year."
        ),
    ],
    year: Annotated[
        int, typer.Option(help="Calendar year of the load; 2018 starts on a Monday like SAM's.")
    ] = 2018,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON with amounts as decimal strings.")
    ] = False,
    ignore_unsupported: Annotated[
        bool,
        typer.Option(
            "--ignore-unsupported",
            help="Drop tariff features the engine cannot bill (coincident demand, kVA, "
            "ratchets) instead of failing.",
        ),
    ] = False,
) -> None:
    """Rate a year of hourly load against a tariff and print each month's charges."""
    error_console = Console(stderr=True)
    try:
        tariff = _read_tariff(tariff_file, ignore_unsupported)
        load = load_csv(load_file)
        result = rate_year(tariff, load, year=year, interval_minutes=_interval_minutes(load))
    except RatingError as error:
        error_console.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    except OSError as error:
        error_console.print(
            f"error: cannot read {error.filename}: {error.strerror}",
            markup=False, highlight=False, soft_wrap=True,
        )
        raise typer.Exit(code=2) from None

    if as_json:
        typer.echo(_as_json(tariff, result))
        return
    console = Console()
    if tariff.ignored_features:
        console.print(
            "ignored tariff features: " + ", ".join(tariff.ignored_features),
            markup=False, highlight=False,
        )
    console.print(_as_table(tariff, result))
