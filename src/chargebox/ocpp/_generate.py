"""Generate the message classes, enums, decoders and encoders from the official JSON schemas.

Run `python -m chargebox.ocpp._generate` after changing a schema or a name in the
tables below; a test regenerates in memory and fails when the committed files differ.

Every schema object becomes a frozen attrs class, every enumeration a StrEnum,
and every class gets a decoder and an encoder: straight-line Python that checks
JSON against exactly the constraints of its schema while converting it, and
raises `Invalid` with the 1.6 CallError code, the path, the value and the rule.
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


class CodecWriter:
    """Straight-line decoders and encoders: one function per class and direction.

    A decoder takes decoded JSON, checks it against every constraint of the
    schema and builds the object in the same pass, with no generic dispatch.
    An encoder reads an object's fields, converts each to JSON and checks the
    value it produced, so that nothing invalid is ever sent, even from an object
    a program built by hand; it skips only checks that the conversion itself
    guarantees (an enumeration member is one of the enumeration, a formatted
    datetime is an RFC 3339 date-time, an encoded object is a JSON object).
    """

    def __init__(self, model: Model) -> None:
        self.model = model

    def emit(self, doc: str, family: str) -> str:
        out = [
            HEADER.format(doc=doc, family=family),
            "from datetime import datetime",
            "",
            "from chargebox.ocpp._check import (",
            "    FORMATION,",
            "    MISSING,",
            "    OCCURRENCE,",
            "    PROPERTY,",
            "    TYPE,",
            "    Invalid,",
            "    datetime_of,",
            "    is_datetime,",
            "    is_tenth,",
            "    is_uri,",
            "    tenths,",
            "    writable,",
            ")",
            "from chargebox.ocpp._convert import decimal_to_json",
            "from chargebox.ocpp.timestamps import format_datetime",
            "",
            "from . import messages as m",
            "",
            "# By enumeration: its member by wire value (decoding), the wire value of a",
            "# member or of its string (encoding), and the values for error descriptions.",
        ]
        for enum in sorted(self.model.enums.values(), key=lambda e: e.name):
            n = enum.name
            out.append(f"_D_{n} = {{x.value: x for x in m.{n}}}")
            out.append(f"_W_{n} = {{x: x.value for x in m.{n}}}")
            out.append(f"_T_{n} = {', '.join(enum.values)!r}")
        out += [
            "",
            "# By class with fields: a subclass whose instances the decoder fills in, then",
            "# turns into the class itself (see `_check.writable`).",
        ]
        for obj in ordered_objects(self.model):
            if obj.fields:
                out.append(f"{self.writable(obj)} = writable(m.{obj.name})")
        for obj in ordered_objects(self.model):
            out += ["", "", *self.decoder(obj)]
            out += ["", "", *self.encoder(obj)]
        out += ["", "", "# The decoder and the encoder of every class."]
        out.append("DECODERS = {")
        for obj in ordered_objects(self.model):
            out.append(f"    m.{obj.name}: _d_{obj.name},")
        out += ["}", "ENCODERS = {"]
        for obj in ordered_objects(self.model):
            out.append(f"    m.{obj.name}: _e_{obj.name},")
        out += ["}", ""]
        return "\n".join(out)

    # -- decoding ----------------------------------------------------------------

    def decoder(self, obj: ObjectType) -> list[str]:
        lines = [
            f"def _d_{obj.name}(d):",
            f'    """{obj.title} from decoded JSON; raise Invalid on the first problem."""',
        ]
        if not obj.fields:
            if not obj.extensible:
                lines += [
                    "    if d:",
                    "        k = next(iter(d))",
                    f"        raise Invalid(PROPERTY, [k], d[k], 'not a property of {obj.title}')",
                ]
            lines.append(f"    return m.{obj.name}()")
            return lines
        lines += ["    " + line for line in self.decoder_body(obj, "d", "", 0)]
        lines.append("    return o")
        return lines

    def inlined(self, f: Field) -> ObjectType | None:
        """The class of array items whose checks are written into the array's loop.

        Items of a class with only leaf fields (such as SampledValue) are decoded
        and encoded in the loop itself, without a call per item; their names carry
        a suffix so that they do not meet the enclosing function's.
        """
        if f.kind != "object":
            return None
        obj = self.model.objects[f.ref]  # type: ignore[index]
        if not obj.fields or obj.extensible:
            return None
        if any(x.kind in ("object", "array", "custom") for x in obj.fields):
            return None
        return obj

    def decoder_body(self, obj: ObjectType, d: str, s: str, depth: int) -> list[str]:
        """Statements that check JSON object `d` and leave the object of class obj in `o{s}`.

        `s` is the suffix of every name the statements use; `depth` the depth of the
        names of values inside the fields.
        """
        lines = []
        count = not obj.extensible
        optional = any(not f.required for f in obj.fields)
        v, absent, o = f"v{s}", f"absent{s}", f"o{s}"
        if count and optional:
            # absent optional fields are counted: present ones plus absent ones must be
            # all the fields, or the object has one the schema does not define
            lines.append(f"{absent} = 0")
        for f in obj.fields:
            target = f"a{s}_{f.name}"
            if f.required:
                lines += [
                    "try:",
                    f"    {v} = {d}[{f.wire!r}]",
                    "except KeyError:",
                    f"    raise Invalid(OCCURRENCE, [{f.wire!r}], MISSING, "
                    "'required field is missing') from None",
                ]
                indent = ""
            else:
                lines += [f"if {f.wire!r} in {d}:", f"    {v} = {d}[{f.wire!r}]"]
                indent = "    "
            body, value = self.decode_value(f, v, [repr(f.wire)], depth, target)
            lines += [indent + x for x in body]
            if value != target:
                lines.append(f"{indent}{target} = {value}")
            if f.kind == "array":
                lines.append(f"{indent}{target} = tuple({target})")
            if not f.required:
                lines += ["else:", f"    {target} = None"]
                if count:
                    lines.append(f"    {absent} += 1")
        if count:
            total = f"len({d}) + {absent}" if optional else f"len({d})"
            k = f"k{s}"
            lines += [
                f"if {total} != {len(obj.fields)}:",
                f"    known{s} = {tuple(sorted(f.wire for f in obj.fields))!r}",
                f"    {k} = next({k} for {k} in {d} if {k} not in known{s})",
                f"    raise Invalid(PROPERTY, [{k}], {d}[{k}], 'not a property of {obj.title}')",
            ]
        # The values are checked and converted as the class's converters would, so the
        # object is built without its __init__, which costs twice as much with keywords:
        # filled in as an instance of its writable subclass, then made one of the class.
        lines.append(f"{o} = {self.writable(obj)}()")
        for f in obj.fields:
            lines.append(f"{o}.{f.name} = a{s}_{f.name}")
        lines.append(f"{o}.__class__ = m.{obj.name}")
        return lines

    def writable(self, obj: ObjectType) -> str:
        return f"_w_{obj.name}"

    def decode_value(
        self, f: Field, var: str, path: list[str], depth: int, target: str = ""
    ) -> tuple[list[str], str]:
        """Statements that check decoded JSON `var` for field f, and the field value after them.

        The value is left in `target` (or a variable of this depth) unless it is
        `var` itself.
        """
        p = "[" + ", ".join(path) + "]"
        k = f.kind
        r = target or f"r{depth}"
        if k == "datetime":
            lines = self.string_checks(f, var, p)
            lines += [
                f"{r} = datetime_of({var})",
                f"if {r} is None:",
                f"    raise Invalid(FORMATION, {p}, {var}, {DATETIME_RULE!r})",
            ]
            return lines, r
        if k == "enum":
            lines = self.string_checks(f, var, p)
            lines += [
                "try:",
                f"    {r} = _D_{f.ref}[{var}]",
                "except KeyError:",
                f"    raise Invalid(PROPERTY, {p}, {var}, 'not one of ' + _T_{f.ref}) from None",
            ]
            return lines, r
        if k == "number":
            return self.check(f, var, path, depth), f"tenths({var})"
        if k == "object":
            lines = [
                f"if type({var}) is not dict:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be an object')",
            ]
            item = self.inlined(f) if p == "[]" else None
            if item is not None:
                suffix = f"_{depth}"
                return lines + self.decoder_body(item, var, suffix, depth + 1), f"o{suffix}"
            if p == "[]":
                return lines, f"_d_{f.ref}({var})"
            return lines + self.nested(f"{r} = _d_{f.ref}({var})", p), r
        if k == "array":
            assert f.item is not None
            x = f"x{depth}"
            lines = [
                f"if type({var}) is not list:",
                f"    raise Invalid(TYPE, {p}, {var}, 'must be an array')",
                *self.count_checks(f, var, p),
            ]
            # the items are checked with paths of their own; the index is the number
            # of items that passed
            body, value = self.decode_value(f.item, x, [], depth + 1)
            loop = [f"for {x} in {var}:", *["    " + line for line in body]]
            loop.append(f"    {r}.append({value})")
            lines += [f"{r} = []", *self.nested(loop, f"{p[:-1]}, len({r})]")]
            return lines, r
        # strings, URIs, integers, booleans, customData: the JSON value is the field value
        return self.check(f, var, path, depth), var

    def nested(self, body: str | list[str], p: str) -> list[str]:
        """`body`, with the path `p` put before the path of any problem it finds."""
        body = [body] if isinstance(body, str) else body
        if p == "[]":
            return body
        return [
            "try:",
            *["    " + line for line in body],
            "except Invalid as e:",
            f"    e.path[0:0] = {p}",
            "    raise",
        ]

    # -- encoding ----------------------------------------------------------------

    def encoder(self, obj: ObjectType) -> list[str]:
        lines = [
            f"def _e_{obj.name}(o):",
            f'    """The JSON object of a {obj.title}; raise Invalid on the first problem."""',
        ]
        body = self.encoder_body(obj, "o", "", 0)
        if body and body[-1].startswith("d = {"):
            body[-1] = "return " + body[-1][len("d = ") :]
        else:
            body.append("return d")
        return lines + ["    " + line for line in body]

    def encoder_body(self, obj: ObjectType, o: str, s: str, depth: int) -> list[str]:
        """Statements that check and convert object `o`, leaving its JSON object in `d{s}`.

        `s` is the suffix of every name the statements use; `depth` the depth of the
        names of values inside the fields.
        """
        lines: list[str] = []
        v, d = f"v{s}", f"d{s}"
        # Checked in schema order, as a decoder checks; emitted in the order the class
        # declares its fields (required ones first). When the schema lists the required
        # fields first, the object is built as the fields are checked.
        required = [f for f in obj.fields if f.required]
        direct = obj.fields[: len(required)] == required
        if direct and not required:
            lines.append(f"{d} = {{}}")
        for index, f in enumerate(obj.fields):
            lines.append(f"{v} = {o}.{f.name}")
            target = f"b{s}_{f.name}"
            body, value = self.encode_value(f, v, [repr(f.wire)], depth)
            if f.required:
                lines += body
                last = index == len(required) - 1
                if value != v or not (direct and last):
                    lines.append(f"{target} = {value}")
                    value = target
                if direct and last:
                    items = ", ".join(
                        f"{r.wire!r}: {value if r is f else f'b{s}_' + r.name}" for r in required
                    )
                    lines.append(f"{d} = {{{items}}}")
            elif direct:
                lines += [f"if {v} is not None:", *["    " + x for x in body]]
                lines.append(f"    {d}[{f.wire!r}] = {value}")
            else:
                lines += [f"if {v} is None:", f"    {target} = None", "else:"]
                lines += ["    " + x for x in body]
                lines.append(f"    {target} = {value}")
        if not direct:
            items = ", ".join(f"{f.wire!r}: b{s}_{f.name}" for f in required)
            lines.append(f"{d} = {{{items}}}")
            for f in obj.fields:
                if not f.required:
                    lines += [
                        f"if b{s}_{f.name} is not None:",
                        f"    {d}[{f.wire!r}] = b{s}_{f.name}",
                    ]
        return lines

    def encode_value(
        self, f: Field, var: str, path: list[str], depth: int
    ) -> tuple[list[str], str]:
        """Statements that turn field value `var` into checked JSON, and that JSON after them."""
        p = "[" + ", ".join(path) + "]"
        k = f.kind
        r = f"r{depth}"
        if k == "datetime":
            lines = [
                f"{r} = format_datetime({var})",
                f"if type({var}) is not datetime:",
            ]
            lines += ["    " + x for x in self.check(f, r, path, depth)]
            return lines, r
        if k == "enum":
            # a member, or the string of one, is found; anything else is checked as its
            # string, which names the problem
            lines = [
                "try:",
                f"    {r} = _W_{f.ref}[{var}]",
                "except (KeyError, TypeError):",
                f"    {r} = str({var})",
            ]
            lines += ["    " + x for x in self.check(f, r, path, depth)]
            return lines, r
        if k == "number":
            lines = [f"{r} = decimal_to_json({var})", *self.check(f, r, path, depth)]
            return lines, r
        if k == "custom":
            return self.check(f, var, path, depth), f"dict({var})"
        if k == "object":
            item = self.inlined(f) if p == "[]" else None
            if item is not None:
                suffix = f"_{depth}"
                return self.encoder_body(item, var, suffix, depth + 1), f"d{suffix}"
            if p == "[]":
                return [], f"_e_{f.ref}({var})"
            return self.nested(f"{r} = _e_{f.ref}({var})", p), r
        if k == "array":
            assert f.item is not None
            x = f"x{depth}"
            body, value = self.encode_value(f.item, x, [], depth + 1)
            loop = [f"for {x} in {var}:", *["    " + line for line in body]]
            loop.append(f"    {r}.append({value})")
            lines = [f"{r} = []", *self.nested(loop, f"{p[:-1]}, len({r})]")]
            lines += self.count_checks(f, r, p)
            return lines, r
        return self.check(f, var, path, depth), var

    # -- the checks of one JSON value ----------------------------------------------

    def string_checks(self, f: Field, var: str, p: str) -> list[str]:
        s = f.schema
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
        return lines

    def count_checks(self, f: Field, var: str, p: str) -> list[str]:
        s = f.schema
        lines = []
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
        return lines

    def check(self, f: Field, var: str, path: list[str], depth: int) -> list[str]:
        """Statements that check JSON value `var` of a leaf field f; `path` is the error path."""
        p = "[" + ", ".join(path) + "]"
        s = f.schema
        k = f.kind
        if k in ("string", "uri", "datetime", "enum"):
            lines = self.string_checks(f, var, p)
            if k == "enum":
                lines += [
                    f"if {var} not in _D_{f.ref}:",
                    f"    raise Invalid(PROPERTY, {p}, {var}, 'not one of ' + _T_{f.ref})",
                ]
            elif k == "datetime":
                lines += [
                    f"if not is_datetime({var}):",
                    f"    raise Invalid(FORMATION, {p}, {var}, {DATETIME_RULE!r})",
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


DATETIME_RULE = (
    "not an RFC 3339 date-time with a time zone, in years 1..9999 UTC"
    " (e.g. 2024-05-01T12:00:00.000Z)"
)


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
        pkg / "_codec.py": CodecWriter(model).emit(
            f"Decoders and encoders of {label}, checked against the schema constraints.",
            folder,
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
