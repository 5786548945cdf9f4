"""GetConfiguration: visibility by profile and section, readonly flags, rendering, unknown keys."""

from __future__ import annotations

import pytest

from chargebox.config import BUILTIN, Access, ChargePointConfig, KeyValue

from .support import FULL, SEED, edit


def listed(cfg: ChargePointConfig) -> dict[str, KeyValue]:
    return {kv.key: kv for kv in cfg.get_configuration().configuration_key}


def test_all_keys_of_the_seed() -> None:
    cfg = ChargePointConfig.load(SEED)
    report = cfg.get_configuration()
    assert report.unknown_key == ()
    keys = listed(cfg)
    assert keys["HeartbeatInterval"] == KeyValue("HeartbeatInterval", False, "86400")
    assert keys["NumberOfConnectors"] == KeyValue("NumberOfConnectors", True, "1")
    assert keys["LocalPreAuthorize"] == KeyValue("LocalPreAuthorize", False, "false")
    # Internal keys are always visible, including filled-in defaults
    assert keys["ChargePointId"] == KeyValue("ChargePointId", True, "cp001")
    assert keys["MaxMessageSize"].value == "65000"
    # arrays are comma-separated lists
    assert keys["LogMessagesFormat"].value == "log,html,session_logging,security"
    # the seed's WebsocketPingInterval is reported under the OCPP name
    assert keys["WebSocketPingInterval"] == KeyValue("WebSocketPingInterval", False, "0")
    assert "WebsocketPingInterval" not in keys
    # an empty key list means "all", like a missing one
    assert cfg.get_configuration([]) == report


def test_readonly_flags_follow_the_registry() -> None:
    cfg = ChargePointConfig.load(FULL)
    for key, kv in listed(cfg).items():
        name = key.split(",")[0].split("[")[0]
        spec = BUILTIN[{"MeterPublicKey": "MeterPublicKeys"}.get(name, name)]
        assert kv.readonly == (spec.access is Access.READ_ONLY), key


def test_hidden_keys_are_never_shown() -> None:
    cfg = ChargePointConfig.load(FULL)
    hidden = [spec.name for spec in BUILTIN if spec.access is Access.HIDDEN]
    assert set(hidden) == {
        "IFace",
        "UseTPM",
        "UseTPMSeccLeafCertificate",
        "LogRotation",
        "LogRotationDateSuffix",
        "LogRotationMaximumFileSize",
        "LogRotationMaximumFileCount",
        "TLSKeylogFile",
        "EnableTLSKeylog",
    }
    assert not set(hidden) & set(listed(cfg))
    report = cfg.get_configuration(["IFace", "TLSKeylogFile"])
    assert report.configuration_key == ()
    assert report.unknown_key == ("IFace", "TLSKeylogFile")


def test_the_write_only_authorization_key_is_never_reported() -> None:
    # write-only (OCPP-J 1.6 errata): not in the full list, and unknown when named, as
    # libocpp answers it; the CSMS may still set it
    cfg = ChargePointConfig.load(FULL)
    secret = cfg.authorization_key
    assert secret
    assert "AuthorizationKey" not in listed(cfg)
    for name in ("AuthorizationKey", "authorizationkey"):
        report = cfg.get_configuration([name, "HeartbeatInterval"])
        assert [kv.key for kv in report.configuration_key] == ["HeartbeatInterval"]
        assert report.unknown_key == (name,)
    everything = repr(cfg.get_configuration()) + repr(cfg)
    assert secret not in everything
    assert cfg.change_configuration("AuthorizationKey", "00112233445566778899aabbccddeeff").accepted


def test_profile_sections_follow_supported_feature_profiles(seed: dict, write) -> None:
    cfg = ChargePointConfig.load(write(seed))
    assert "SupportedFileTransferProtocols" in listed(cfg)
    assert "ChargeProfileMaxStackLevel" in listed(cfg)
    document = edit(seed, Core={"SupportedFeatureProfiles": "Core,LocalAuthListManagement"})
    cfg = ChargePointConfig.load(write(document))
    keys = listed(cfg)
    assert "SupportedFileTransferProtocols" not in keys
    assert "ChargeProfileMaxStackLevel" not in keys
    assert "LocalAuthListEnabled" in keys
    report = cfg.get_configuration(["ChargeProfileMaxStackLevel", "LocalAuthListEnabled"])
    assert report.unknown_key == ("ChargeProfileMaxStackLevel",)


def test_reservation_section_is_gated_too(full: dict, write) -> None:
    assert "ReserveConnectorZeroSupported" in listed(ChargePointConfig.load(write(full)))
    full["Core"]["SupportedFeatureProfiles"] = "Core,SmartCharging,LocalAuthListManagement"
    assert "ReserveConnectorZeroSupported" not in listed(ChargePointConfig.load(write(full)))


def test_security_and_internal_are_always_visible(seed: dict, write) -> None:
    seed["Core"]["SupportedFeatureProfiles"] = "Core"
    for name in ("FirmwareManagement", "LocalAuthListManagement", "SmartCharging"):
        del seed[name]
    keys = listed(ChargePointConfig.load(write(seed)))
    assert {"SecurityProfile", "CpoName", "ChargePointId", "HeartbeatInterval"} <= set(keys)


def test_pnc_and_cost_and_price_only_when_the_section_exists(seed: dict, write) -> None:
    keys = listed(ChargePointConfig.load(write(seed)))
    assert "ISO15118PnCEnabled" in keys
    assert not any(spec.name in keys for spec in BUILTIN.section_keys("CostAndPrice"))
    del seed["PnC"]
    keys = listed(ChargePointConfig.load(write(seed)))
    assert "ISO15118PnCEnabled" not in keys


def test_requested_keys_case_insensitive_in_order_with_unknowns() -> None:
    cfg = ChargePointConfig.load(SEED)
    report = cfg.get_configuration(
        [
            "heartbeatINTERVAL",
            "NoSuchKey",
            "websocketpinginterval",
            "HeartbeatInterval",
            "BlinkRepeat",
        ]
    )
    assert report.configuration_key == (
        KeyValue("HeartbeatInterval", False, "86400"),
        KeyValue("WebSocketPingInterval", False, "0"),
    )
    # BlinkRepeat is optional and absent: the charge point does not offer it
    assert report.unknown_key == ("NoSuchKey", "BlinkRepeat")


def test_keys_the_csms_may_set_although_absent_are_listed_without_value(seed: dict, write) -> None:
    del seed["Security"]["CpoName"]
    cfg = ChargePointConfig.load(write(seed))
    assert listed(cfg)["CpoName"] == KeyValue("CpoName", False, None)


def test_meter_public_keys_are_reported_per_connector() -> None:
    cfg = ChargePointConfig.load(FULL)
    keys = listed(cfg)
    assert "MeterPublicKeys" not in keys
    assert keys["MeterPublicKey[2]"].readonly is True
    assert keys["MeterPublicKey[2]"].value.endswith("Connector2BBBB")
    report = cfg.get_configuration(["meterpublickey[1]", "MeterPublicKey[3]", "MeterPublicKeys"])
    assert [kv.key for kv in report.configuration_key] == ["MeterPublicKey[1]"]
    assert report.unknown_key == ("MeterPublicKey[3]", "MeterPublicKeys")
    changed = cfg.change_configuration("MeterPublicKey[1]", "x")
    assert (changed.key, changed.status.value, changed.reason) == (
        "MeterPublicKey[1]",
        "Rejected",
        "read-only",
    )
    assert cfg.change_configuration("MeterPublicKey[3]", "x").status.value == "NotSupported"


def test_price_texts_are_reported_per_language(full: dict, write) -> None:
    cfg = ChargePointConfig.load(write(full))
    keys = listed(cfg)
    assert keys["DefaultPriceText,de"] == KeyValue(
        "DefaultPriceText,de", False, '{"priceText":"0,39 EUR/kWh"}'
    )
    assert "DefaultPriceText" not in keys
    assert keys["DefaultPrice"].value.startswith('{"priceText":"0.39 EUR/kWh"')
    assert cfg.get_configuration(["DefaultPriceText,nl"]).unknown_key == ("DefaultPriceText,nl",)
    full["CostAndPrice"]["CustomMultiLanguageMessages"] = False
    keys = listed(ChargePointConfig.load(write(full)))
    assert not any(key.startswith("DefaultPriceText") for key in keys)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CompositeScheduleDefaultLimitAmps", "32"),
        ("SupplyVoltage", "230"),
        ("NextTimeOffsetTransitionDateTime", "2030-03-31T01:00:00Z"),
        (
            "SupportedCiphers13",
            "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256,TLS_CHACHA20_POLY1305_SHA256",
        ),
        ("StopTxnSampledData", ""),
        ("UseSslDefaultVerifyPaths", "false"),
    ],
)
def test_values_are_rendered_as_ocpp_strings(key: str, value: str) -> None:
    cfg = ChargePointConfig.load(FULL)
    [kv] = cfg.get_configuration([key]).configuration_key
    assert kv.value == value


def test_get_configuration_max_keys_is_reported_not_enforced() -> None:
    cfg = ChargePointConfig.load(SEED)
    many = [spec.name for spec in BUILTIN.section_keys("Core")] * 5
    assert cfg["GetConfigurationMaxKeys"] == 100
    assert len(many) > 100
    assert len(cfg.get_configuration(many).configuration_key) > 20
