"""The scaled-integer load of load_csv: rate_year must match the Decimal path digit for digit.

The tests compare repr() because it shows each Decimal's exponent, which == ignores.
"""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from billing_engine import InvalidLoad, Tariff, load_csv, rate_year, tariff_from_urdb
from billing_engine.scaled_load import LoadList, scale_load, scaled_form_of

DATA = Path(__file__).resolve().parent.parent / "data"
# Time-of-use energy with tiers, flat and time-of-use demand: every aggregate is used.
TARIFFS = (
    "austin_energy__residential.json",
    "pge__e19_medium_general_demand_tou_secondary.json",
    "xcel_psco__re_tou_residential_energy_tou.json",
    "fpl__gsld1_general_service_large_demand.json",
)


def urdb(name: str) -> Tariff:
    return tariff_from_urdb(json.loads((DATA / "tariffs" / "urdb" / name).read_text()))


def write_load(path: Path, values: list[str]) -> Path:
    path.write_text("kWh\n" + "\n".join(values) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("load_name", ["residential", "commercial"])
@pytest.mark.parametrize("tariff_name", TARIFFS)
def test_sample_loads_match_decimal_path(load_name: str, tariff_name: str) -> None:
    load = load_csv(DATA / "loads" / f"{load_name}_sam_default_8760.csv")
    tariff = urdb(tariff_name)

    assert scaled_form_of(load) is not None
    scaled = rate_year(tariff, load, year=2018)
    plain = rate_year(tariff, list(load), year=2018)
    assert repr(scaled) == repr(plain)


def test_trailing_zeros_and_exponents_kept(tmp_path: Path) -> None:
    # Trailing zeros, exponents, a sign and integers: each sum keeps the most decimal
    # places of its terms, as a Decimal sum does.
    forms = ["1.50", "2", "0.000", "+3.25", "4E-2", "5E+1", "0.1000000", "7."]
    values = [forms[i % len(forms)] for i in range(8760)]
    load = load_csv(write_load(tmp_path / "load.csv", values))
    tariff = urdb(TARIFFS[1])

    assert scaled_form_of(load) is not None
    assert repr(rate_year(tariff, load, year=2018)) == repr(
        rate_year(tariff, list(load), year=2018)
    )


def test_sum_beyond_precision_uses_decimals(tmp_path: Path) -> None:
    # 26 decimal places: a month's sum has more than 28 digits, so Decimal rounds it.
    values = [f"{i % 97}.{(i * 7919) % 10**26:026d}" for i in range(8760)]
    load = load_csv(write_load(tmp_path / "long.csv", values))
    tariff = urdb(TARIFFS[0])

    assert scaled_form_of(load) is not None
    assert repr(rate_year(tariff, load, year=2018)) == repr(
        rate_year(tariff, list(load), year=2018)
    )


def test_lower_context_precision_respected() -> None:
    load = load_csv(DATA / "loads" / "commercial_sam_default_8760.csv")
    tariff = urdb(TARIFFS[1])

    with localcontext() as context:
        context.prec = 12
        scaled = rate_year(tariff, load, year=2018)
        plain = rate_year(tariff, list(load), year=2018)
    assert repr(scaled) == repr(plain)


@pytest.mark.parametrize(
    "change",
    [
        lambda load: load.__setitem__(5000, Decimal("99.5")),
        lambda load: load.sort(),
        lambda load: load.reverse(),
        lambda load: (load.append(Decimal(1)), load.pop(0)),
        lambda load: (load.insert(0, Decimal(2)), load.remove(Decimal(2))),
        lambda load: load.__setitem__(slice(0, 2), [Decimal(3), Decimal(4)]),
    ],
)
def test_change_drops_scaled_form(change: object) -> None:
    load = load_csv(DATA / "loads" / "residential_sam_default_8760.csv")
    tariff = urdb(TARIFFS[1])
    change(load)  # type: ignore[operator]

    assert scaled_form_of(load) is None
    assert repr(rate_year(tariff, load, year=2018)) == repr(
        rate_year(tariff, list(load), year=2018)
    )


def test_negative_value_message_unchanged(tmp_path: Path) -> None:
    values = ["1.5"] * 100 + ["-0.25"] + ["2"] * 8659
    load = load_csv(write_load(tmp_path / "negative.csv", values))

    assert scaled_form_of(load) is None
    with pytest.raises(InvalidLoad, match=r"load value 100 is negative \(-0.25 kWh\)"):
        rate_year(urdb(TARIFFS[0]), load, year=2018)


def test_scale_load_rejects_signed_and_special() -> None:
    assert scale_load([Decimal("1"), Decimal("-0")]) is None
    assert scale_load([Decimal("1"), Decimal("NaN")]) is None
    assert scale_load([Decimal("1"), 2]) is None  # type: ignore[list-item]


def test_scale_load_values_exact() -> None:
    scaled = scale_load([Decimal("1.50"), Decimal("2E+1"), Decimal("0.001")])

    assert scaled is not None
    assert scaled.places == 3
    assert scaled.flag_bits == 2
    # value * 1000, shifted by two flag bits; only 0.001 has the most decimal places.
    assert scaled.packed == (1500 << 2, 20000 << 2, (1 << 2) | 1)
    assert scaled.value_places == (2, 0, 3)


def test_plain_list_has_no_scaled_form() -> None:
    assert scaled_form_of([Decimal(1)]) is None
    assert scaled_form_of(LoadList([Decimal(1)])) is None


def test_peak_tie_keeps_first_value(tmp_path: Path) -> None:
    # 9.5 and 9.50 tie for January's peak. The Decimal path keeps the first, 9.5, so the
    # scaled path must too, although 9.50 carries the flag of the most decimal places.
    values = ["1.25"] * 8760
    values[10] = "9.5"
    values[20] = "9.50"
    load = load_csv(write_load(tmp_path / "tie.csv", values))
    tariff = urdb("fpl__gsld1_general_service_large_demand.json")

    scaled = rate_year(tariff, load, year=2018)
    plain = rate_year(tariff, list(load), year=2018)
    assert repr(scaled) == repr(plain)
    demand = [line for line in scaled.months[0].lines if line.kind == "demand"]
    assert [str(line.quantity) for line in demand] == ["9.5"]
