"""Exact money: Decimal in Python, decimal strings in JSON."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")


def decimal_str(value: Decimal) -> str:
    """Plain (never exponent) decimal string without trailing zeros beyond the integer part."""
    if value.is_nan() or value.is_infinite():
        raise ValueError(f"not a finite amount: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def to_decimal(value: object) -> Decimal:
    """Exact Decimal from str/int/Decimal; floats go through str() so 1.5e-07 stays 0.00000015."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def round_cents(value: Decimal) -> Decimal:
    """Round half-even to cents (banker's rounding, as accounting systems do)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


# A Decimal field that accepts str/int/float input and serialises to a decimal string in JSON.
Money = Annotated[
    Decimal,
    BeforeValidator(to_decimal),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
]
