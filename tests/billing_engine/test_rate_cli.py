"""``upm rate`` through Typer's test runner, on a small app like the real one."""

from __future__ import annotations

import importlib.util
import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import typer
from pysam_oracle import LOADS, TARIFFS
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
AUSTIN = str(TARIFFS / "austin_energy__residential.json")
PECO = str(TARIFFS / "peco__gs_ht_high_tension.json")
SEWARD = str(TARIFFS / "seward_county_ppd__urban_general_service_d28_DEFECTIVE.json")
RESIDENTIAL = str(LOADS / "residential_sam_default_8760.csv")


def load_rate_module() -> ModuleType:
    # Load the module file directly so this test does not depend on the rest of app.cli.
    spec = importlib.util.spec_from_file_location("rate_cli", ROOT / "app" / "cli" / "rate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("rate")(load_rate_module().rate_command)

    @app.command("version")
    def version() -> None:
        """A second command, so ``rate`` is a subcommand as in the real CLI."""

    return app


runner = CliRunner()


def test_table_output() -> None:
    result = runner.invoke(make_app(), ["rate", AUSTIN, RESIDENTIAL])

    assert result.exit_code == 0, result.output
    assert "energy" in result.output
    assert "1,119.26" in result.output


def test_json_output() -> None:
    result = runner.invoke(make_app(), ["rate", AUSTIN, RESIDENTIAL, "--json", "--year", "2018"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert len(payload["months"]) == 12
    assert payload["months"][0]["fixed_charge"] == "10.00"
    total = sum(Decimal(m["total"]) for m in payload["months"])
    assert Decimal(payload["annual_total"]) == total


def test_unsupported_feature_exit_2() -> None:
    result = runner.invoke(make_app(), ["rate", PECO, RESIDENTIAL])

    assert result.exit_code == 2
    assert "coincidentratestructure" in result.output
    assert "--ignore-unsupported" in result.output


def test_ignore_unsupported_flag() -> None:
    result = runner.invoke(make_app(), ["rate", PECO, RESIDENTIAL, "--json",
                                        "--ignore-unsupported"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ignored_features"] == ["coincidentratestructure"]


def test_invalid_tariff_exit_2() -> None:
    result = runner.invoke(make_app(), ["rate", SEWARD, RESIDENTIAL])

    assert result.exit_code == 2
    assert "energyweekdayschedule month 1 hour 0 names period 1" in result.output


def test_bad_load_length_exit_2(tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("kWh\n" + "1\n" * 100)
    result = runner.invoke(make_app(), ["rate", AUSTIN, str(short)])

    assert result.exit_code == 2
    assert "load has 100 values" in result.output


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(make_app(), ["rate", str(tmp_path / "none.json"), RESIDENTIAL])

    assert result.exit_code == 2
    assert "cannot read" in result.output
