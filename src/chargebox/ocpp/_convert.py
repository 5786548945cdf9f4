"""Converters the message classes apply to their fields when they are built."""

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
