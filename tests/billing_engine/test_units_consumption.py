"""Money rounding, unit conversion, register consumption and the winter average."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing_engine import (
    InvalidTariff,
    RegisterSegment,
    SuspectRead,
    Unit,
    UnitConversionError,
    convert,
    round_money,
    segment_consumption,
    total_consumption,
    winter_average,
)

D = Decimal


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("1.005", "1.01"), ("1.004999", "1.00"), ("-1.005", "-1.01"), ("2", "2.00"),
     ("0.125", "0.13")],
)
def test_round_money_half_up(amount: str, expected: str) -> None:
    assert round_money(D(amount)) == D(expected)
    assert str(round_money(D(amount))) == expected


def test_ccf_to_ft3_and_therm() -> None:
    assert convert(D(5), Unit.CCF, Unit.FT3) == D(500)
    assert convert(D(5), Unit.CCF, Unit.THERM, therms_per_ccf=D("1.037")) == D("5.185")


def test_therm_to_ccf_and_ft3() -> None:
    ccf = convert(D("3.66"), Unit.THERM, Unit.CCF, therms_per_ccf=D("1.037"))
    ft3 = convert(D("3.66"), Unit.THERM, Unit.FT3, therms_per_ccf=D("1.037"))

    assert round(ccf, 2) == D("3.53")
    assert round(ft3, 0) == D(353)


def test_ccf_to_gallons() -> None:
    # 100 ft3 x 1728 / 231 = 748.0519...
    assert round(convert(D(1), Unit.CCF, Unit.GAL), 2) == D("748.05")


def test_m3_and_kgal() -> None:
    assert convert(D("3.785411784"), Unit.M3, Unit.KGAL) == D(1)
    assert convert(D(2), Unit.KGAL, Unit.GAL) == D(2000)


def test_conversion_has_28_digits() -> None:
    gallons = convert(D(1), Unit.FT3, Unit.GAL)

    assert len(gallons.as_tuple().digits) == 28
    assert str(gallons).startswith("7.480519480519")


def test_volume_to_therm_needs_factor() -> None:
    with pytest.raises(UnitConversionError) as caught:
        convert(D(1), Unit.CCF, Unit.THERM)

    assert caught.value.code == "heat_factor_required"
    assert "therms_per_ccf" in str(caught.value)


@pytest.mark.parametrize("other", [Unit.GAL, Unit.THERM, Unit.CCF])
def test_kwh_never_converts(other: Unit) -> None:
    with pytest.raises(UnitConversionError):
        convert(D(1), Unit.KWH, other, therms_per_ccf=D(1))


def reads(start: str, end: str, dials: int | None = 4, multiplier: str = "1") -> RegisterSegment:
    return RegisterSegment("M1", "1", D(start), D(end), dials, D(multiplier))


def test_plain_consumption_with_multiplier() -> None:
    assert segment_consumption(reads("1200", "1250", multiplier="10")) == D(500)


def test_rollover() -> None:
    # 4 dials: 9990 -> 0015 wraps 10000 - 9990 + 15 = 25
    assert segment_consumption(reads("9990", "15")) == D(25)


def test_large_drop_is_suspect() -> None:
    with pytest.raises(SuspectRead) as caught:
        segment_consumption(reads("5000", "100"))

    assert caught.value.code == "suspect_possible_meter_exchange"
    assert "start read 5,000" in str(caught.value)
    assert "100" in str(caught.value)


def test_drop_without_dials_is_suspect() -> None:
    with pytest.raises(SuspectRead):
        segment_consumption(reads("9990", "15", dials=None))


def test_rollover_fraction_is_configurable() -> None:
    # Wrapped 5100 of 10000 is a rollover only when the fraction exceeds 0.51.
    assert segment_consumption(reads("5000", "100"), rollover_fraction=D("0.6")) == D(5100)


def test_meter_changeout_total() -> None:
    old = RegisterSegment("OLD", "1", D("17000.000"), D("17077.963"), 5, D(1))
    new = RegisterSegment("NEW", "1", D("0.000"), D("212.500"), 5, D(1))

    assert total_consumption([old, new]) == D("290.463")


WINTER = {(2023, 12): D(6), (2024, 1): D(7), (2024, 2): D(8), (2024, 3): D(20)}


def test_winter_average_last_complete_winter() -> None:
    assert winter_average(WINTER, (12, 1, 2), date(2024, 7, 1)) == D(7)
    # The winter ends with February, so a period starting March 1 may use it.
    assert winter_average(WINTER, (12, 1, 2), date(2024, 3, 1)) == D(7)


def test_winter_average_missing_month() -> None:
    # A period starting Feb 15 2024 uses the winter of Dec 2022 to Feb 2023: missing.
    assert winter_average(WINTER, (12, 1, 2), date(2024, 2, 15)) is None


def test_winter_average_long_winter() -> None:
    history = {(2023, 11): D(1), (2023, 12): D(2), (2024, 1): D(3), (2024, 2): D(4),
               (2024, 3): D(5)}

    assert winter_average(history, (11, 12, 1, 2, 3), date(2024, 6, 1)) == D(3)


def test_winter_months_must_be_contiguous() -> None:
    with pytest.raises(InvalidTariff):
        winter_average(WINTER, (12, 2), date(2024, 7, 1))
