"""Loading good configurations: the seed's example, a libocpp-style full file, libocpp quirks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chargebox.config import BUILTIN, ChargePointConfig, ConfigurationStatus, UnknownKeyError

from .support import FULL, SEED, edit

# The example as EVerest's OCPP 1.6 how-to prints it (its first lines say where from).
SEED_TEXT = Path(__file__).resolve().parent / "data" / "seed-config-example.txt"


def test_the_example_is_the_seeds_example_exactly() -> None:
    example = SEED_TEXT.read_text(encoding="utf-8").split("\n\n", 1)[1]
    assert SEED.read_text(encoding="utf-8").strip() == example.strip()


def test_seed_loads_with_its_values_and_the_defaults() -> None:
    cfg = ChargePointConfig.load(SEED)
    assert cfg["HeartbeatInterval"] == 86400
    assert cfg["ConnectorPhaseRotation"] == "0.RST,1.RST"
    assert cfg["SecurityProfile"] == 1
    assert cfg.authorization_key == "DEADBEEFDEADBEEF"
    # defaults of libocpp's schemas are filled in
    assert cfg["SupportedCiphers13"] == ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]
    assert cfg["MaxMessageSize"] == 65000
    assert cfg["DisableSecurityEventNotifications"] is False
    assert cfg["ISO15118CertificateManagementEnabled"] is False
    # an absent optional key without default is not set
    assert "BlinkRepeat" not in cfg
    assert cfg.get("BlinkRepeat") is None
    with pytest.raises(KeyError, match="not set"):
        cfg["BlinkRepeat"]


def test_seed_websocket_ping_interval_spelling_is_read_as_the_spec_key() -> None:
    cfg = ChargePointConfig.load(SEED)
    assert cfg["WebSocketPingInterval"] == 0
    assert cfg.websocket_ping_interval == 0
    [warning] = [w for w in cfg.warnings if w.rule == "alias"]
    assert str(warning) == (
        f"{SEED}: Core.WebsocketPingInterval: read as WebSocketPingInterval, its OCPP 1.6 spelling"
    )


def test_both_spellings_in_one_file_are_an_error(seed: dict, write) -> None:
    seed["Core"]["WebSocketPingInterval"] = 5
    with pytest.raises(Exception) as raised:
        ChargePointConfig.load(write(seed))
    [problem] = raised.value.problems
    assert problem.rule == "duplicate-key"
    assert problem.key == "WebsocketPingInterval"


def test_typed_access_and_properties() -> None:
    cfg = ChargePointConfig.load(SEED)
    assert cfg.charge_point_id == "cp001"
    assert cfg.heartbeat_interval == 86400
    assert cfg.meter_value_sample_interval == 60
    assert cfg.clock_aligned_data_interval == 900
    assert cfg.connection_timeout == 30
    assert cfg.transaction_message_attempts == 1
    assert cfg.transaction_message_retry_interval == 10
    assert cfg.number_of_connectors == 1
    assert cfg.security_profile == 1
    assert "SmartCharging" in cfg.supported_feature_profiles
    with pytest.raises(UnknownKeyError):
        cfg["HeartbeatIntervall"]
    # returned containers are copies: editing them does not edit the configuration
    cfg["SupportedCiphers12"].append("NULL")
    assert "NULL" not in cfg["SupportedCiphers12"]


@pytest.mark.parametrize(
    ("uri", "profile", "url"),
    [
        # the seed: no scheme, ends with the id
        ("127.0.0.1:8180/steve/ws/cp001", 1, "ws://127.0.0.1:8180/steve/ws/cp001"),
        # libocpp's style: trailing slash, the id is appended
        ("127.0.0.1:8180/steve/ws/", 0, "ws://127.0.0.1:8180/steve/ws/cp001"),
        ("csms.example.com/ocpp", 2, "wss://csms.example.com/ocpp/cp001"),
        ("wss://csms.example.com/ocpp/cp001", 3, "wss://csms.example.com/ocpp/cp001"),
    ],
)
def test_central_system_url(seed: dict, write, uri: str, profile: int, url: str) -> None:
    document = edit(seed, Internal={"CentralSystemURI": uri}, Security={"SecurityProfile": profile})
    assert ChargePointConfig.load(write(document)).central_system_url == url


def test_full_config_loads_every_key_of_every_section() -> None:
    cfg = ChargePointConfig.load(FULL)
    document = json.loads(FULL.read_text(encoding="utf-8"))
    assert set(document) == {
        "Internal",
        "Core",
        "FirmwareManagement",
        "Security",
        "LocalAuthListManagement",
        "SmartCharging",
        "Reservation",
        "PnC",
        "CostAndPrice",
        "Custom",
    }
    written = {key for body in document.values() for key in body}
    assert written == {spec.name for spec in BUILTIN}
    for body in document.values():
        for key, value in body.items():
            assert cfg[key] == value
    assert cfg.warnings == ()


def test_sections_may_be_left_out(seed: dict, write) -> None:
    # a charge point without PnC, Security, FirmwareManagement: still loads
    for name in ("PnC", "Security", "FirmwareManagement"):
        del seed[name]
    seed["Core"]["SupportedFeatureProfiles"] = "Core,LocalAuthListManagement,SmartCharging"
    cfg = ChargePointConfig.load(write(seed))
    assert cfg.security_profile == 0  # the whitepaper's default
    assert "ISO15118PnCEnabled" not in cfg


def test_undeclared_custom_keys_load_read_only(seed: dict, write) -> None:
    # libocpp's Custom.json does not forbid extra keys; its docker configs have one
    seed["Custom"] = {"VendorGreeting": "hello", "VendorLimit": 7}
    cfg = ChargePointConfig.load(write(seed))
    assert cfg["VendorLimit"] == 7
    # the seed's key stands for 8 bytes (too-short) and it spells WebsocketPingInterval (alias)
    assert {w.rule for w in cfg.warnings} == {"alias", "too-short", "undeclared-custom"}
    report = cfg.get_configuration(["VendorGreeting", "vendorlimit"])
    assert [(kv.key, kv.readonly, kv.value) for kv in report.configuration_key] == [
        ("VendorGreeting", True, "hello"),
        ("VendorLimit", True, "7"),
    ]
    assert cfg.change_configuration("VendorLimit", "8").status is ConfigurationStatus.REJECTED


def test_undeclared_custom_keys_in_the_overlay(seed: dict, write) -> None:
    seed["Custom"] = {"VendorGreeting": "hello"}
    overlay = write({"Custom": {"VendorGreeting": "hi", "VendorOther": True}}, "user.json")
    cfg = ChargePointConfig.load(write(seed), overlay)
    assert (cfg["VendorGreeting"], cfg["VendorOther"]) == ("hi", True)


def test_a_malformed_phase_rotation_only_warns_at_load(seed: dict, write) -> None:
    # libocpp never checks it at load, and its own full example has "RST0.RST,1.RST,2.RTS"
    seed["Core"]["ConnectorPhaseRotation"] = "RST0.RST,1.RST"
    cfg = ChargePointConfig.load(write(seed))
    warning = next(w for w in cfg.warnings if w.key == "ConnectorPhaseRotation")
    assert warning.rule == "syntax"
    assert "'RST0.RST' is not <connector>.<rotation>" in warning.message
    # other changes still work; the CSMS cannot set a malformed value
    assert cfg.change_configuration("HeartbeatInterval", "60").accepted
    bad = cfg.change_configuration("ConnectorPhaseRotation", "RST0.RST")
    assert bad.status is ConfigurationStatus.REJECTED
    assert cfg.change_configuration("ConnectorPhaseRotation", "0.RST,1.TSR").accepted


def test_a_section_whose_profile_is_not_listed_loads_with_a_warning(seed: dict, write) -> None:
    seed["Core"]["SupportedFeatureProfiles"] = "Core,LocalAuthListManagement,SmartCharging"
    cfg = ChargePointConfig.load(write(seed))
    warning = next(w for w in cfg.warnings if w.rule == "hidden-section")
    assert warning.section == "FirmwareManagement"
