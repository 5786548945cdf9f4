"""One key's value: its JSON type and limits, its ChangeConfiguration text form, its display."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from chargebox.config.checks import split_csv
from chargebox.config.errors import REDACTED
from chargebox.config.spec import KeySpec, ValueType, Violation

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_TYPE_WORDS = {
    ValueType.BOOLEAN: "must be true or false",
    ValueType.INTEGER: "must be an integer",
    ValueType.NUMBER: "must be a number",
    ValueType.STRING: "must be a string",
    ValueType.ARRAY: "must be an array of strings",
    ValueType.OBJECT: "must be a JSON object",
}


def _is_type(kind: ValueType, value: Any) -> bool:
    # bool is an int in Python, but true is not an integer in JSON
    if kind is ValueType.BOOLEAN:
        return isinstance(value, bool)
    if kind is ValueType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is ValueType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return math.isfinite(value)
    if kind is ValueType.STRING:
        return isinstance(value, str)
    if kind is ValueType.ARRAY:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, dict)


def _range_words(spec: KeySpec) -> str:
    noun = "an integer" if spec.type is ValueType.INTEGER else "a number"
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None:
        return f"must be {noun} from {_number(low)} to {_number(high)}"
    if low is not None:
        return f"must be {noun} >= {_number(low)}"
    return f"must be {noun} <= {_number(high)}"


def _length_words(spec: KeySpec, length: int) -> str:
    low, high = spec.min_length, spec.max_length
    unit = "bytes" if spec.secret else "characters"
    if low is not None and high is not None and low == high:
        wanted = f"exactly {low}"
    elif low is not None and high is not None:
        wanted = f"{low} to {high}"
    elif low is not None:
        wanted = f"at least {low}"
    else:
        wanted = f"at most {high}"
    return f"must have {wanted} {unit} (has {length})"


def check_value(spec: KeySpec, value: Any) -> Violation | None:
    """The first way `value` breaks the key's type, range, length or enumeration."""
    if not _is_type(spec.type, value):
        return Violation("type", _TYPE_WORDS[spec.type])
    if spec.type in (ValueType.INTEGER, ValueType.NUMBER):
        if spec.minimum is not None and value < spec.minimum:
            return Violation("minimum", _range_words(spec))
        if spec.maximum is not None and value > spec.maximum:
            return Violation("maximum", _range_words(spec))
    if spec.type is ValueType.STRING:
        # a secret's limit is in bytes (the whitepaper's "16 bytes"); other limits count
        # characters, as JSON Schema's minLength does
        length = len(value.encode()) if spec.secret else len(value)
        if spec.min_length is not None and length < spec.min_length:
            return Violation("min-length", _length_words(spec, length))
        if spec.max_length is not None and length > spec.max_length:
            return Violation("max-length", _length_words(spec, length))
        if spec.enum is not None and value not in spec.enum:
            return Violation("enum", f"must be one of {', '.join(spec.enum)}")
    if spec.type is ValueType.ARRAY and spec.enum is not None:
        bad = [item for item in value if item not in spec.enum]
        if bad:
            listed = ", ".join(f"'{item}'" for item in bad)
            return Violation("enum", f"{listed}: items must be among {', '.join(spec.enum)}")
    return None


def parse_text(spec: KeySpec, text: str) -> Any:
    """The typed value meant by a ChangeConfiguration string; ValueError says why not.

    Booleans are "true" or "false" in any case; anything else is rejected (OCPP 1.6
    5.3: a value that does not conform to the expected format is Rejected).
    """
    if spec.from_text is not None:
        return spec.from_text(text)
    kind = spec.type
    if kind is ValueType.BOOLEAN:
        folded = text.strip().casefold()
        if folded not in ("true", "false"):
            raise ValueError("must be true or false")
        return folded == "true"
    if kind is ValueType.INTEGER:
        if not _INTEGER.fullmatch(text.strip()):
            raise ValueError("must be an integer")
        return int(text)
    if kind is ValueType.NUMBER:
        if not _NUMBER.fullmatch(text.strip()):
            raise ValueError("must be a number")
        number = float(text)
        if not math.isfinite(number):
            raise ValueError("must be a number")
        return int(number) if number.is_integer() else number
    if kind is ValueType.ARRAY:
        return split_csv(text)
    if kind is ValueType.OBJECT:
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ValueError("must be a JSON object") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object")
        return parsed
    return text


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(value: Any) -> str:
    """A value as GetConfiguration reports it: arrays as comma-separated lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def display(spec: KeySpec | None, value: Any) -> str:
    """A value as a problem message shows it: its JSON spelling, or REDACTED for a secret."""
    if spec is not None and spec.secret:
        return REDACTED
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    # a whole DefaultPriceText object would drown the message
    return text if len(text) <= 80 else text[:77] + "..."
