"""Conversions of field values: when a message is built, and to JSON when it is encoded."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any


def to_decimal(value: Any) -> Decimal:
    """An exact decimal from a Decimal, an int or a float (by its shortest repr: 0.1 -> 0.1)."""
    if type(value) is Decimal:
        return value
    if type(value) is float:
        return Decimal(repr(value))
    if type(value) is int:
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    raise TypeError(f"expected a number, got {value!r}")


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """Arrays are tuples, so that a frozen message cannot be changed through a list."""
    return value if type(value) is tuple else tuple(value)


def decimal_to_json(value: Decimal) -> int | float:
    """The JSON number of an exact decimal: a one-decimal value keeps its digits.

    A one-decimal value has an exact shortest float repr, so the JSON text keeps
    its digits (16.1 -> 16.1); integral values stay integers while a double
    holds them exactly.
    """
    if abs(value) < _EXACT_INT and value == value.to_integral_value():
        return int(value)
    return float(value)


_EXACT_INT = 2**53
