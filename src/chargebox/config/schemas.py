"""JSON Schemas (draft-07) of the configuration file, generated from the key registry.

The files in config/schemas/ are this module's output. chargebox validates with
the registry itself; the schemas are for editors, other tools and the tests that
check the example files. Rules no schema keyword expresses (CSV grammars, checks
between keys) are only in the registry.
"""

from __future__ import annotations

from typing import Any

from chargebox.config.registry import BUILTIN, SECTIONS, KeyRegistry
from chargebox.config.spec import Access, KeySpec, ValueType

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def _type_schema(spec: KeySpec) -> dict[str, Any]:
    if spec.type is ValueType.ARRAY:
        items: dict[str, Any] = {"type": "string"}
        if spec.enum is not None:
            items["enum"] = list(spec.enum)
        return {"type": "array", "items": items}
    if spec.type is ValueType.OBJECT:
        return dict(spec.shape) if spec.shape is not None else {"type": "object"}
    schema: dict[str, Any] = {"type": spec.type.value}
    if spec.enum is not None:
        schema["enum"] = list(spec.enum)
    return schema


def key_schema(spec: KeySpec) -> dict[str, Any]:
    """The schema of one key; x-access/x-effect/x-reboot-required carry what JSON Schema cannot."""
    schema: dict[str, Any] = {"description": spec.doc, **_type_schema(spec)}
    for keyword, limit in (
        ("minimum", spec.minimum),
        ("maximum", spec.maximum),
        ("minLength", spec.min_length),
        ("maxLength", spec.max_length),
    ):
        if limit is not None:
            schema[keyword] = limit
    if spec.has_default:
        schema["default"] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
    schema["readOnly"] = spec.access in (Access.READ_ONLY, Access.HIDDEN)
    if spec.access is Access.WRITE_ONLY:
        schema["writeOnly"] = True
    schema["x-access"] = spec.access.value
    if spec.effect is not None:
        schema["x-effect"] = spec.effect.value
    if spec.reboot_required:
        schema["x-reboot-required"] = True
    return schema


def section_schema(section: str, registry: KeyRegistry = BUILTIN) -> dict[str, Any]:
    """The schema of one section: its keys (and accepted older spellings), nothing else.

    Only keys required *without* a default are listed as required: chargebox fills
    in the default of a missing one.
    """
    properties: dict[str, Any] = {}
    for spec in registry.section_keys(section):
        properties[spec.name] = key_schema(spec)
        for alias in spec.aliases:
            properties[alias] = {
                **key_schema(spec),
                "description": f"Older spelling of {spec.name}, read as {spec.name}.",
                "deprecated": True,
            }
    specs = registry.section_keys(section)
    return {
        "$schema": DRAFT_07,
        "title": f"chargebox configuration: section {section}",
        "description": "Generated from chargebox.config.keys by "
        "`python -m chargebox.config.generate`; do not edit.",
        "type": "object",
        "required": [spec.name for spec in specs if spec.required and not spec.has_default],
        "properties": properties,
        "additionalProperties": False,
    }


def config_schema() -> dict[str, Any]:
    """The schema of the whole file: the sections, each by reference to its own schema."""
    return {
        "$schema": DRAFT_07,
        "title": "chargebox configuration (libocpp OCPP 1.6 layout)",
        "description": "Generated from chargebox.config.keys by "
        "`python -m chargebox.config.generate`; do not edit.",
        "type": "object",
        "required": ["Internal", "Core"],
        "properties": {name: {"$ref": f"{name}.json"} for name in SECTIONS},
        "additionalProperties": False,
    }


def all_schemas(registry: KeyRegistry = BUILTIN) -> dict[str, dict[str, Any]]:
    """File name -> schema, for every file in config/schemas/."""
    files = {f"{name}.json": section_schema(name, registry) for name in SECTIONS}
    files["Config.json"] = config_schema()
    return files
