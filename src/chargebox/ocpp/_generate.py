"""Generate the message classes, enums and validators from the official JSON schemas.

Run `python -m chargebox.ocpp._generate` after changing a schema or a name in the
tables below; a test regenerates in memory and fails when the committed files differ.

Every schema object becomes a frozen attrs class, every enumeration a StrEnum,
and every class gets a validator: straight-line Python that checks a decoded
JSON object against exactly the constraints of its schema and raises
`Invalid` with the 1.6 CallError code, the path, the value and the rule.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"
OUT = Path(__file__).resolve().parent

# Class names for the objects that the 1.6 schemas define inline, by property
# name; these are the names of the 1.6 specification's chapter 7.
V16_OBJECT_NAMES = {
    "idTagInfo": "IdTagInfo",
    "chargingSchedule": "ChargingSchedule",
    "chargingSchedulePeriod": "ChargingSchedulePeriod",
    "configurationKey": "KeyValue",
    "meterValue": "MeterValue",
    "transactionData": "MeterValue",
    "sampledValue": "SampledValue",
    "chargingProfile": "ChargingProfile",
    "csChargingProfiles": "ChargingProfile",
    "localAuthorizationList": "AuthorizationData",
}

# Enumeration names for the inline 1.6 enumerations: by "Schema.property" first,
# then by property name alone.
V16_ENUM_NAMES = {
    "idTagInfo.status": "AuthorizationStatus",
    "BootNotificationResponse.status": "RegistrationStatus",
    "CancelReservationResponse.status": "CancelReservationStatus",
    "ChangeAvailability.type": "AvailabilityType",
    "ChangeAvailabilityResponse.status": "AvailabilityStatus",
    "ChangeConfigurationResponse.status": "ConfigurationStatus",
    "ClearCacheResponse.status": "ClearCacheStatus",
    "chargingProfilePurpose": "ChargingProfilePurposeType",
    "ClearChargingProfileResponse.status": "ClearChargingProfileStatus",
    "DataTransferResponse.status": "DataTransferStatus",
    "DiagnosticsStatusNotification.status": "DiagnosticsStatus",
    "FirmwareStatusNotification.status": "FirmwareStatus",
    "chargingRateUnit": "ChargingRateUnitType",
    "GetCompositeScheduleResponse.status": "GetCompositeScheduleStatus",
    "context": "ReadingContext",
    "format": "ValueFormat",
    "measurand": "Measurand",
    "phase": "Phase",
    "location": "Location",
    "unit": "UnitOfMeasure",
    "chargingProfileKind": "ChargingProfileKindType",
    "recurrencyKind": "RecurrencyKindType",
    "RemoteStartTransactionResponse.status": "RemoteStartStopStatus",
    "RemoteStopTransactionResponse.status": "RemoteStartStopStatus",
    "ReserveNowResponse.status": "ReservationStatus",
    "Reset.type": "ResetType",
    "ResetResponse.status": "ResetStatus",
    "SendLocalList.updateType": "UpdateType",
    "SendLocalListResponse.status": "UpdateStatus",
    "SetChargingProfileResponse.status": "ChargingProfileStatus",
    "StatusNotification.errorCode": "ChargePointErrorCode",
    "StatusNotification.status": "ChargePointStatus",
    "StopTransaction.reason": "Reason",
    "TriggerMessage.requestedMessage": "MessageTrigger",
    "TriggerMessageResponse.status": "TriggerMessageStatus",
    "UnlockConnectorResponse.status": "UnlockStatus",
}

# Fields whose schema says `multipleOf 0.1` are exact decimals.
DECIMAL_STEP = "0.1"


# -- the model the generator builds from the schemas ---------------------------


class Field:
    def __init__(
        self,
        wire: str,
        name: str,
        kind: str,
        required: bool,
        schema: dict[str, Any],
        ref: str | None = None,
        item: Field | None = None,
    ) -> None:
        self.wire = wire  # camelCase, as on the wire
        self.name = name  # snake_case, in Python
        self.kind = (
            kind  # string, integer, number, boolean, datetime, uri, enum, object, array, any
        )
        self.required = required
        self.schema = schema
        self.ref = ref  # class or enum name for object and enum kinds
        self.item = item  # element description for arrays

    def signature(self) -> Any:
        s = self.schema
        constraints = {
            k: s[k]
            for k in ("maxLength", "minLength", "minimum", "maximum", "multipleOf")
            if k in s
        }
        if self.kind == "array":
            constraints.update(
                {k: s[k] for k in ("minItems", "maxItems") if k in s},
            )
        item = self.item.signature() if self.item else None
        return (self.wire, self.kind, self.required, self.ref, sorted(constraints.items()), item)


class ObjectType:
    def __init__(self, name: str, fields: list[Field], extensible: bool, title: str) -> None:
        self.name = name
        self.fields = fields
        self.extensible = extensible  # additionalProperties not false (2.0.1 CustomDataType)
        self.title = title  # how error descriptions name the message or type

    def signature(self) -> Any:
        return (self.extensible, [f.signature() for f in self.fields])


class EnumType:
    def __init__(self, name: str, values: list[str]) -> None:
        self.name = name
        self.values = values


class Model:
    """Classes and enums of one message family (1.6 with security, or Plug&Charge 2.0.1)."""

    def __init__(self) -> None:
        self.objects: dict[str, ObjectType] = {}
        self.enums: dict[str, EnumType] = {}
        self.messages: list[tuple[str, str, str]] = []  # (schema file stem, class name, title)

    def add_object(self, obj: ObjectType) -> str:
        seen = self.objects.get(obj.name)
        if seen is None:
            self.objects[obj.name] = obj
        elif seen.signature() != obj.signature():
            raise SystemExit(f"two different shapes named {obj.name}")
        return obj.name

    def add_enum(self, enum: EnumType) -> str:
        seen = self.enums.get(enum.name)
        if seen is None:
            self.enums[enum.name] = enum
        elif seen.values != enum.values:
            raise SystemExit(f"two different enumerations named {enum.name}")
        return enum.name


def snake(name: str) -> str:
    """camelCase (with acronyms such as responderURL, EVSEID) to snake_case."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower()
    return s + "_" if keyword.iskeyword(s) else s


def member_name(value: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", value)
    if name[0].isdigit():
        name = "_" + name
    return name


class SchemaReader:
    def __init__(self, model: Model, family: str) -> None:
        self.model = model
        self.family = family

    def read(self, path: Path) -> None:
        schema = json.loads(path.read_text(encoding="utf-8"))
        stem = path.stem
        if self.family == "v16":
            is_response = stem.endswith("Response")
            action = stem[: -len("Response")] if is_response else stem
            cls = f"{action}Response" if is_response else f"{action}Request"
            title = f"{action}.conf" if is_response else f"{action}.req"
        else:
            cls = stem
            title = stem
        self.stem = stem
        self.definitions = schema.get("definitions", {})
        self.parent = ""
        self.model.add_object(self.object_type(cls, schema, title))
        self.model.messages.append((stem, cls, title))

    def object_type(self, name: str, schema: dict[str, Any], title: str) -> ObjectType:
        required = set(schema.get("required", ()))
        fields = []
        for wire, sub in schema.get("properties", {}).items():
            outer, self.parent = self.parent, wire
            fields.append(self.field(wire, sub, wire in required, outer))
            self.parent = outer
        extensible = schema.get("additionalProperties", True) is not False
        return ObjectType(name, fields, extensible, title)

    def field(self, wire: str, schema: dict[str, Any], required: bool, parent: str = "") -> Field:
        name = snake(wire)
        if "$ref" in schema:
            ref_name = schema["$ref"].rsplit("/", 1)[-1]
            target = self.definitions[ref_name]
            if "enum" in target:
                enum = self.model.add_enum(EnumType(ref_name, list(target["enum"])))
                return Field(wire, name, "enum", required, target, ref=enum)
            if target.get("type") == "object":
                if target.get("additionalProperties", True) is not False and ref_name.startswith(
                    "CustomData"
                ):
                    # customData may carry any vendor property: kept as a plain dict
                    return Field(wire, name, "custom", required, target)
                obj = self.model.add_object(self.object_type(ref_name, target, ref_name))
                return Field(wire, name, "object", required, target, ref=obj)
            raise SystemExit(f"{self.stem}: unsupported $ref target {ref_name}")
        t = schema.get("type")
        if "enum" in schema:
            enum_name = (
                V16_ENUM_NAMES.get(f"{self.stem}.{wire}")
                or V16_ENUM_NAMES.get(f"{parent}.{wire}")
                or V16_ENUM_NAMES.get(wire)
            )
            if enum_name is None:
                raise SystemExit(f"{self.stem}.{wire}: no name for this enumeration")
            enum = self.model.add_enum(EnumType(enum_name, list(schema["enum"])))
            return Field(wire, name, "enum", required, schema, ref=enum)
        if t == "object":
            cls = V16_OBJECT_NAMES.get(wire)
            if cls is None:
                raise SystemExit(f"{self.stem}.{wire}: no class name for this object")
            obj = self.model.add_object(self.object_type(cls, schema, cls))
            return Field(wire, name, "object", required, schema, ref=obj)
        if t == "array":
            items = dict(schema["items"])
            if items.get("type") == "object" and "$ref" not in items:
                cls = V16_OBJECT_NAMES.get(wire)
                if cls is None:
                    raise SystemExit(f"{self.stem}.{wire}: no class name for the array items")
                obj = self.model.add_object(self.object_type(cls, items, cls))
                item = Field(wire, name, "object", True, items, ref=obj)
            else:
                item = self.field(wire, items, True, parent)
            return Field(wire, name, "array", required, schema, item=item)
        if t == "string":
            fmt = schema.get("format")
            kind = {"date-time": "datetime", "uri": "uri", None: "string"}[fmt]
            return Field(wire, name, kind, required, schema)
        if t == "number":
            if "multipleOf" in schema and str(schema["multipleOf"]) != DECIMAL_STEP:
                raise SystemExit(f"{self.stem}.{wire}: multipleOf other than 0.1")
            return Field(wire, name, "number", required, schema)
        if t in ("integer", "boolean"):
            return Field(wire, name, t, required, schema)
        raise SystemExit(f"{self.stem}.{wire}: unsupported schema {schema}")


# -- code emission -------------------------------------------------------------

HEADER = '''"""{doc}

Generated by `python -m chargebox.ocpp._generate` from the official schemas in
chargebox/ocpp/schemas/{family}; do not edit by hand.
"""
'''


def py_type(f: Field) -> str:
    if f.kind == "array":
        assert f.item is not None
        return f"tuple[{py_type(f.item)}, ...]"
    return {
        "string": "str",
        "uri": "str",
        "integer": "int",
        "boolean": "bool",
        "number": "Decimal",
        "datetime": "datetime",
        "custom": "dict[str, Any]",
    }.get(f.kind) or str(f.ref)


def emit_enums(model: Model, doc: str, family: str) -> str:
    out = [HEADER.format(doc=doc, family=family), "from enum import StrEnum", ""]
    for enum in sorted(model.enums.values(), key=lambda e: e.name):
        out += ["", f"class {enum.name}(StrEnum):"]
        for v in enum.values:
            out.append(f"    {member_name(v)} = {v!r}")
        out.append("")
    return "\n".join(out)


def ordered_objects(model: Model) -> Iterator[ObjectType]:
    """Nested types before the classes that use them; otherwise in name order."""
    done: set[str] = set()

    def visit(obj: ObjectType) -> Iterator[ObjectType]:
        if obj.name in done:
            return
        done.add(obj.name)
        for f in obj.fields:
            ref = f.item.ref if f.kind == "array" and f.item else f.ref
            kind = f.item.kind if f.kind == "array" and f.item else f.kind
            if kind == "object" and ref:
                yield from visit(model.objects[ref])
        yield obj

    for obj in sorted(model.objects.values(), key=lambda o: o.name):
        yield from visit(obj)


def emit_messages(model: Model, doc: str, family: str) -> str:
    out = [
        HEADER.format(doc=doc, family=family),
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "from decimal import Decimal",
        "from typing import Any, ClassVar",
        "",
        "import attrs",
        "",
        "from chargebox.ocpp._convert import to_decimal, to_tuple",
        "",
        "from .enums import *  # noqa: F403",
        "",
    ]
    titles = {cls: title for _, cls, title in model.messages}
    stems = {cls: stem for stem, cls, _ in model.messages}
    for obj in ordered_objects(model):
        out += ["", "@attrs.frozen(kw_only=True)", f"class {obj.name}:"]
        title = titles.get(obj.name, obj.name)
        out.append(f'    """{title}"""')
        out.append("")
        if obj.name in stems:
            out.append(f"    schema: ClassVar[str] = {stems[obj.name]!r}")
        out.append(f"    title: ClassVar[str] = {title!r}")
        # attrs wants required (no default) fields first
        fields = [f for f in obj.fields if f.required] + [f for f in obj.fields if not f.required]
        for f in fields:
            t = py_type(f)
            conv = ""
            if f.kind == "array":
                conv = "converter=to_tuple"
            elif f.kind == "number":
                conv = "converter=to_decimal"
            if f.required:
                out.append(f"    {f.name}: {t}" + (f" = attrs.field({conv})" if conv else ""))
            else:
                if conv:
                    conv = f"converter=attrs.converters.optional({conv.split('=')[1]})"
                    out.append(f"    {f.name}: {t} | None = attrs.field(default=None, {conv})")
                else:
                    out.append(f"    {f.name}: {t} | None = None")
        out.append("")
    out.append("")
    out.append("# Wire name of every field, by class: the codec renames with this table.")
    out.append("WIRE_NAMES: dict[type, dict[str, str]] = {")
    for obj in ordered_objects(model):
        pairs = ", ".join(f"{f.name!r}: {f.wire!r}" for f in obj.fields)
        out.append(f"    {obj.name}: {{{pairs}}},")
    out.append("}")
    out.append("")
    out.append("# The class of every schema file.")
    out.append("BY_SCHEMA: dict[str, type] = {")
    for stem, cls, _ in sorted(model.messages):
        out.append(f"    {stem!r}: {cls},")
    out.append("}")
    out.append("")
    return "\n".join(out)


class ValidatorWriter:
    """Straight-line validation code: one function per class."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.enum_consts: dict[str, str] = {}

    def enum_const(self, name: str) -> str:
        return f"_E_{name}"

    def emit(self, doc: str, family: str) -> str:
        out = [
            HEADER.format(doc=doc, family=family),
            "from chargebox.ocpp._check import (",
            "    FORMATION,",
            "    OCCURRENCE,",
            "    PROPERTY,",
            "    TYPE,",
            "    MISSING,",
            "    Invalid,",
            "    is_datetime,",
            "    is_tenth,",
            "    is_uri,",
            ")",
            "",
            "from . import messages as m",
            "",
        ]
        for enum in sorted(self.model.enums.values(), key=lambda e: e.name):
            values = ", ".join(repr(v) for v in enum.values)
            out.append(f"{self.enum_const(enum.name)} = frozenset(({values},))")
            out.append(f"{self.enum_const(enum.name)}_TEXT = {', '.join(enum.values)!r}")
        for obj in ordered_objects(self.model):
            out += ["", "", *self.function(obj)]
        out += ["", "", "# The validator of every class.", "VALIDATORS = {"]
        for obj in ordered_objects(self.model):
            out.append(f"    m.{obj.name}: _v_{obj.name},")
        out += ["}", ""]
        return "\n".join(out)

    def function(self, obj: ObjectType) -> list[str]:
        lines = [f"def _v_{obj.name}(d):"]
        lines.append(
            f'    """Check a decoded {obj.title} object; raise Invalid on the first problem."""'
        )
        if not obj.fields and not obj.extensible:
            lines += [
                "    if d:",
                "        k = next(iter(d))",
                f"        raise Invalid(PROPERTY, [k], d[k], 'not a property of {obj.title}')",
            ]
            return lines
        lines.append("    n = 0")
        for f in obj.fields:
            lines.append(f"    v = d.get({f.wire!r}, d)")
            lines.append("    if v is d:")
            if f.required:
                lines.append(
                    f"        raise Invalid(OCCURRENCE, [{f.wire!r}], MISSING, "
                    "'required field is missing')"
                )
            else:
                lines.append("        pass")
            lines.append("    else:")
            lines.append("        n += 1")
            lines += ["        " + x for x in self.check(f, "v", [repr(f.wire)], depth=0)]
        if not obj.extensible:
            lines += [
                "    if n != len(d):",
                f"        known = {tuple(sorted(f.wire for f in obj.fields))!r}",
                "        k = next(k for k in d if k not in known)",
                f"        raise Invalid(PROPERTY, [k], d[k], 'not a property of {obj.title}')",
            ]
        return lines

    def check(self, f: Field, var: str, path: list[str], depth: int) -> list[str]:
        """Statements that check `var` against field f; `path` is the error path (code)."""
        p = "[" + ", ".join(path) + "]"
        s = f.schema
        k = f.kind
        if k in ("string", "uri", "datetime", "enum"):
            lines = [
                f"if type({var}) is not str:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be a string')",
            ]
            if "maxLength" in s:
                n = s["maxLength"]
                lines += [
                    f"if len({var}) > {n}:",
                    f"    raise Invalid(PROPERTY, {p}, {var}, "
                    f"f'longer than {n} characters ({{len({var})}})')",
                ]
            if "minLength" in s:
                n = s["minLength"]
                lines += [
                    f"if len({var}) < {n}:",
                    f"    raise Invalid(PROPERTY, {p}, {var}, 'shorter than {n} characters')",
                ]
            if k == "enum":
                c = self.enum_const(str(f.ref))
                lines += [
                    f"if {var} not in {c}:",
                    f"    raise Invalid(PROPERTY, {p}, {var}, 'not one of ' + {c}_TEXT)",
                ]
            elif k == "datetime":
                lines += [
                    f"if not is_datetime({var}):",
                    f"    raise Invalid(FORMATION, {p}, {var}, 'not an RFC 3339 date-time "
                    "with a time zone, in years 1..9999 UTC (e.g. 2024-05-01T12:00:00.000Z)')",
                ]
            elif k == "uri":
                lines += [
                    f"if not is_uri({var}):",
                    f"    raise Invalid(FORMATION, {p}, {var}, 'not a URI (scheme:...)')",
                ]
            return lines
        if k == "integer":
            lines = [
                f"if type({var}) is not int:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be an integer')",
            ]
            lines += self.range_checks(s, var, p)
            return lines
        if k == "number":
            lines = [
                f"if type({var}) is not float and type({var}) is not int:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be a number')",
            ]
            lines += self.range_checks(s, var, p)
            if "multipleOf" in s:
                lines += [
                    f"if not is_tenth({var}):",
                    f"    raise Invalid(PROPERTY, {p}, {var}, 'not a multiple of 0.1')",
                ]
            return lines
        if k == "boolean":
            return [
                f"if type({var}) is not bool:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be true or false')",
            ]
        if k == "custom":
            return [
                f"if type({var}) is not dict:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be an object')",
                f"w = {var}.get('vendorId', {var})",
                f"if w is {var}:",
                f"    raise Invalid(OCCURRENCE, {p} + ['vendorId'], MISSING, "
                "'required field is missing')",
                "if type(w) is not str:",
                f"    raise Invalid(TYPE, {p} + ['vendorId'], w, 'must be a string')",
                "if len(w) > 255:",
                f"    raise Invalid(PROPERTY, {p} + ['vendorId'], w, 'longer than 255 characters')",
            ]
        if k == "object":
            return [
                f"if type({var}) is not dict:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be an object')",
                "try:",
                f"    _v_{f.ref}({var})",
                "except Invalid as e:",
                f"    e.path[0:0] = {p}",
                "    raise",
            ]
        if k == "array":
            assert f.item is not None
            item_var = f"x{depth}"
            idx = f"i{depth}"
            lines = [
                f"if type({var}) is not list:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be an array')",
            ]
            if "minItems" in s:
                n = s["minItems"]
                lines += [
                    f"if len({var}) < {n}:",
                    f"    raise Invalid(OCCURRENCE, {p}, {var}, 'fewer than {n} items')",
                ]
            if "maxItems" in s:
                n = s["maxItems"]
                lines += [
                    f"if len({var}) > {n}:",
                    f"    raise Invalid(OCCURRENCE, {p}, {var}, 'more than {n} items')",
                ]
            if f.item.kind == "object":
                # the nested validator adds the rest of the path; we add the index
                lines += [
                    f"for {idx}, {item_var} in enumerate({var}):",
                    f"    if type({item_var}) is not dict:",
                    f"        raise Invalid(TYPE, {p} + [{idx}], {item_var}, 'must be an object')",
                    "    try:",
                    f"        _v_{f.item.ref}({item_var})",
                    "    except Invalid as e:",
                    f"        e.path[0:0] = {p} + [{idx}]",
                    "        raise",
                ]
            else:
                inner = self.check(f.item, item_var, [*path, idx], depth + 1)
                lines += [f"for {idx}, {item_var} in enumerate({var}):"]
                lines += ["    " + x for x in inner]
            return lines
        raise AssertionError(k)

    def range_checks(self, s: dict[str, Any], var: str, p: str) -> list[str]:
        lines = []
        if "minimum" in s:
            lines += [
                f"if {var} < {s['minimum']!r}:",
                f"    raise Invalid(PROPERTY, {p}, {var}, 'less than {s['minimum']}')",
            ]
        if "maximum" in s:
            lines += [
                f"if {var} > {s['maximum']!r}:",
                f"    raise Invalid(PROPERTY, {p}, {var}, 'greater than {s['maximum']}')",
            ]
        return lines


FAMILIES = {
    "v16": (
        "OCPP 1.6 (with the security whitepaper)",
        "v16",
    ),
    "pnc": (
        "Plug&Charge: the OCPP 2.0.1 payloads that 1.6 carries in DataTransfer",
        "pnc-v201",
    ),
}


def build(family: str) -> dict[Path, str]:
    """The generated files of one family, by path."""
    label, folder = FAMILIES[family]
    model = Model()
    reader = SchemaReader(model, family)
    for path in sorted((SCHEMAS / folder).glob("*.json")):
        reader.read(path)
    pkg = OUT / family
    return {
        pkg / "enums.py": emit_enums(model, f"Enumerations of {label}.", folder),
        pkg / "messages.py": emit_messages(model, f"Message classes of {label}.", folder),
        pkg / "_validators.py": ValidatorWriter(model).emit(
            f"Validators of {label}: decoded JSON against the schema constraints.", folder
        ),
    }


def build_all() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for family in FAMILIES:
        files.update(build(family))
    return files


def main() -> int:
    for path, text in build_all().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
