"""Conformance of the message classes with the official OCPP schemas, file by file.

For every schema file: payloads generated from the schema decode and encode
back to the same JSON; what the classes emit validates against the official
schema; each way of breaking each field gets its documented CallError code.
"""

from __future__ import annotations

import re
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from chargebox.ocpp import codec
from chargebox.ocpp.errors import EncodeError, ValidationError
from chargebox.ocpp.pnc import messages as pnc_messages
from chargebox.ocpp.timestamps import parse_datetime
from chargebox.ocpp.v16 import messages as v16_messages

from . import schema_tools as st_

CLASSES = {"v16": v16_messages.BY_SCHEMA, "pnc": pnc_messages.BY_SCHEMA}

# What the specifications define: OCPP 1.6 (28 messages), the security whitepaper
# (11 messages) and the Plug&Charge whitepaper (9 OCPP 2.0.1 messages).
V16_ACTIONS = [
    "Authorize",
    "BootNotification",
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "Heartbeat",
    "MeterValues",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
]
SECURITY_ACTIONS = [
    "CertificateSigned",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetInstalledCertificateIds",
    "GetLog",
    "InstallCertificate",
    "LogStatusNotification",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
]
PNC_ACTIONS = [
    "Authorize",
    "CertificateSigned",
    "DeleteCertificate",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "GetInstalledCertificateIds",
    "InstallCertificate",
    "SignCertificate",
    "TriggerMessage",
]

EXPECTED = {
    ("v16", name) for a in V16_ACTIONS + SECURITY_ACTIONS for name in (a, a + "Response")
} | {("pnc", name) for a in PNC_ACTIONS for name in (a + "Request", a + "Response")}

FILES = st_.schema_files()
IDS = [f"{family}/{path.stem}" for family, path in FILES]


def test_every_schema_file_is_covered():
    """96 schema files, each one a message of the specifications, each one a class."""
    on_disk = {(family, path.stem) for family, path in FILES}
    assert len(EXPECTED) == 96
    assert on_disk == EXPECTED, (
        f"missing schema files: {sorted(EXPECTED - on_disk)}; "
        f"unexpected: {sorted(on_disk - EXPECTED)}"
    )
    for family, stem in EXPECTED:
        assert stem in CLASSES[family], f"no class for {family}/{stem}"
        assert CLASSES[family][stem].schema == stem
    assert {(f, s) for f, classes in CLASSES.items() for s in classes} == EXPECTED


# Date-times as RFC 3339 allows them (offsets, fractions, lower-case t and z), within
# the years a datetime holds in UTC; edge years are tested in test_timestamps.
_datetimes = st.builds(
    lambda d, t, frac, tz, lower: (
        f"{d:%Y-%m-%d}{'t' if lower else 'T'}{t:%H:%M:%S}{frac}{tz.lower() if lower else tz}"
    ),
    st.dates(min_value=__import__("datetime").date(1900, 1, 2)),
    st.times(),
    st.sampled_from(["", ".5", ".123", ".123456", ".123456789"]),
    st.one_of(
        st.just("Z"),
        st.builds(
            lambda s, h, m: f"{s}{h:02d}:{m:02d}",
            st.sampled_from("+-"),
            st.integers(0, 23),
            st.integers(0, 59),
        ),
    ),
    st.booleans(),
)
_INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


def _bounded(schema):
    """Integers limited to 64 bits: the JSON codec's range (documented in docs/protocol.md)."""
    if isinstance(schema, dict):
        out = {k: _bounded(v) for k, v in schema.items()}
        if out.get("type") == "integer":
            out = {**_INT64, **out}
        return out
    if isinstance(schema, list):
        return [_bounded(x) for x in schema]
    return schema


def _normalise(schema, data):
    """Data with every date-time as the instant it denotes, to the millisecond we emit."""
    t = schema.get("type")
    if t == "object":
        props = schema.get("properties", {})
        return {k: _normalise(props.get(k, {}), v) for k, v in data.items()}
    if t == "array":
        return [_normalise(schema["items"], x) for x in data]
    if schema.get("format") == "date-time":
        instant = parse_datetime(data)
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    if "multipleOf" in schema:
        # a float error of the sender (1337 * 0.1 = 133.70000000000002) is read as the tenth
        exact = Decimal(repr(data))
        return exact.quantize(Decimal("0.1")) if exact.as_tuple().exponent < -1 else exact
    return data


@pytest.mark.parametrize(("family", "path"), FILES, ids=IDS)
def test_generated_payloads_round_trip(family, path):
    raw = st_.load(path)
    resolved = st_.resolve(raw)
    cls = CLASSES[family][path.stem]
    official = st_.official_validator(raw)
    generated = {k: v for k, v in _bounded(resolved).items() if k not in ("$id", "id")}

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    @given(from_schema(generated, custom_formats={"date-time": _datetimes}))
    def check(payload):
        message = codec.decode(cls, payload)
        assert isinstance(message, cls)
        _check_built_as_the_class_builds(message)
        out = codec.encode(message)
        assert _normalise(resolved, out) == _normalise(resolved, payload)
        official.validate(out)
        _check_emitted_timestamps(resolved, out)

    check()


def _check_emitted_timestamps(schema, data):
    for p, _, sub, _ in st_.field_paths(schema, data):
        if sub.get("format") == "date-time":
            value = st_.get(data, p)
            assert st_.EMITTED_TIMESTAMP.fullmatch(value), value
        items = sub.get("items", {})
        if items.get("format") == "date-time":
            for value in st_.get(data, p):
                assert st_.EMITTED_TIMESTAMP.fullmatch(value), value


@pytest.mark.parametrize(("family", "path"), FILES, ids=IDS)
def test_minimal_and_full_payloads(family, path):
    """The smallest and the largest valid payloads decode, encode back, and validate."""
    raw = st_.load(path)
    resolved = st_.resolve(raw)
    cls = CLASSES[family][path.stem]
    official = st_.official_validator(raw)
    for full in (False, True):
        payload = st_.instance(resolved, full)
        official.validate(payload)
        message = codec.decode(cls, payload)
        _check_built_as_the_class_builds(message)
        out = codec.encode(message)
        assert out == payload
        official.validate(out)


def _rebuilt(value):
    """The same message built again through the classes' own __init__ (and converters)."""
    if attrs.has(type(value)):
        return type(value)(
            **{a.name: _rebuilt(getattr(value, a.name)) for a in attrs.fields(type(value))}
        )
    if type(value) is tuple:
        return tuple(_rebuilt(x) for x in value)
    return value


def _shape(value):
    """The types in a message, all the way down (a str is not its enumeration member)."""
    if attrs.has(type(value)):
        return type(value), tuple(_shape(getattr(value, a.name)) for a in attrs.fields(type(value)))
    if type(value) is tuple:
        return tuple, tuple(_shape(x) for x in value)
    return type(value)


def _check_built_as_the_class_builds(message):
    # decoders set the fields without __init__: the result must be what __init__ makes
    again = _rebuilt(message)
    assert again == message
    try:
        expected = hash(message)
    except TypeError:  # a customData dict
        pass
    else:
        assert hash(again) == expected
    assert _shape(again) == _shape(message)


MUTATIONS = [
    pytest.param(family, path, kind, data, code, where, id=f"{family}/{path.stem}:{kind}:{where}")
    for family, path in FILES
    for kind, data, code, where in st_.mutations(st_.resolve(st_.load(path)))
]


@pytest.mark.parametrize(("family", "path", "kind", "data", "code", "where"), MUTATIONS)
def test_mutated_payloads_get_the_documented_code(family, path, kind, data, code, where):
    cls = CLASSES[family][path.stem]
    official = st_.official_validator(st_.load(path))
    assert not official.is_valid(data), "the mutation must break the schema"
    with pytest.raises(ValidationError) as e:
        codec.decode(cls, data)
    assert str(e.value.code) == code, e.value.description
    assert e.value.path == where
    assert e.value.description.startswith(f"{cls.title}: {where}: ")


def test_the_mutations_cover_every_kind_of_rule():
    kinds = {m.values[2] for m in MUTATIONS}
    assert kinds >= {
        "missing",
        "wrong type",
        "fraction for integer",
        "boolean for integer",
        "bad enum",
        "too long",
        "bad date-time",
        "not a multiple of 0.1",
        "extra property",
        "too many items",
        "too few items",
        "item too long",
    }


@pytest.mark.parametrize(("family", "path"), FILES, ids=IDS)
def test_a_payload_that_is_not_an_object_is_a_formation_violation(family, path):
    cls = CLASSES[family][path.stem]
    for bad in ([], "text", 3, None):
        with pytest.raises(ValidationError) as e:
            codec.decode(cls, bad)
        assert e.value.code == "FormationViolation"


# What a program can put into a message it builds, for each way a payload can break a
# field; "wrong type" for a number is left out, as a program may give a limit as text.
_ENCODABLE = {
    "wrong type",
    "fraction for integer",
    "boolean for integer",
    "bad enum",
    "too long",
    "not a multiple of 0.1",
    "wrong item type",
    "item too long",
    "bad item enum",
    "too many items",
    "too few items",
}
_WIRE_NAMES = {**v16_messages.WIRE_NAMES, **pnc_messages.WIRE_NAMES}


def _field_schema(schema, path):
    for p in path:
        schema = schema["items"] if isinstance(p, int) else schema["properties"][p]
    return schema


def _path(dotted):
    return tuple(
        int(index) if index else name for name, index in re.findall(r"(\w+)|\[(\d+)\]", dotted)
    )


def _replaced(message, path, value):
    """`message` with the value at a (wire) path replaced, built through the classes."""
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(message)
        items[head] = _replaced(items[head], rest, value) if rest else value
        return tuple(items)
    if type(message) is dict:  # customData
        return {**message, head: _replaced(message[head], rest, value) if rest else value}
    name = {w: n for n, w in _WIRE_NAMES[type(message)].items()}[head]
    current = getattr(message, name)
    if rest:
        value = _replaced(current, rest, value)
    elif type(value) is list and current and attrs.has(type(current[0])):
        # more or fewer items: copies of the first, as the mutated payload has them
        value = (current[0],) * len(value)
    return attrs.evolve(message, **{name: value})


ENCODE_MUTATIONS = [
    pytest.param(family, path, kind, data, where, id=f"{family}/{path.stem}:{kind}:{where}")
    for family, path in FILES
    for kind, data, _, where in st_.mutations(st_.resolve(st_.load(path)))
    if kind in _ENCODABLE
    and not (
        kind == "wrong type"
        and _field_schema(st_.resolve(st_.load(path)), _path(where)).get("type")
        in ("object", "array", "number")
    )
    and _field_schema(st_.resolve(st_.load(path)), _path(where)).get("format") != "date-time"
]


@pytest.mark.parametrize(("family", "path", "kind", "data", "where"), ENCODE_MUTATIONS)
def test_encode_refuses_what_decode_refuses(family, path, kind, data, where):
    """A message built by a program gets every check a received payload gets."""
    cls = CLASSES[family][path.stem]
    resolved = st_.resolve(st_.load(path))
    message = codec.decode(cls, st_.instance(resolved, full=True))
    value = st_.get(data, _path(where))
    bad = _replaced(message, _path(where), value)
    with pytest.raises(ValidationError) as received:
        codec.decode(cls, data)
    with pytest.raises(EncodeError) as sent:
        codec.encode(bad)
    schema = _field_schema(resolved, _path(where))
    if "enum" in schema and kind in ("wrong type", "wrong item type"):
        # a program's value in an enumeration field is taken as its string
        assert str(sent.value).startswith(
            f"refusing to send an invalid message: {cls.title}: {where}: not one of "
        )
    elif kind in ("too many items", "too few items"):
        # the same array; its objects list their properties in the order the classes do
        rule = received.value.description.split(" (got ")[0]
        assert str(sent.value).startswith(f"refusing to send an invalid message: {rule} (got ")
    else:
        assert str(sent.value) == (
            f"refusing to send an invalid message: {received.value.description}"
        )


def test_encode_mutations_cover_every_kind_a_program_can_get_wrong():
    assert {m.values[2] for m in ENCODE_MUTATIONS} == _ENCODABLE
