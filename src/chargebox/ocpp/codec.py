"""Payload codec: decoded JSON <-> message classes, validated both ways.

`decode` checks a payload against its schema (generated validators: every
constraint, the first problem reported with its 1.6 CallError code, path,
value and rule) and then builds the frozen attrs object with cattrs. `encode`
turns an object back into JSON-ready data (camelCase, unset optionals left
out, UTC millisecond timestamps, exact decimals) and checks that against the
same schema, so that nothing invalid ever leaves the engine.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _check
from .errors import EncodeError, ErrorCode, ValidationError
from .pnc import _validators as pnc_validators
from .pnc import messages as pnc_messages
from .timestamps import format_datetime, parse_datetime
from .v16 import _validators as v16_validators
from .v16 import messages as v16_messages

T = TypeVar("T")

_VALIDATORS: dict[type, Any] = {**v16_validators.VALIDATORS, **pnc_validators.VALIDATORS}


def _passthrough(value: Any, _: Any) -> Any:
    # the validator has already checked the JSON type
    return value


def _structure_datetime(value: str, _: Any) -> datetime:
    return parse_datetime(value)


def _structure_decimal(value: Any, _: Any) -> Decimal:
    # validated: a multiple of 0.1, perhaps with a float error the sender made
    return _check.tenths(value)


def _enum_hook(cls: type[Enum]) -> Any:
    members = cls._value2member_map_

    def structure(value: str, _: Any) -> Enum:
        return members[value]  # type: ignore[return-value]

    return structure


def _unstructure_decimal(value: Decimal) -> int | float:
    # A one-decimal value has an exact shortest float repr, so the JSON text keeps
    # its digits (16.1 -> 16.1); integral values stay integers while a double
    # holds them exactly.
    if abs(value) < _EXACT_INT and value == value.to_integral_value():
        return int(value)
    return float(value)


_EXACT_INT = 2**53


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    for t in (str, int, bool):
        conv.register_structure_hook(t, _passthrough)
    conv.register_structure_hook_func(lambda t: t == dict[str, Any], _passthrough)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(Decimal, _structure_decimal)
    for module in (v16_messages, pnc_messages):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Enum) and value is not Enum:
                conv.register_structure_hook(value, _enum_hook(value))
                # str() gives a member's value, and leaves a plain string as it is
                conv.register_unstructure_hook(value, str)
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_unstructure_hook(Decimal, _unstructure_decimal)
    for table in (v16_messages.WIRE_NAMES, pnc_messages.WIRE_NAMES):
        for cls, wire in table.items():
            renames = {name: override(rename=w) for name, w in wire.items()}
            conv.register_structure_hook(
                cls, make_dict_structure_fn(cls, conv, _cattrs_detailed_validation=False, **renames)
            )
            conv.register_unstructure_hook(
                cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **renames)
            )
    return conv


converter = _make_converter()


def validate(cls: type, payload: Any) -> None:
    """Check decoded JSON against the schema of `cls`; ValidationError on the first problem."""
    if type(payload) is not dict:
        raise ValidationError(
            ErrorCode.FormationViolation, cls.title, "", payload, "payload must be a JSON object"
        )
    try:
        _VALIDATORS[cls](payload)
    except _check.Invalid as e:
        raise ValidationError(e.code, cls.title, e.dotted_path(), e.value, e.rule) from None


def decode(cls: type[T], payload: Any) -> T:
    """The message object of class `cls` for a decoded JSON payload, or ValidationError."""
    validate(cls, payload)
    return converter.structure(payload, cls)


def encode(message: Any) -> dict[str, Any]:
    """JSON-ready data for a message object; EncodeError if it breaks its schema."""
    try:
        data = converter.unstructure(message)
    except (ValueError, TypeError, AttributeError) as e:
        raise EncodeError(f"{type(message).__name__}: cannot encode: {e}") from e
    try:
        validate(type(message), data)
    except ValidationError as e:
        raise EncodeError(f"refusing to send an invalid message: {e.description}") from None
    return data
