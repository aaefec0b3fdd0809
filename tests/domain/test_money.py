from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from domain.money import Money, decimal_str, round_cents, to_decimal


@given(st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-(10**15), max_value=10**15))
def test_decimal_str_is_exact_and_plain(value: Decimal) -> None:
    text = decimal_str(value)
    assert "E" not in text and "e" not in text
    assert Decimal(text) == value


def test_floats_from_price_tables_stay_exact() -> None:
    assert to_decimal(1.5e-07) == Decimal("0.00000015")
    assert to_decimal("2.50") == Decimal("2.50")
    with pytest.raises(ValueError, match="not a decimal"):
        to_decimal("abc")
    with pytest.raises(ValueError):
        to_decimal(True)


def test_money_serialises_as_decimal_string() -> None:
    class Item(BaseModel):
        cost: Money

    assert Item(cost="12.3400").model_dump_json() == '{"cost":"12.34"}'
    assert Item(cost=Decimal("-0.0000")).model_dump(mode="json") == {"cost": "0"}


def test_round_cents_is_bankers_rounding() -> None:
    assert round_cents(Decimal("0.125")) == Decimal("0.12")
    assert round_cents(Decimal("0.135")) == Decimal("0.14")
