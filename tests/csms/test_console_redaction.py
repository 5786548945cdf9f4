"""`chargebox csms` prints every frame; secrets are redacted as in the message log."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from chargebox.csms import CentralSystem, Exchange
from chargebox.csms.console import ExchangePrinter
from chargebox.ocpp import v16
from tests.support import running

KEY = "00112233445566778899aabbccddeeff"
MOMENT = datetime(2025, 1, 1, tzinfo=UTC)


class FakeSession:
    charge_point_id = "CP-1"


def printed(exchange: Exchange, *, payloads: bool = True) -> str:
    out = io.StringIO()
    ExchangePrinter(out, lambda: MOMENT, payloads=payloads)(FakeSession(), exchange)
    return out.getvalue()


async def test_change_configuration_of_the_authorization_key_is_redacted(tmp_path, autojump_clock):
    out = io.StringIO()
    csms = CentralSystem()
    csms.on_exchange = ExchangePrinter(out, lambda: MOMENT)
    async with running(tmp_path, csms=csms) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.ChangeConfigurationRequest(key="AuthorizationKey", value=KEY)
        )
        assert answer.status == "Accepted"
        # what the station received was the key itself
        assert rig.cp.config.authorization_key == KEY
    text = out.getvalue()
    [line] = [ln for ln in text.splitlines() if "<- CALL ChangeConfiguration" in ln]
    assert line.endswith('{"key":"AuthorizationKey","value":"***"}')
    assert KEY not in text and KEY.upper() not in text
    # everything else is printed as it was
    assert "-> CALLRESULT ChangeConfiguration" in text and '"status":"Accepted"' in text
    assert "-> CALL BootNotification" in text and '"chargePointVendor"' in text


def test_a_get_configuration_answer_that_reports_the_key_is_redacted():
    payload = {
        "configurationKey": [
            {"key": "authorizationkey", "readonly": False, "value": KEY},
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        ]
    }
    text = printed(Exchange(MOMENT, "in", "CALLRESULT", "GetConfiguration", "1", payload, ""))
    assert KEY not in text
    assert '"value":"***"' in text and '"value":"300"' in text


def test_a_broken_frame_is_shown_redacted():
    raw = '[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"' + KEY + '"'
    text = printed(Exchange(MOMENT, "in", "invalid", None, None, None, raw))
    assert KEY not in text and '"value":"***"' in text


def test_without_payloads_only_the_action_is_printed():
    payload = {"key": "AuthorizationKey", "value": KEY}
    text = printed(
        Exchange(MOMENT, "out", "CALL", "ChangeConfiguration", "1", payload, ""), payloads=False
    )
    assert text.strip().endswith("CP-1 <- CALL ChangeConfiguration")
