"""Decoding Modbus registers to Decimal: byte orders, float32 rounding, plausibility, wraps.

The byte-order vectors serve one float32 in each of the four orders. The expected values
come from the IEEE 754 bit patterns, decoded by hand: 0x4640E6AE is 12345.67, 0xBF8E147B
is -1.11 and 0x41FB77DA is 31.43352 (31.4335 within 1e-4).
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from metering.modbus.counters import unwrap_counter
from metering.modbus.decode import (
    ByteOrder,
    DataType,
    PlausibilityError,
    check_plausible,
    decode_registers,
    encode_registers,
    float32_to_decimal,
)
from metering.modbus.maps import (
    MapKind,
    RegisterMapError,
    available_maps,
    load_map,
    parse_map,
)

BYTE_ORDER_PROFILES = [
    (ByteOrder.ABCD, [0x4640, 0xE6AE], Decimal("12345.67")),
    (ByteOrder.CDAB, [0xE6AE, 0x4640], Decimal("12345.67")),
    (ByteOrder.BADC, [0x8EBF, 0x7B14], Decimal("-1.11")),
    (ByteOrder.DCBA, [0xDA77, 0xFB41], Decimal("31.4335")),
]


@pytest.mark.parametrize(("order", "registers", "expected"), BYTE_ORDER_PROFILES)
def test_float32_in_each_byte_order(
    order: ByteOrder, registers: list[int], expected: Decimal
) -> None:
    number = decode_registers(registers, DataType.FLOAT32, order)
    assert isinstance(number, float)
    assert abs(float32_to_decimal(number) - expected) <= Decimal("0.0001")


def test_float32_keeps_two_decimals_exactly() -> None:
    number = decode_registers([0x4640, 0xE6AE], DataType.FLOAT32, ByteOrder.ABCD)
    assert float32_to_decimal(number) == Decimal("12345.67")


def test_abcd_decode_of_badc_pair_is_rejected() -> None:
    number = decode_registers([0x8EBF, 0x7B14], DataType.FLOAT32, ByteOrder.ABCD)
    assert -5e-30 < number < -4.6e-30
    # Rounded to a millionth it would pass for zero, so it must be rejected before rounding.
    with pytest.raises(PlausibilityError, match="implausibly small"):
        float32_to_decimal(number)


@pytest.mark.parametrize(
    ("order", "registers"),
    [
        (ByteOrder.CDAB, [0x4640, 0xE6AE]),
        (ByteOrder.ABCD, [0xE6AE, 0x4640]),
        (ByteOrder.ABCD, [0xDA77, 0xFB41]),
    ],
)
def test_other_wrong_orders_exceed_maximum(order: ByteOrder, registers: list[int]) -> None:
    value = float32_to_decimal(float(decode_registers(registers, DataType.FLOAT32, order)))
    with pytest.raises(PlausibilityError, match="above the maximum|below the minimum"):
        check_plausible("power", value, minimum=Decimal(-1e6), maximum=Decimal(1e6))


@pytest.mark.parametrize("order", list(ByteOrder))
@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.UINT16, 0x1234),
        (DataType.INT16, -2),
        (DataType.UINT32, 0x12345678),
        (DataType.INT32, -123456789),
        (DataType.FLOAT32, 0.5),
    ],
)
def test_encode_then_decode_round_trips(
    order: ByteOrder, data_type: DataType, value: int | float
) -> None:
    registers = encode_registers(value, data_type, order)
    assert len(registers) == data_type.register_count
    assert decode_registers(registers, data_type, order) == value


def test_byte_swap_of_uint16() -> None:
    assert decode_registers([0x3412], DataType.UINT16, ByteOrder.BADC) == 0x1234
    assert decode_registers([0x3412], DataType.UINT16, ByteOrder.CDAB) == 0x3412


def test_uint32_word_order() -> None:
    assert decode_registers([0x0001, 0x0002], DataType.UINT32, ByteOrder.ABCD) == 0x00010002
    assert decode_registers([0x0001, 0x0002], DataType.UINT32, ByteOrder.CDAB) == 0x00020001


def test_wrong_register_count_raises() -> None:
    with pytest.raises(ValueError, match="takes 2 registers"):
        decode_registers([1], DataType.FLOAT32, ByteOrder.ABCD)


def test_float32_rounds_half_even_to_places() -> None:
    # 0.125 is exact in binary, so it shows the tie: half-even keeps 0.12.
    assert float32_to_decimal(0.125, places=2) == Decimal("0.12")
    assert float32_to_decimal(0.375, places=2) == Decimal("0.38")


def test_float32_uses_shortest_repr() -> None:
    # The float32 nearest 0.1 is 0.100000001490116, and its shortest repr is 0.1.
    assert float32_to_decimal(0.10000000149011612) == Decimal("0.1")


def test_float32_largest_value_converts() -> None:
    largest = 3.4028234663852886e38
    assert float32_to_decimal(largest) == Decimal("3.4028235E+38")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_rejected(bad: float) -> None:
    with pytest.raises(PlausibilityError, match="not a number a meter can register"):
        float32_to_decimal(bad)


def test_negative_total_is_rejected() -> None:
    with pytest.raises(PlausibilityError, match="negative total"):
        check_plausible("import_energy_kwh", Decimal("-1.11"), total=True)


def test_absurd_magnitude_is_rejected() -> None:
    with pytest.raises(PlausibilityError, match="above the maximum 10000000"):
        check_plausible("import_energy_kwh", Decimal("4.1E+23"), maximum=Decimal(10_000_000))


def test_total_going_backwards_is_rejected() -> None:
    with pytest.raises(PlausibilityError, match="went backwards from 100.5"):
        check_plausible("kwh", Decimal("99.9"), total=True, previous_total=Decimal("100.5"))


def test_plausible_values_pass() -> None:
    check_plausible("kwh", Decimal("100.5"), total=True, previous_total=Decimal("100.5"))
    check_plausible("power", Decimal("-1.11"), minimum=Decimal(-100), maximum=Decimal(100))
    check_plausible("power", Decimal(0))


# -- a uint16 pulse counter that wraps at 65536 ------------------------------------------------


def test_uint16_counter_deltas_and_rollover() -> None:
    raws = [65530, 65535, 3, 10]
    steps = [unwrap_counter(a, b, 65536) for a, b in zip(raws, raws[1:], strict=False)]
    assert [step.counts for step in steps] == [5, 4, 7]
    assert [step.rollover for step in steps] == [False, True, False]
    assert sum(step.counts for step in steps) == 16


def test_uint32_counter_wraps() -> None:
    step = unwrap_counter(4_294_967_290, 4, DataType.UINT32.modulus)
    assert step.counts == 10
    assert step.rollover


def test_counter_going_far_back_is_not_a_wrap() -> None:
    with pytest.raises(PlausibilityError, match="counter went backwards from 40000 to 30000"):
        unwrap_counter(40000, 30000, 65536)


def test_counter_wrap_limit_from_map() -> None:
    assert unwrap_counter(65000, 100, 65536, max_wrap_step=1000).counts == 636
    with pytest.raises(PlausibilityError, match="more than the 500 allowed"):
        unwrap_counter(65000, 100, 65536, max_wrap_step=500)


def test_counter_value_outside_modulus_is_rejected() -> None:
    with pytest.raises(PlausibilityError, match="outside 0..65535"):
        unwrap_counter(1, 70000, 65536)


# -- register map files ---------------------------------------------------------------------


def test_every_shipped_map_loads() -> None:
    names = available_maps()
    assert {"eastron-sdm120", "eastron-sdm630", "pulse-counter-uint16", "sunspec-203"} <= set(names)
    for name in names:
        register_map = load_map(name)
        assert register_map.field(register_map.primary).name == register_map.primary


def test_sdm120_import_energy_address() -> None:
    field = load_map("eastron-sdm120").field("import_energy_kwh")
    assert field.address == 0x0048
    assert field.data_type is DataType.FLOAT32
    assert field.total


def test_counter_map_needs_unsigned_type() -> None:
    data = {
        "kind": "counter",
        "fields": [{"name": "pulses", "address": 0, "type": "int16", "counter": True}],
    }
    with pytest.raises(RegisterMapError, match="a counter must be uint16 or uint32"):
        parse_map(data, "bad.json")


def test_unknown_map_names_the_shipped_ones() -> None:
    with pytest.raises(RegisterMapError, match="not found; use one of .*eastron-sdm120"):
        load_map("no-such-meter")


def test_invalid_address_is_reported() -> None:
    data = {
        "kind": "registers",
        "fields": [{"name": "kwh", "address": "0xZZ", "type": "float32"}],
    }
    with pytest.raises(RegisterMapError, match="address '0xZZ' is not a number"):
        parse_map(data, "bad.json")


def test_sunspec_map_needs_model() -> None:
    with pytest.raises(RegisterMapError, match="names its model number"):
        parse_map({"kind": "sunspec", "fields": [{"name": "W"}]}, "bad.json")
    assert load_map("sunspec-203").kind is MapKind.SUNSPEC
