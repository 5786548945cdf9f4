"""ChangeConfiguration: every access class, value parsing, limits, effects, the security keys."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from chargebox.config import (
    Access,
    ChargePointConfig,
    ConfigurationStatus,
    Effect,
    KeySpec,
    ValueType,
)

from .support import FULL, SEED, edit

ACCEPTED = ConfigurationStatus.ACCEPTED
REJECTED = ConfigurationStatus.REJECTED
NOT_SUPPORTED = ConfigurationStatus.NOT_SUPPORTED
REBOOT_REQUIRED = ConfigurationStatus.REBOOT_REQUIRED


@pytest.fixture
def cfg() -> ChargePointConfig:
    return ChargePointConfig.load(SEED)


def value_of(cfg: ChargePointConfig, key: str) -> str | None:
    [kv] = cfg.get_configuration([key]).configuration_key
    return kv.value


# -- access classes ------------------------------------------------------------


def test_read_write_is_accepted_and_applied_at_once(cfg: ChargePointConfig) -> None:
    result = cfg.change_configuration("HeartbeatInterval", "300")
    assert (result.status, result.effect, result.value) == (ACCEPTED, Effect.REARM_HEARTBEAT, 300)
    assert result.accepted
    assert cfg.heartbeat_interval == 300
    assert value_of(cfg, "HeartbeatInterval") == "300"


def test_read_only_is_rejected(cfg: ChargePointConfig, caplog) -> None:
    caplog.set_level(logging.INFO)
    result = cfg.change_configuration("NumberOfConnectors", "2")
    assert (result.status, result.reason) == (REJECTED, "read-only")
    assert cfg.number_of_connectors == 1
    assert "NumberOfConnectors = 2 rejected: read-only" in caplog.text


def test_write_only_is_accepted_and_never_shown(cfg: ChargePointConfig, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "correct-horse-battery-staple"
    result = cfg.change_configuration("AuthorizationKey", secret)
    assert (result.status, result.effect, result.value) == (
        ACCEPTED,
        Effect.AUTHORIZATION_KEY,
        None,
    )
    assert cfg.authorization_key == secret
    assert cfg.get_configuration(["AuthorizationKey"]).unknown_key == ("AuthorizationKey",)
    assert secret not in repr(result) + str(result) + caplog.text


def test_hidden_keys_are_not_supported(cfg: ChargePointConfig) -> None:
    result = cfg.change_configuration("LogRotation", "true")
    assert result.status is NOT_SUPPORTED


def test_unknown_keys_are_not_supported(cfg: ChargePointConfig) -> None:
    result = cfg.change_configuration("HeartbeatIntervall", "300")
    assert (result.key, result.status, result.reason) == (
        "HeartbeatIntervall",
        NOT_SUPPORTED,
        "unknown key",
    )


def test_an_absent_optional_key_is_not_supported(cfg: ChargePointConfig) -> None:
    # OCPP 1.6 chapter 9: an optional key the charge point does not have = no such function
    assert cfg.change_configuration("BlinkRepeat", "2").status is NOT_SUPPORTED
    assert cfg.change_configuration("AllowOfflineTxForUnknownId", "true").status is NOT_SUPPORTED


def test_a_key_of_an_unsupported_profile_is_not_supported(seed: dict, write) -> None:
    document = edit(seed, Core={"SupportedFeatureProfiles": "Core,SmartCharging"})
    cfg = ChargePointConfig.load(write(document))
    assert cfg.change_configuration("LocalAuthListEnabled", "false").status is NOT_SUPPORTED


def test_keys_matched_case_insensitively(cfg: ChargePointConfig) -> None:
    result = cfg.change_configuration("websocketpinginterval", "30")
    assert (result.key, result.status, result.effect) == (
        "WebSocketPingInterval",
        ACCEPTED,
        Effect.PING_INTERVAL,
    )
    assert cfg.websocket_ping_interval == 30


# -- values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("HeartbeatInterval", "abc", "must be an integer"),
        ("HeartbeatInterval", "1.5", "must be an integer"),
        ("HeartbeatInterval", "", "must be an integer"),
        ("LocalPreAuthorize", "yes", "must be true or false"),
        ("LocalPreAuthorize", "1", "must be true or false"),
        ("SupplyVoltage", "230V", "must be a number"),
        ("SupplyVoltage", "nan", "must be a number"),
        ("CompositeScheduleDefaultNumberPhases", "2.5", "must be a whole number"),
        ("ConnectorPhaseRotation", "0.XYZ", "'0.XYZ' is not <connector>.<rotation>"),
    ],
)
def test_bad_values_are_rejected(cfg: ChargePointConfig, key: str, value: str, reason: str) -> None:
    before = cfg[key]
    result = cfg.change_configuration(key, value)
    assert result.status is REJECTED
    assert reason in result.reason
    assert cfg[key] == before


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("HeartbeatInterval", "-1", "must be an integer >= 0"),
        ("WebSocketPingInterval", "-10", "must be an integer >= 0"),
        ("OcspRequestInterval", "3600", "must be an integer >= 86400"),
        ("CompositeScheduleDefaultNumberPhases", "4", "must be a number from 1 to 3"),
        ("SupplyVoltage", "-230", "must be a number >= 0"),
        ("ConnectorPhaseRotation", "0.RST,2.RST", "connector 2 does not exist"),
    ],
)
def test_out_of_range_values_are_rejected(
    cfg: ChargePointConfig, key: str, value: str, reason: str
) -> None:
    result = cfg.change_configuration(key, value)
    assert result.status is REJECTED
    assert reason in result.reason


def test_out_of_range_light_intensity(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    assert cfg.change_configuration("LightIntensity", "101").reason == (
        "must be an integer from 0 to 100"
    )
    assert cfg.change_configuration("LightIntensity", "100").accepted


def test_booleans_in_any_case(cfg: ChargePointConfig) -> None:
    assert cfg.change_configuration("LocalPreAuthorize", "TRUE").value is True
    assert cfg["LocalPreAuthorize"] is True
    assert cfg.change_configuration("LocalPreAuthorize", "False").value is False


def test_numbers(cfg: ChargePointConfig) -> None:
    assert cfg.change_configuration("SupplyVoltage", "231.5").value == 231.5
    assert value_of(cfg, "SupplyVoltage") == "231.5"
    assert cfg.change_configuration("CompositeScheduleDefaultLimitAmps", "16").value == 16


def test_unsupported_measurand_rejected_and_nothing_changes(cfg: ChargePointConfig) -> None:
    # errata 3.14.4
    result = cfg.change_configuration(
        "MeterValuesSampledData", "Energy.Active.Import.Register,Temperature"
    )
    assert result.status is REJECTED
    assert "Temperature is not in Internal.SupportedMeasurands" in result.reason
    assert cfg["MeterValuesSampledData"] == "Energy.Active.Import.Register"
    ok = cfg.change_configuration("MeterValuesSampledData", "Voltage.L1,Current.Import.L2-N,SoC")
    assert ok.accepted
    assert cfg.change_configuration("StopTxnSampledData", "").accepted


def test_csl_longer_than_its_max_length(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    result = cfg.change_configuration("StopTxnAlignedData", ",".join(["Voltage"] * 6))
    assert result.status is REJECTED
    assert "more than StopTxnAlignedDataMaxLength (5)" in result.reason


def test_rejection_reasons_are_logged(cfg: ChargePointConfig, caplog) -> None:
    caplog.set_level(logging.WARNING)
    cfg.change_configuration("HeartbeatInterval", "-1")
    assert "ChangeConfiguration HeartbeatInterval = -1 rejected: must be an integer >= 0" in (
        caplog.text
    )


# -- effects -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "effect"),
    [
        ("HeartbeatInterval", "60", Effect.REARM_HEARTBEAT),
        ("MeterValueSampleInterval", "30", Effect.REARM_SAMPLED_METER_VALUES),
        ("ClockAlignedDataInterval", "0", Effect.REARM_ALIGNED_METER_VALUES),
        ("WebSocketPingInterval", "15", Effect.PING_INTERVAL),
        ("TransactionMessageAttempts", "5", Effect.TRANSACTION_RETRY),
        ("TransactionMessageRetryInterval", "30", Effect.TRANSACTION_RETRY),
        ("ConnectionTimeOut", "90", Effect.CONNECTION_TIMEOUT),
        ("RetryBackoffWaitMinimum", "10", Effect.RETRY_BACKOFF),
        ("OcspRequestInterval", "86400", Effect.OCSP_REQUEST_INTERVAL),
        ("ISO15118CertificateManagementEnabled", "false", Effect.ISO15118_CERTIFICATE_MANAGEMENT),
        ("TimeOffsetNextTransition", "-01:30", Effect.TIME_OFFSET_TRANSITION),
        ("LocalAuthListEnabled", "false", None),
        ("UnlockConnectorOnEVSideDisconnect", "false", None),
    ],
)
def test_accepted_changes_name_their_effect(key: str, value: str, effect: Effect | None) -> None:
    cfg = ChargePointConfig.load(FULL)
    result = cfg.change_configuration(key, value)
    assert (result.status, result.effect) == (ACCEPTED, effect)


# -- keys with their own rules -------------------------------------------------


def test_authorization_key_shorter_than_16_bytes(cfg: ChargePointConfig, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    result = cfg.change_configuration("AuthorizationKey", "tooShort1")
    assert result.status == REJECTED
    assert result.reason.startswith("stands for a password of 9 bytes; the security whitepaper")
    assert cfg.authorization_key == "DEADBEEFDEADBEEF"
    assert "tooShort1" not in caplog.text


def test_authorization_key_of_hex_pairs_is_measured_in_the_bytes_it_encodes(
    cfg: ChargePointConfig,
) -> None:
    # the whitepaper's key: random binary, written as up to 40 hex digits; kept as written
    binary_hex = "00ff" * 8
    assert cfg.change_configuration("AuthorizationKey", binary_hex).accepted
    assert cfg.authorization_key == binary_hex
    # 16 hex digits are 8 bytes: too short, although the text has 16 characters
    result = cfg.change_configuration("AuthorizationKey", "DEADBEEFDEADBEEF")
    assert result.status == REJECTED
    assert result.reason.startswith("stands for a password of 8 bytes")
    assert cfg.authorization_key == binary_hex


def test_authorization_key_can_be_set_before_basic_auth_is_used(seed: dict, write) -> None:
    document = edit(seed, Security={"SecurityProfile": 0, "AuthorizationKey": None})
    cfg = ChargePointConfig.load(write(document))
    assert cfg.change_configuration("SecurityProfile", "1").reason == (
        "profile 1 uses HTTP Basic authentication and needs Security.AuthorizationKey"
    )
    assert cfg.change_configuration("AuthorizationKey", "0123456789abcdefXYZ").accepted
    assert cfg.change_configuration("SecurityProfile", "1").accepted


def test_security_profile_may_only_be_raised(cfg: ChargePointConfig) -> None:
    for value in ("0", "1"):
        result = cfg.change_configuration("SecurityProfile", value)
        assert (result.status, result.reason) == (
            REJECTED,
            "can only be raised (the current profile is 1)",
        )
    assert cfg.change_configuration("SecurityProfile", "4").reason == (
        "must be an integer from 0 to 3"
    )


def test_security_profile_raise_is_a_switch_request(tmp_path, seed: dict, write) -> None:
    overlay = tmp_path / "user.json"
    cfg = ChargePointConfig.load(write(seed), overlay)
    result = cfg.change_configuration("SecurityProfile", "2")
    assert (result.status, result.effect, result.value) == (ACCEPTED, Effect.SECURITY_PROFILE, 2)
    assert "switch to profile 2 requested" in result.reason
    # nothing changes until the link has connected with the new profile
    assert cfg.security_profile == 1
    assert not overlay.exists()
    cfg.confirm_security_profile(2)
    assert cfg.security_profile == 2
    assert cfg.central_system_url.startswith("wss://")
    assert ChargePointConfig.load(write(seed), overlay).security_profile == 2


def test_security_profile_prerequisites_of_the_station(cfg: ChargePointConfig) -> None:
    def certificates(profile: int) -> str | None:
        return "no CentralSystemRootCertificate installed" if profile >= 2 else None

    result = cfg.change_configuration("SecurityProfile", "3", security_prerequisites=certificates)
    assert (result.status, result.reason) == (REJECTED, "no CentralSystemRootCertificate installed")


def test_security_profile_raise_against_an_explicit_ws_scheme(seed: dict, write) -> None:
    seed["Internal"]["CentralSystemURI"] = "ws://127.0.0.1:8180/steve/websocket/cp001"
    cfg = ChargePointConfig.load(write(seed))
    result = cfg.change_configuration("SecurityProfile", "2")
    assert result.status is REJECTED
    assert "ws:// contradicts Security.SecurityProfile 2" in result.reason
    assert "see Internal.CentralSystemURI" in result.reason


def test_cpo_name_can_be_set_when_absent(seed: dict, write) -> None:
    del seed["Security"]["CpoName"]
    cfg = ChargePointConfig.load(write(seed))
    assert cfg.change_configuration("CpoName", "Example CPO").accepted
    assert value_of(cfg, "CpoName") == "Example CPO"
    assert cfg.change_configuration("CpoName", "").reason == (
        "must have 1 to 64 characters (has 0)"
    )


def test_next_time_offset_transition_must_lie_in_the_future(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    cfg.clock = lambda: datetime(2031, 1, 1, tzinfo=UTC)
    result = cfg.change_configuration("NextTimeOffsetTransitionDateTime", "2030-10-27T01:00:00Z")
    assert (result.status, result.reason) == (REJECTED, "must lie in the future")
    result = cfg.change_configuration("NextTimeOffsetTransitionDateTime", "2031-03-30T01:00:00Z")
    assert (result.status, result.effect) == (ACCEPTED, Effect.TIME_OFFSET_TRANSITION)
    result = cfg.change_configuration("NextTimeOffsetTransitionDateTime", "next sunday")
    assert result.reason.startswith("must be an ISO 8601 date-time")


def test_default_price_as_json(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    result = cfg.change_configuration("DefaultPrice", '{"priceText": "0.45 EUR/kWh"}')
    assert result.accepted
    assert cfg["DefaultPrice"] == {"priceText": "0.45 EUR/kWh"}
    assert cfg.change_configuration("DefaultPrice", "0.45").reason == "must be a JSON object"
    assert cfg.change_configuration("DefaultPrice", "{}").reason == "priceText is missing"


def test_default_price_text_per_language(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    result = cfg.change_configuration("DefaultPriceText,nl", '{"priceText": "0,39 EUR per kWh"}')
    assert (result.key, result.status) == ("DefaultPriceText,nl", ACCEPTED)
    assert value_of(cfg, "DefaultPriceText,nl") == '{"priceText":"0,39 EUR per kWh"}'
    # replacing keeps one entry per language
    assert cfg.change_configuration("DefaultPriceText,de", '{"priceText": "0,40 EUR/kWh"}').accepted
    languages = [entry["language"] for entry in cfg["DefaultPriceText"]["priceTexts"]]
    assert languages == ["en", "de", "nl"]
    unsupported = cfg.change_configuration("DefaultPriceText,fr", '{"priceText": "x"}')
    assert (unsupported.status, unsupported.reason) == (
        REJECTED,
        "language is not supported (en,de,nl)",
    )
    assert cfg.change_configuration("DefaultPriceText", "{}").status is REJECTED
    assert cfg.change_configuration("DefaultPriceText,en", '{"text": "x"}').reason == (
        "priceText is missing"
    )


def test_language_must_be_supported(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    assert cfg.change_configuration("Language", "de").accepted
    assert cfg.change_configuration("Language", "fr").reason == (
        "must be one of CostAndPrice.SupportedLanguages (en,de,nl)"
    )


# -- custom keys ---------------------------------------------------------------


CUSTOM = (
    KeySpec(
        "VendorMaxCurrent",
        "Custom",
        ValueType.INTEGER,
        Access.READ_WRITE,
        "test key",
        minimum=6,
        maximum=32,
    ),
    KeySpec(
        "VendorDisplayMode",
        "Custom",
        ValueType.STRING,
        Access.READ_WRITE,
        "test key",
        enum=("day", "night"),
        reboot_required=True,
    ),
    KeySpec("VendorModes", "Custom", ValueType.ARRAY, Access.READ_WRITE, "test key"),
)


def test_custom_keys_declared_by_the_host(seed: dict, write) -> None:
    seed["Custom"] = {"VendorMaxCurrent": 16, "VendorDisplayMode": "day", "VendorModes": ["a"]}
    cfg = ChargePointConfig.load(write(seed), custom_keys=CUSTOM)
    assert cfg.change_configuration("VendorMaxCurrent", "20").status is ACCEPTED
    assert cfg["VendorMaxCurrent"] == 20
    assert cfg.change_configuration("VendorMaxCurrent", "40").reason == (
        "must be an integer from 6 to 32"
    )
    result = cfg.change_configuration("VendorDisplayMode", "night")
    assert result.status is REBOOT_REQUIRED
    assert cfg.change_configuration("VendorDisplayMode", "dusk").reason == (
        "must be one of day, night"
    )
    assert cfg.change_configuration("VendorModes", "a, b,c").value == ["a", "b", "c"]
    assert value_of(cfg, "VendorModes") == "a,b,c"


def test_custom_keys_hidden_without_the_custom_section(seed: dict, write) -> None:
    cfg = ChargePointConfig.load(write(seed), custom_keys=CUSTOM)
    assert cfg.change_configuration("VendorMaxCurrent", "20").status is NOT_SUPPORTED
