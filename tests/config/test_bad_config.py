"""Bad configurations: each kind of mistake gives one precise problem; all are reported at once."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from chargebox.config import ChargePointConfig, ConfigError, ConfigProblem
from chargebox.config.errors import RULES

from .support import edit


def problems_of(path, overlay=None) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as raised:
        ChargePointConfig.load(path, overlay)
    return raised.value.problems


def only_problem(path, overlay=None) -> ConfigProblem:
    found = problems_of(path, overlay)
    assert len(found) == 1, [str(problem) for problem in found]
    return found[0]


def test_not_json_names_line_and_column(write) -> None:
    path = write('{\n    "Internal": {\n        "ChargePointId": "cp001",\n    }\n}\n')
    problem = only_problem(path)
    assert (problem.rule, problem.line, problem.column) == ("json", 4, 5)
    assert str(problem).startswith(f"{path}:4:5: not valid JSON: ")


def test_nan_is_not_json(seed: dict, write) -> None:
    text = write(seed).read_text().replace('"HeartbeatInterval": 86400', '"HeartbeatInterval": NaN')
    problem = only_problem(write(text))
    assert problem.rule == "json"
    assert "NaN" in problem.message


def test_top_level_must_be_an_object(write) -> None:
    problem = only_problem(write([{"Internal": {}}]))
    assert problem.rule == "top-level"
    assert "JSON object of sections" in str(problem)


def test_missing_file(tmp_path) -> None:
    problem = only_problem(tmp_path / "nope.json")
    assert (problem.rule, problem.message) == ("io", "file not found")


# (edit to the seed, rule, section, key, exact str(problem) after "<file>: ")
CASES: list[tuple[str, dict[str, Any], str, str, str | None, str]] = [
    (
        "unknown section",
        {"SmartCharge": {"ChargeProfileMaxStackLevel": 1}},
        "unknown-section",
        "SmartCharge",
        None,
        "SmartCharge: unknown section (did you mean SmartCharging?)",
    ),
    (
        "unknown key",
        {"Core": {"HeartbeatIntervall": 5}},
        "unknown-key",
        "Core",
        "HeartbeatIntervall",
        "Core.HeartbeatIntervall: unknown key (did you mean HeartbeatInterval?)",
    ),
    (
        "key in the wrong section",
        {"Core": {"CpoName": "x"}},
        "unknown-key",
        "Core",
        "CpoName",
        "Core.CpoName: unknown key (CpoName belongs in section Security)",
    ),
    (
        "wrong type",
        {"Core": {"HeartbeatInterval": "900"}},
        "type",
        "Core",
        "HeartbeatInterval",
        'Core.HeartbeatInterval = "900": must be an integer',
    ),
    (
        "boolean is not an integer",
        {"Core": {"NumberOfConnectors": True}},
        "type",
        "Core",
        "NumberOfConnectors",
        "Core.NumberOfConnectors = true: must be an integer",
    ),
    (
        "string is not a boolean",
        {"Core": {"LocalPreAuthorize": "true"}},
        "type",
        "Core",
        "LocalPreAuthorize",
        'Core.LocalPreAuthorize = "true": must be true or false',
    ),
    (
        "below minimum",
        {"Core": {"HeartbeatInterval": -5}},
        "minimum",
        "Core",
        "HeartbeatInterval",
        "Core.HeartbeatInterval = -5: must be an integer >= 0",
    ),
    (
        "above maximum",
        {"Security": {"SecurityProfile": 4}},
        "maximum",
        "Security",
        "SecurityProfile",
        "Security.SecurityProfile = 4: must be an integer from 0 to 3",
    ),
    (
        "too long",
        {"Internal": {"ChargePointModel": "Yeti Pro Max Ultra 2024"}},
        "max-length",
        "Internal",
        "ChargePointModel",
        'Internal.ChargePointModel = "Yeti Pro Max Ultra 2024": must have 1 to 20 characters '
        "(has 23)",
    ),
    (
        "too short",
        {"Internal": {"ChargePointId": ""}},
        "min-length",
        "Internal",
        "ChargePointId",
        'Internal.ChargePointId = "": must have at least 1 characters (has 0)',
    ),
    (
        "missing required key",
        {"Core": {"HeartbeatInterval": None}},
        "required",
        "Core",
        "HeartbeatInterval",
        "Core.HeartbeatInterval: missing required key",
    ),
    (
        "missing section",
        {"Core": None},
        "required",
        "Core",
        None,
        "Core: missing section",
    ),
    (
        "section is not an object",
        {"Reservation": []},
        "section-type",
        "Reservation",
        None,
        "Reservation = []: a section must be a JSON object of keys",
    ),
    (
        "measurand not supported",
        {"Core": {"MeterValuesSampledData": "Energy.Active.Import.Register,Temperature"}},
        "enum",
        "Core",
        "MeterValuesSampledData",
        'Core.MeterValuesSampledData = "Energy.Active.Import.Register,Temperature": '
        "'Temperature': Temperature is not in Internal.SupportedMeasurands "
        "(Energy.Active.Import.Register,Energy.Active.Export.Register,Power.Active.Import,"
        "Voltage,Current.Import,Frequency,Current.Offered,Power.Offered,SoC)",
    ),
    (
        "not a measurand",
        {"Core": {"StopTxnSampledData": "Energy.Active.Import"}},
        "enum",
        "Core",
        "StopTxnSampledData",
        'Core.StopTxnSampledData = "Energy.Active.Import": '
        "'Energy.Active.Import' is not an OCPP 1.6 measurand[.phase]",
    ),
    (
        "unknown phase",
        {"Core": {"MeterValuesAlignedData": "Voltage.L4"}},
        "enum",
        "Core",
        "MeterValuesAlignedData",
        "Core.MeterValuesAlignedData = \"Voltage.L4\": 'Voltage.L4' has an unknown phase L4 "
        "(phases: L1, L2, L3, N, L1-N, L2-N, L3-N, L1-L2, L2-L3, L3-L1)",
    ),
    (
        "more items than <Key>MaxLength",
        {
            "Core": {
                "MeterValuesSampledData": "Voltage.L1,Voltage.L2,Voltage.L3",
                "MeterValuesSampledDataMaxLength": 2,
            }
        },
        "max-items",
        "Core",
        "MeterValuesSampledData",
        'Core.MeterValuesSampledData = "Voltage.L1,Voltage.L2,Voltage.L3": has 3 items, '
        "more than MeterValuesSampledDataMaxLength (2)",
    ),
    (
        "ws:// with a TLS profile",
        {
            "Internal": {"CentralSystemURI": "ws://csms.example.com/ocpp/cp001"},
            "Security": {"SecurityProfile": 2},
        },
        "consistency",
        "Internal",
        "CentralSystemURI",
        'Internal.CentralSystemURI = "ws://csms.example.com/ocpp/cp001": ws:// contradicts '
        "Security.SecurityProfile 2, which connects with wss://",
    ),
    (
        "wss:// without TLS",
        {"Internal": {"CentralSystemURI": "wss://csms.example.com/ocpp/cp001"}},
        "consistency",
        "Internal",
        "CentralSystemURI",
        'Internal.CentralSystemURI = "wss://csms.example.com/ocpp/cp001": wss:// contradicts '
        "Security.SecurityProfile 1, which connects with ws://",
    ),
    (
        "not a websocket scheme",
        {"Internal": {"CentralSystemURI": "https://csms.example.com/ocpp"}},
        "syntax",
        "Internal",
        "CentralSystemURI",
        'Internal.CentralSystemURI = "https://csms.example.com/ocpp": https:// is not a '
        "websocket scheme; leave the scheme out (ws:// or wss:// follows from "
        "Security.SecurityProfile)",
    ),
    (
        "Basic auth without a key",
        {"Security": {"AuthorizationKey": None}},
        "consistency",
        "Security",
        "SecurityProfile",
        "Security.SecurityProfile = 1: profile 1 uses HTTP Basic authentication and needs "
        "Security.AuthorizationKey",
    ),
    (
        "profiles without Core",
        {"Core": {"SupportedFeatureProfiles": "FirmwareManagement,RemoteTrigger"}},
        "enum",
        "Core",
        "SupportedFeatureProfiles",
        'Core.SupportedFeatureProfiles = "FirmwareManagement,RemoteTrigger": must contain Core',
    ),
    (
        "unknown profile",
        {"Core": {"SupportedFeatureProfiles": "Core,Security"}},
        "enum",
        "Core",
        "SupportedFeatureProfiles",
        "Core.SupportedFeatureProfiles = \"Core,Security\": 'Security' is not a feature "
        "profile (allowed: Core, FirmwareManagement, LocalAuthListManagement, Reservation, "
        "SmartCharging, RemoteTrigger)",
    ),
    (
        "listed profile without its section",
        {"LocalAuthListManagement": None},
        "required",
        "LocalAuthListManagement",
        None,  # three keys; checked below
        "",
    ),
    (
        "bad array item",
        {"Internal": {"LogMessagesFormat": ["html", "pdf"]}},
        "enum",
        "Internal",
        "LogMessagesFormat",
        'Internal.LogMessagesFormat = ["html", "pdf"]: \'pdf\': items must be among console, '
        "console_detailed, log, html, session_logging, security, callback",
    ),
    (
        "bad time offset",
        {"CostAndPrice": {"CustomDisplayCostAndPrice": True, "TimeOffset": "2:0"}},
        "syntax",
        "CostAndPrice",
        "TimeOffset",
        'CostAndPrice.TimeOffset = "2:0": must be [+|-]hh:mm with hours 0..24 and minutes '
        "00..59, e.g. +02:00",
    ),
    (
        "object without its required field",
        {"CostAndPrice": {"CustomDisplayCostAndPrice": True, "DefaultPrice": {"priceTxt": "1"}}},
        "syntax",
        "CostAndPrice",
        "DefaultPrice",
        'CostAndPrice.DefaultPrice = {"priceTxt": "1"}: priceText is missing',
    ),
]


@pytest.mark.parametrize(
    ("edits", "rule", "section", "key", "text"),
    [case[1:] for case in CASES if case[2] is not None and case[5]],
    ids=[case[0] for case in CASES if case[2] is not None and case[5]],
)
def test_each_kind_of_mistake(
    seed: dict, write, edits: dict, rule: str, section: str, key: str | None, text: str
) -> None:
    # a section value of None removes the section
    document = edit(seed, **{name: body for name, body in edits.items() if body is not None})
    for name in [name for name, body in edits.items() if body is None]:
        del document[name]
    path = write(document)
    problem = only_problem(path)
    assert (problem.rule, problem.section, problem.key) == (rule, section, key)
    assert problem.file == str(path)
    assert str(problem) == f"{path}: {text}"


def test_a_listed_profile_needs_its_section(seed: dict, write) -> None:
    del seed["LocalAuthListManagement"]
    found = problems_of(write(seed))
    assert [(p.rule, p.section, p.key) for p in found] == [
        ("required", "LocalAuthListManagement", "LocalAuthListEnabled"),
        ("required", "LocalAuthListManagement", "LocalAuthListMaxLength"),
        ("required", "LocalAuthListManagement", "SendLocalListMaxLength"),
    ]
    assert found[0].message == (
        "missing required key (LocalAuthListManagement is listed in Core.SupportedFeatureProfiles)"
    )


def test_duplicate_key(seed: dict, write) -> None:
    text = (
        write(seed)
        .read_text()
        .replace(
            '"HeartbeatInterval": 86400,', '"HeartbeatInterval": 86400, "HeartbeatInterval": 60,'
        )
    )
    problem = only_problem(write(text))
    assert (problem.rule, problem.section, problem.key) == (
        "duplicate-key",
        "Core",
        "HeartbeatInterval",
    )


def test_every_problem_is_reported_at_once(seed: dict, write) -> None:
    document = edit(
        seed,
        Internal={"ChargePointVendor": "", "FirmwareVersion": 1},
        Core={"HeartbeatInterval": -1, "Heartbeat": 5, "MeterValuesSampledData": "RPM"},
        Security={"AuthorizationKey": None},
    )
    document["Extra"] = {}
    found = problems_of(write(document))
    assert [(p.section, p.key, p.rule) for p in found] == [
        ("Internal", "ChargePointVendor", "min-length"),
        ("Internal", "FirmwareVersion", "type"),
        ("Core", "HeartbeatInterval", "minimum"),
        ("Core", "Heartbeat", "unknown-key"),
        ("Extra", None, "unknown-section"),
        ("Core", "MeterValuesSampledData", "enum"),
        ("Security", "SecurityProfile", "consistency"),
    ]
    message = str(ConfigError(found))
    assert message.startswith("7 configuration problems:\n  ")
    assert all(str(problem) in message for problem in found)


def test_a_bad_value_is_reported_once_not_again_by_its_dependants(seed: dict, write) -> None:
    # SupportedMeasurands is wrong: the *Data keys that read it are not checked against it
    seed["Internal"] = {**seed["Internal"], "SupportedMeasurands": 5}
    problem = only_problem(write(seed))
    assert (problem.key, problem.rule) == ("SupportedMeasurands", "type")


def test_bad_overlay_names_the_overlay_file(seed: dict, write) -> None:
    base = write(seed)
    overlay = write('{"Core": {"HeartbeatInterval": 60,}}', "user.json")
    problem = only_problem(base, overlay)
    assert (problem.rule, problem.file, problem.line) == ("json", str(overlay), 1)

    overlay = write({"Core": {"HeartbeatInterval": "sixty"}}, "user.json")
    problem = only_problem(base, overlay)
    assert str(problem) == f'{overlay}: Core.HeartbeatInterval = "sixty": must be an integer'

    # a check across keys names the file the offending value came from
    overlay = write({"Core": {"MeterValuesSampledData": "RPM"}}, "user.json")
    problem = only_problem(base, overlay)
    assert (problem.file, problem.key, problem.rule) == (
        str(overlay),
        "MeterValuesSampledData",
        "enum",
    )


def test_the_seeds_authorization_key_loads_with_a_warning(seed: dict, write) -> None:
    # DEADBEEFDEADBEEF stands for 8 bytes: under the whitepaper's 16, at libocpp's minimum
    assert seed["Security"] == {**seed["Security"], "SecurityProfile": 1}
    for key in ("DEADBEEFDEADBEEF", "8 chars!"):
        cfg = ChargePointConfig.load(write(edit(seed, Security={"AuthorizationKey": key})))
        (warning,) = [w for w in cfg.warnings if w.key == "AuthorizationKey"]
        assert warning.rule == "too-short"
        assert "password of 8 bytes" in str(warning) and key not in str(warning)


@pytest.mark.parametrize("profile", [1, 2])
@pytest.mark.parametrize(
    ("key", "size"), [("DEADBEEFDE", 5), ("kq9zX", 5), ("DEADBEEFDEADBE", 7), ("p4$sW0r", 7)]
)
def test_a_key_too_short_to_send_is_an_error_at_profiles_1_and_2(
    seed: dict, write, profile: int, key: str, size: int
) -> None:
    path = write(edit(seed, Security={"SecurityProfile": profile, "AuthorizationKey": key}))
    problem = only_problem(path)
    assert (problem.rule, problem.file, problem.section, problem.key) == (
        "too-short",
        str(path),
        "Security",
        "AuthorizationKey",
    )
    assert str(problem) == (
        f"{path}: Security.AuthorizationKey = <hidden>: stands for a password of {size} bytes; "
        f"security profile {profile} sends it with HTTP Basic and needs at least 8 (the security "
        "whitepaper asks for 16; a value of hex pairs is the bytes it encodes)"
    )
    assert key not in str(problem)


@pytest.mark.parametrize("profile", [0, 3])
def test_a_short_key_that_is_not_sent_is_a_warning(seed: dict, write, profile: int) -> None:
    document = edit(seed, Security={"SecurityProfile": profile, "AuthorizationKey": "DEADBEEF"})
    if profile == 3:
        document["Internal"]["CentralSystemURI"] = "wss://127.0.0.1:8443/ocpp/cp001"
    cfg = ChargePointConfig.load(write(document))
    (warning,) = [w for w in cfg.warnings if w.key == "AuthorizationKey"]
    assert warning.rule == "too-short" and "password of 4 bytes" in str(warning)
    # ... and it cannot become the password of profile 1 or 2 (whitepaper A05.FR.02)
    if profile == 0:
        result = cfg.change_configuration("SecurityProfile", "1")
        assert (result.status, result.key) == ("Rejected", "SecurityProfile")
        assert "needs at least 8" in result.reason and "Security.AuthorizationKey" in result.reason
        assert cfg.change_configuration("AuthorizationKey", "0123456789abcdef" * 2).accepted
        assert cfg.change_configuration("SecurityProfile", "1").accepted


def test_the_key_never_appears_in_problems_or_logs(seed: dict, write, caplog) -> None:
    secret = "sup3rSecretValue"
    caplog.set_level(logging.DEBUG)
    document = edit(seed, Security={"AuthorizationKey": secret[:10], "SecurityProfile": 7})
    with pytest.raises(ConfigError) as raised:
        ChargePointConfig.load(write(document))
    for problem in raised.value.problems:
        assert secret[:10] not in str(problem)
        assert secret[:10] not in repr(problem)
    assert secret[:10] not in str(raised.value)
    assert secret[:10] not in caplog.text


def test_every_problem_rule_is_documented() -> None:
    used = {case[2] for case in CASES if case[2]}
    assert used <= RULES
