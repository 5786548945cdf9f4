"""Helpers for tests driven by the official schemas: load, resolve, build and mutate payloads."""

from __future__ import annotations

import copy
import decimal
import json
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema

import chargebox.ocpp

SCHEMA_ROOT = Path(chargebox.ocpp.__file__).parent / "schemas"
FAMILIES = {"v16": SCHEMA_ROOT / "v16", "pnc": SCHEMA_ROOT / "pnc-v201"}


def schema_files() -> list[tuple[str, Path]]:
    return [(family, p) for family, d in FAMILIES.items() for p in sorted(d.glob("*.json"))]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local $ref replaced by its definition."""
    definitions = schema.get("definitions", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items() if k != "definitions"}
        if isinstance(node, list):
            return [walk(x) for x in node]
        return node

    return walk(schema)


# -- an independent check of what we emit ---------------------------------------

# RFC 3339 date-time, checked with the standard library rather than our own parser.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
EMITTED_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # raises when not a date
    return True


class OfficialValidator:
    """jsonschema with the official schema, numbers read as exact decimals.

    Decimals so that multipleOf 0.1 is judged exactly (16.1 is a multiple); a
    wide decimal context so that jsonschema's modulo works for any magnitude.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        cls = jsonschema.validators.validator_for(schema)
        exact = json.loads(json.dumps(schema), parse_float=Decimal)
        self._validator = cls(exact, format_checker=FORMATS)

    def validate(self, data: Any) -> None:
        with decimal.localcontext(prec=400):
            self._validator.validate(as_exact_json(data))

    def is_valid(self, data: Any) -> bool:
        with decimal.localcontext(prec=400):
            return self._validator.is_valid(as_exact_json(data))


def official_validator(schema: dict[str, Any]) -> OfficialValidator:
    return OfficialValidator(schema)


def as_exact_json(data: Any) -> Any:
    """Data as the official validator should see it: floats read back as decimals."""
    return json.loads(json.dumps(data), parse_float=Decimal)


# -- building payloads from a schema --------------------------------------------


def _leaf(schema: dict[str, Any], full: bool) -> Any:
    t = schema.get("type")
    if "enum" in schema:
        return schema["enum"][-1 if full else 0]
    if t == "string":
        if schema.get("format") == "date-time":
            return "2024-05-01T12:00:00.000Z"
        if schema.get("format") == "uri":
            return "https://example.com/file.bin"
        n = schema.get("maxLength", 8)
        return "x" * (n if full else min(n, 1))
    if t == "integer":
        return 7
    if t == "number":
        return 16.1
    if t == "boolean":
        return True
    raise AssertionError(schema)


def instance(schema: dict[str, Any], full: bool) -> Any:
    """A valid payload: only required fields, or every field (`full`)."""
    t = schema.get("type")
    if t == "object":
        req = set(schema.get("required", ()))
        props = schema.get("properties", {})
        out = {}
        for name, sub in props.items():
            if full or name in req:
                out[name] = instance(sub, full)
        return out
    if t == "array":
        n = max(schema.get("minItems", 1), 1 if full else schema.get("minItems", 0))
        return [instance(schema["items"], full) for _ in range(n)]
    return _leaf(schema, full)


def field_paths(
    schema: dict[str, Any], data: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any], dict[str, Any], bool]]:
    """(path, parent object schema, field schema, required) for every field present in data."""
    if schema.get("type") == "object":
        req = set(schema.get("required", ()))
        for name, sub in schema.get("properties", {}).items():
            if name in data:
                yield (*path, name), schema, sub, name in req
                yield from field_paths(sub, data[name], (*path, name))
    elif schema.get("type") == "array":
        for i, item in enumerate(data):
            yield from field_paths(schema["items"], item, (*path, i))


def object_paths(schema: dict[str, Any], data: Any, path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """(path, schema) of every object in data, the payload itself included."""
    if schema.get("type") == "object":
        yield path, schema
        for name, sub in schema.get("properties", {}).items():
            if name in data:
                yield from object_paths(sub, data[name], (*path, name))
    elif schema.get("type") == "array":
        for i, item in enumerate(data):
            yield from object_paths(schema["items"], item, (*path, i))


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + p
    return out


def mutations(schema: dict[str, Any]) -> Iterator[tuple[str, Any, str, str]]:
    """(kind, mutated payload, expected code, path) for each way to break each field."""
    full = instance(schema, full=True)
    for path, _parent, sub, required in field_paths(schema, full):
        parent_path, name = path[:-1], path[-1]
        if required:
            data = copy.deepcopy(full)
            del get(data, parent_path)[name]
            yield "missing", data, "OccurenceConstraintViolation", dotted(path)
        data = copy.deepcopy(full)
        t = sub.get("type")
        wrong = {
            "string": 12,
            "integer": "12",
            "number": "1.5",
            "boolean": "true",
            "object": [],
            "array": {},
        }.get(t)
        get(data, parent_path)[name] = wrong
        yield "wrong type", data, "TypeConstraintViolation", dotted(path)
        if t == "integer":
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = 1.5
            yield "fraction for integer", data, "TypeConstraintViolation", dotted(path)
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = True
            yield "boolean for integer", data, "TypeConstraintViolation", dotted(path)
        if "enum" in sub:
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = "NotAnEnumValue"
            yield "bad enum", data, "PropertyConstraintViolation", dotted(path)
        if "maxLength" in sub:
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = "y" * (sub["maxLength"] + 1)
            yield "too long", data, "PropertyConstraintViolation", dotted(path)
        if sub.get("format") == "date-time":
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = "2024-05-01 12:00"
            yield "bad date-time", data, "FormationViolation", dotted(path)
        if "multipleOf" in sub:
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = 16.15
            yield "not a multiple of 0.1", data, "PropertyConstraintViolation", dotted(path)
        if t == "array" and sub["items"].get("type") not in ("object", None):
            item = sub["items"]
            item_path = dotted((*path, 0))
            data = copy.deepcopy(full)
            get(data, path)[0] = {} if item.get("type") == "string" else "x"
            yield "wrong item type", data, "TypeConstraintViolation", item_path
            if "maxLength" in item:
                data = copy.deepcopy(full)
                get(data, path)[0] = "y" * (item["maxLength"] + 1)
                yield "item too long", data, "PropertyConstraintViolation", item_path
            if "enum" in item:
                data = copy.deepcopy(full)
                get(data, path)[0] = "NotAnEnumValue"
                yield "bad item enum", data, "PropertyConstraintViolation", item_path
        if "maxItems" in sub:
            data = copy.deepcopy(full)
            arr = get(data, path)
            arr.extend([arr[0]] * (sub["maxItems"] + 1 - len(arr)))
            yield "too many items", data, "OccurenceConstraintViolation", dotted(path)
        if sub.get("minItems", 0) >= 1:
            data = copy.deepcopy(full)
            get(data, parent_path)[name] = []
            yield "too few items", data, "OccurenceConstraintViolation", dotted(path)
    for path, obj in object_paths(schema, full):
        if obj.get("additionalProperties", True) is False:
            data = copy.deepcopy(full)
            get(data, path)["notInTheSchema"] = 1
            yield (
                "extra property",
                data,
                "PropertyConstraintViolation",
                dotted((*path, "notInTheSchema")),
            )
