"""The key registry against the libocpp facts, and the generated schemas and docs against it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from chargebox.config import BUILTIN, SECTIONS, Access, Effect, KeyRegistry, KeySpec, ValueType
from chargebox.config.generate import expected_files
from chargebox.config.schemas import all_schemas

from . import facts
from .support import CONFIG_DIR

ROWS = facts.rows()
REPO = CONFIG_DIR.parent

# Where chargebox's access differs from what libocpp's GetConfiguration reports, and why
# (docs/configuration.md, "Differences from libocpp").
ACCESS_DIFFERENCES = {
    # libocpp's schema says writable, its GetConfiguration says read-only; the schema wins
    "Language": Access.READ_WRITE,
}
# Limits chargebox adds or changes, beyond libocpp's schema.
LIMIT_DIFFERENCES = {
    # 16 bytes of password (whitepaper) are checked on the decoded key, not on the text;
    # 40 hex digits (20 bytes) at most, or 80 characters of text
    "AuthorizationKey": {"minLength": 1, "maxLength": 80},
    # a count or duration below 0 has no meaning
    "RetryBackoffRandomRange": {"minimum": 0},
    "RetryBackoffRepeatTimes": {"minimum": 0},
    "RetryBackoffWaitMinimum": {"minimum": 0},
    "MaxCompositeScheduleDuration": {"minimum": 0},
    "WebsocketPongTimeout": {"minimum": 0},
    "NumberOfDecimalsForCostValues": {"minimum": 0},
    "CertificateSignedMaxChainSize": {"minimum": 0, "maximum": 10000},
    # the organizationName of a certificate request: 1 to 64 characters (X.520)
    "CpoName": {"minLength": 1, "maxLength": 64},
    # minLength means nothing for a JSON object; the shape check replaces it
    "DefaultPrice": {},
    "DefaultPriceText": {},
}
GETCONF_ACCESS = {
    "ro": Access.READ_ONLY,
    "ro (!= schema)": Access.READ_ONLY,
    "as MeterPublicKey[n] ro": Access.READ_ONLY,
    "rw": Access.READ_WRITE,
    "as DefaultPriceText,<lang>": Access.READ_WRITE,
    "hidden": Access.HIDDEN,
    "hidden (write-only)": Access.WRITE_ONLY,
}


def _limits(text: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r"(\w+)=(\d+)", text)}


def _spec_limits(spec: KeySpec) -> dict[str, int | float]:
    pairs = {
        "minimum": spec.minimum,
        "maximum": spec.maximum,
        "minLength": spec.min_length,
        "maxLength": spec.max_length,
    }
    return {name: value for name, value in pairs.items() if value is not None}


def test_the_key_table_is_read_whole() -> None:
    # one row per key under each section's heading, as many as the heading says
    text = facts.FACTS.read_text(encoding="utf-8")
    headings = {
        name: int(count) for name, count in re.findall(r"^## (\w+) \((\d+) keys\)", text, re.M)
    }
    assert headings == {
        section: sum(1 for row in ROWS if row["section"] == section) for section in headings
    }
    assert sum(headings.values()) == len(ROWS) == 125


def test_every_facts_key_is_known_and_nothing_else() -> None:
    assert len(ROWS) == 125
    assert {(row["section"], row["key"]) for row in ROWS} == {
        (spec.section, spec.name) for spec in BUILTIN
    }
    counts = {section: len(BUILTIN.section_keys(section)) for section in SECTIONS}
    assert counts == {
        "Internal": 56,
        "Core": 34,
        "FirmwareManagement": 1,
        "Security": 7,
        "LocalAuthListManagement": 3,
        "SmartCharging": 5,
        "Reservation": 1,
        "PnC": 6,
        "CostAndPrice": 12,
        "Custom": 0,
    }


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["key"])
def test_key_agrees_with_the_facts(row: dict[str, str]) -> None:
    spec = BUILTIN[row["key"]]
    assert spec.type == ValueType(row["type"])
    assert spec.required == (row["req"] == "Y")
    expected_access = ACCESS_DIFFERENCES.get(spec.name, GETCONF_ACCESS[row["getconf"]])
    assert spec.access == expected_access
    expected_limits = LIMIT_DIFFERENCES.get(spec.name, _limits(row["constraints"]))
    assert _spec_limits(spec) == expected_limits
    default = row["default"]
    if default and not default.endswith("..."):
        assert spec.default == json.loads(default) or list(spec.default) == json.loads(default)
    elif not default:
        assert not spec.has_default


def test_truncated_facts_defaults_are_libocpp_values() -> None:
    # the facts table cuts long defaults; check their beginnings at least
    for row in ROWS:
        if row["default"].endswith("..."):
            spec = BUILTIN[row["key"]]
            assert json.dumps(
                list(spec.default) if isinstance(spec.default, tuple) else spec.default
            ).startswith(row["default"][:-3])


def test_effects_of_the_keys_that_need_one() -> None:
    effects = {spec.name: spec.effect for spec in BUILTIN if spec.effect is not None}
    assert effects == {
        "RetryBackoffRandomRange": Effect.RETRY_BACKOFF,
        "RetryBackoffRepeatTimes": Effect.RETRY_BACKOFF,
        "RetryBackoffWaitMinimum": Effect.RETRY_BACKOFF,
        "OcspRequestInterval": Effect.OCSP_REQUEST_INTERVAL,
        "ClockAlignedDataInterval": Effect.REARM_ALIGNED_METER_VALUES,
        "ConnectionTimeOut": Effect.CONNECTION_TIMEOUT,
        "HeartbeatInterval": Effect.REARM_HEARTBEAT,
        "MeterValueSampleInterval": Effect.REARM_SAMPLED_METER_VALUES,
        "TransactionMessageAttempts": Effect.TRANSACTION_RETRY,
        "TransactionMessageRetryInterval": Effect.TRANSACTION_RETRY,
        "WebSocketPingInterval": Effect.PING_INTERVAL,
        "AuthorizationKey": Effect.AUTHORIZATION_KEY,
        "SecurityProfile": Effect.SECURITY_PROFILE,
        "ISO15118CertificateManagementEnabled": Effect.ISO15118_CERTIFICATE_MANAGEMENT,
        "NextTimeOffsetTransitionDateTime": Effect.TIME_OFFSET_TRANSITION,
        "TimeOffsetNextTransition": Effect.TIME_OFFSET_TRANSITION,
    }
    # every effect the station must handle is used by some key
    assert set(effects.values()) == set(Effect)


def test_only_writable_keys_have_effects_and_only_secrets_are_write_only() -> None:
    for spec in BUILTIN:
        if spec.effect is not None:
            assert spec.writable, spec.name
        assert (spec.access is Access.WRITE_ONLY) == spec.secret, spec.name


def test_keys_differing_only_in_case_are_refused() -> None:
    def spec(name: str) -> KeySpec:
        return KeySpec(name, "Custom", ValueType.INTEGER, Access.READ_WRITE, "test")

    with pytest.raises(ValueError, match="clashes"):
        KeyRegistry([spec("VendorLimit"), spec("vendorlimit")])
    with pytest.raises(ValueError, match="clashes"):
        BUILTIN.with_custom([spec("heartbeatINTERVAL")])
    with pytest.raises(ValueError, match="section Custom"):
        BUILTIN.with_custom([KeySpec("X", "Core", ValueType.INTEGER, Access.READ_WRITE, "x")])


def test_the_seed_spelling_is_an_alias_of_the_spec_spelling() -> None:
    assert BUILTIN.lookup("WebsocketPingInterval") is BUILTIN["WebSocketPingInterval"]
    assert BUILTIN.in_section("Core", "WebsocketPingInterval") is BUILTIN["WebSocketPingInterval"]
    # the Internal keys of the same family stay distinct
    assert BUILTIN.lookup("WebsocketPingPayload").section == "Internal"


def test_generated_files_are_up_to_date() -> None:
    stale = [
        str(path.relative_to(REPO))
        for path, text in expected_files(CONFIG_DIR, REPO / "docs" / "configuration.md").items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `python -m chargebox.config.generate`; stale: {stale}"


def _validator() -> jsonschema.Draft7Validator:
    schemas = all_schemas()
    registry = Registry().with_resources(
        (name, Resource.from_contents(schema)) for name, schema in schemas.items()
    )
    return jsonschema.Draft7Validator(schemas["Config.json"], registry=registry)


@pytest.mark.parametrize("name", ["ocpp-config.json", "ocpp-config-full.json"])
def test_example_files_validate_against_the_schemas(name: str) -> None:
    document = json.loads((CONFIG_DIR / name).read_text(encoding="utf-8"))
    errors = [error.message for error in _validator().iter_errors(document)]
    assert errors == []


def test_the_schemas_reject_what_the_registry_rejects(seed: dict) -> None:
    seed["Core"]["HeartbeatInterval"] = -5
    seed["Core"]["HeartbeatIntervall"] = 5
    messages = sorted(error.message for error in _validator().iter_errors(seed))
    assert len(messages) == 2
    assert "-5 is less than the minimum of 0" in messages


def test_schema_files_on_disk_are_valid_draft7() -> None:
    for path in sorted(Path(CONFIG_DIR, "schemas").glob("*.json")):
        jsonschema.Draft7Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
