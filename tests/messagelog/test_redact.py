"""Secrets never reach a log: redact() and redact_json(), and every file of a session grepped."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from chargebox.messagelog import REDACTED, LogSettings, MessageLog, redact, redact_json

from .support import (
    AUTHORIZATION_KEY,
    BASIC_CREDENTIALS,
    PRIVATE_KEY,
    PRIVATE_KEY_BODY,
    SECRETS,
    TickingClock,
    call,
    read_page,
    run_session,
)


@pytest.mark.parametrize("key", ["AuthorizationKey", "authorizationkey", "AUTHORIZATIONKEY"])
def test_the_authorization_key_of_a_change_configuration_is_redacted(key: str):
    text = call("c1", "ChangeConfiguration", {"key": key, "value": AUTHORIZATION_KEY})
    assert orjson.loads(redact(text)) == [
        2,
        "c1",
        "ChangeConfiguration",
        {"key": key, "value": REDACTED},
    ]


def test_other_configuration_keys_are_kept():
    text = call("c1", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "300"})
    assert redact(text) is text


def test_a_station_reporting_its_authorization_key_in_get_configuration_is_redacted():
    conf = {"configurationKey": [{"key": "AuthorizationKey", "readonly": False, "value": "abc"}]}
    redacted, changed = redact_json([3, "g1", conf])
    assert changed
    assert redacted[2]["configurationKey"][0] == {
        "key": "AuthorizationKey",
        "readonly": False,
        "value": REDACTED,
    }
    assert conf["configurationKey"][0]["value"] == "abc"  # the input is not changed


@pytest.mark.parametrize(
    "kind", ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
)
def test_private_key_pem_blocks_are_redacted(kind: str):
    pem = f"-----BEGIN {kind}-----\n{PRIVATE_KEY_BODY}\n-----END {kind}-----\n"
    certificate = "-----BEGIN CERTIFICATE-----\nMIIBcertificate\n-----END CERTIFICATE-----"
    text = f"chain: {certificate}\nkey: {pem}tail"
    out = redact(text)
    assert PRIVATE_KEY_BODY not in out
    assert certificate in out and out.endswith("tail")
    # in a JSON string too, where the newlines are escapes
    frame = call("k1", "DataTransfer", {"vendorId": "x", "data": text})
    out = redact(frame)
    assert PRIVATE_KEY_BODY not in out and certificate in orjson.loads(out)[3]["data"]


def test_a_private_key_cut_short_is_redacted_to_the_end():
    assert PRIVATE_KEY_BODY not in redact(f"x -----BEGIN PRIVATE KEY-----\n{PRIVATE_KEY_BODY}")


def test_names_spelled_with_json_escapes_are_found():
    text = '[2,"c","ChangeConfiguration",{"key":"\\u0041uthorization\\u004bey","value":"s3cr3t"}]'
    assert "s3cr3t" not in redact(text)
    assert "s3cr3t" not in redact('{"\\u0070assword": "s3cr3t"}')


def test_a_private_key_hidden_behind_json_escapes_is_found():
    text = '[2,"k","DataTransfer",{"vendorId":"x","data":"\\u002d----BEGIN PRIVATE KEY-----\\nAAAA'
    text += PRIVATE_KEY_BODY + '\\n-----END PRIVATE KEY-----"}]'
    assert PRIVATE_KEY_BODY not in redact(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ftp://user:pw@host/fw.bin", "ftp://user:***@host/fw.bin"),
        ("see https://a:b:c@host:21/x?y=1 now", "see https://a:***@host:21/x?y=1 now"),
        ("ftp://u:p@ss@host/x", "ftp://u:***@host/x"),  # an unescaped @ in the password
        ("sftp://user:@host", "sftp://user:***@host"),
        # no password: nothing to hide
        ("ftp://user@host/x", "ftp://user@host/x"),
        ("wss://host:8443/ocpp/CP-1", "wss://host:8443/ocpp/CP-1"),
        ("https://host/x?mail=a:b@c", "https://host/x?mail=a:b@c"),
    ],
)
def test_passwords_in_urls_are_redacted(text: str, expected: str):
    assert redact(text) == expected


def test_urls_in_firmware_and_diagnostics_requests_are_redacted():
    for action, field in [
        ("UpdateFirmware", "location"),
        ("GetDiagnostics", "location"),
        ("SignedUpdateFirmware", "firmware"),
    ]:
        payload = {field: "ftp://fw:Secr3t@host/path"}
        if field == "firmware":
            payload = {"firmware": {"location": "ftp://fw:Secr3t@host/path"}}
        assert "Secr3t" not in redact(call("x", action, payload))


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Basic {BASIC_CREDENTIALS}",
        f"authorization:basic {BASIC_CREDENTIALS}",
        f"headers=[('Authorization', 'Basic {BASIC_CREDENTIALS}')]",
        f"[(b'Authorization', b'Basic {BASIC_CREDENTIALS}')]",
        f'{{"Authorization": "Basic {BASIC_CREDENTIALS}"}}',
        f'{{"headers": [["Authorization", "Basic {BASIC_CREDENTIALS}"]]}}',
        f"Proxy-Authorization: Bearer {BASIC_CREDENTIALS}",
    ],
)
def test_authorization_headers_are_redacted(text: str):
    out = redact(text)
    assert BASIC_CREDENTIALS not in out
    assert "***" in out


@pytest.mark.parametrize(
    "text",
    [
        "password=hunter2&user=x",
        '{"user": "x", "Password": "hunter2"}',
        "AuthorizationKey: hunter2",
        "login with passwd='hunter2'",
    ],
)
def test_password_assignments_are_redacted(text: str):
    assert "hunter2" not in redact(text)


def test_text_that_is_not_json_but_carries_an_authorization_key_value_is_redacted():
    cut = '[2,"c1","ChangeConfiguration",{"key":"AuthorizationKey","value":"' + AUTHORIZATION_KEY
    assert AUTHORIZATION_KEY not in redact(cut)
    assert AUTHORIZATION_KEY not in redact(cut + '"}')  # reordered later
    swapped = '[2,"c1","ChangeConfiguration",{"value":"' + AUTHORIZATION_KEY
    swapped += '","key":"AuthorizationKey"} trailing garbage'
    assert AUTHORIZATION_KEY not in redact(swapped)


def test_text_without_secrets_is_returned_unchanged():
    for text in [
        call("b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}),
        '[2,  "b1", "Heartbeat" , {}]',
        "connected to wss://127.0.0.1:8443/ocpp/CP-1, security profile 2",
        "",
        "[",
    ]:
        assert redact(text) == text


def test_no_secret_reaches_any_file_of_any_sink(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = LogSettings(
        formats=["console_detailed", "log", "html", "session_logging", "security"], raw=True
    )
    with MessageLog(tmp_path / "log", settings, "CP-1", TickingClock()) as log:
        run_session(log, session_folder=tmp_path / "session")
        log.frame("in", "broken " + PRIVATE_KEY)
        log.frame(
            "in",
            '[2,"c2","ChangeConfiguration",{"key":"authorizationKey","value":"' + AUTHORIZATION_KEY,
        )
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {
        "CP-1.log",
        "CP-1.html",
        "CP-1_raw.jsonl",
        "CP-1-security.log",
        "ocpp.html",
    }
    for path in files:
        data = path.read_bytes()
        assert len(data) > 100
        for secret in SECRETS:
            assert secret.encode() not in data, (secret, path.name)
    for secret in SECRETS:
        assert secret not in caplog.text
    # and the messages that carried them are still logged
    rows = read_page(tmp_path / "log" / "CP-1.html").rows
    change = next(r for r in rows if r.action == "ChangeConfiguration" and r.type == "CALL")
    assert f'"value": "{REDACTED}"' in change.message
