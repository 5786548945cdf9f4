"""Payload codec: decoded JSON <-> message classes, validated both ways.

`decode` checks a payload against its schema (every constraint, the first
problem reported with its 1.6 CallError code, path, value and rule) while it
builds the frozen attrs object. `encode` turns an object back into JSON-ready
data (camelCase, unset optionals left out, UTC millisecond timestamps, exact
decimals) and checks every value it produces against the same schema, so that
nothing invalid ever leaves the engine, even from an object a program built by
hand. Both directions are generated functions, one per class (see
`_generate.CodecWriter`): one pass over the data each way, no generic dispatch.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._check import Invalid
from .errors import EncodeError, ErrorCode, ValidationError
from .pnc import _codec as pnc_codec
from .v16 import _codec as v16_codec

T = TypeVar("T")

_DECODERS: dict[type, Any] = {**v16_codec.DECODERS, **pnc_codec.DECODERS}
_ENCODERS: dict[type, Any] = {**v16_codec.ENCODERS, **pnc_codec.ENCODERS}


def decode(cls: type[T], payload: Any) -> T:
    """The message object of class `cls` for a decoded JSON payload, or ValidationError."""
    if type(payload) is not dict:
        raise ValidationError(
            ErrorCode.FormationViolation, cls.title, "", payload, "payload must be a JSON object"
        )
    try:
        return _DECODERS[cls](payload)  # type: ignore[no-any-return]
    except Invalid as e:
        raise ValidationError(e.code, cls.title, e.dotted_path(), e.value, e.rule) from None


def validate(cls: type, payload: Any) -> None:
    """Check decoded JSON against the schema of `cls`; ValidationError on the first problem."""
    decode(cls, payload)


def encode(message: Any) -> dict[str, Any]:
    """JSON-ready data for a message object; EncodeError if it breaks its schema."""
    cls = type(message)
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        raise EncodeError(f"{cls.__name__} is not an OCPP message class")
    try:
        return encoder(message)  # type: ignore[no-any-return]
    except Invalid as e:
        error = ValidationError(e.code, cls.title, e.dotted_path(), e.value, e.rule)
        raise EncodeError(f"refusing to send an invalid message: {error.description}") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as e:
        # a value of the wrong kind: a naive datetime, a number where an object goes
        raise EncodeError(f"{cls.__name__}: cannot encode: {e}") from e
