"""Security profiles through the whole engine: 0-3 on real loopback TLS, upgrade and fallback."""

from __future__ import annotations

import json

import pytest
import trio

from chargebox import pki
from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings, server_tls_context
from chargebox.ocpp import v16
from chargebox.station import Options, TlsSettings, open_charge_point
from tests.support import config_file, make_host, running

KEY = "00112233445566778899aabbccddeeff"  # 16 bytes


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return pki.DevelopmentPki.create(tmp_path_factory.mktemp("pki"), "CP-1", "chargebox test")


def _tls(certs, client: bool) -> TlsSettings:
    return TlsSettings(
        ca_file=certs.ca_file,
        client_cert=certs.client_cert if client else None,
        client_key=certs.client_key if client else None,
        use_default_verify_paths=False,
    )


@pytest.mark.parametrize("profile", [0, 1, 2, 3])
async def test_each_profile_registers_over_loopback(tmp_path, certs, profile):
    ssl_context = None
    if profile >= 2:
        ssl_context = server_tls_context(
            str(certs.server_cert),
            str(certs.server_key),
            client_ca_file=str(certs.ca_file) if profile == 3 else None,
        )
    known = {"CP-1": KEY if profile in (1, 2) else None}
    csms = CentralSystem(CsmsSettings(known_ids=known), ssl_context=ssl_context)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            url = csms.url().split("://", 1)[1]  # no scheme: the profile chooses ws or wss
            path = config_file(
                tmp_path,
                url,
                Security={"SecurityProfile": profile, "AuthorizationKey": KEY},
            )
            cfg = ChargePointConfig.load(path)
            options = Options(tls=_tls(certs, client=profile == 3))
            async with open_charge_point(cfg, make_host(), options=options) as cp:
                await csms.wait_until(lambda: cp.registered)
                session = await csms.session("CP-1")
                headers = dict(session.request_headers)
                assert (b"authorization" in headers) == (profile in (1, 2))
                assert session.ws.path.endswith("/CP-1")
                await csms.wait_for("StatusNotification", count=2)
            nursery.cancel_scope.cancel()


async def test_upgrade_to_profile_1_reconnects_with_basic_auth_and_is_kept(
    tmp_path, autojump_clock
):
    async with running(tmp_path, Security={"AuthorizationKey": None}) as rig:
        session = await rig.session()
        assert b"authorization" not in dict(session.request_headers)
        key = await session.call(v16.ChangeConfigurationRequest(key="AuthorizationKey", value=KEY))
        assert key.status == "Accepted"
        change = await session.call(
            v16.ChangeConfigurationRequest(key="SecurityProfile", value="1")
        )
        assert change.status == "Accepted"
        await rig.csms.wait_until(lambda: len(rig.csms.all_sessions) == 2 and rig.cp.registered)
        upgraded = rig.csms.all_sessions[1]
        assert b"authorization" in dict(upgraded.request_headers)
        assert rig.cp.config.security_profile == 1
        overlay = json.loads((tmp_path / "user-config.json").read_text())
        assert overlay["Security"]["SecurityProfile"] == 1
        # never lowered
        down = await upgraded.call(v16.ChangeConfigurationRequest(key="SecurityProfile", value="0"))
        assert down.status == "Rejected"


async def test_failed_upgrade_falls_back_to_the_old_profile(tmp_path, autojump_clock, certs):
    options = Options(tls=_tls(certs, client=False))
    async with running(
        tmp_path, options=options, Security={"SecurityProfile": 1, "AuthorizationKey": KEY}
    ) as rig:
        session = await rig.session()
        change = await session.call(
            v16.ChangeConfigurationRequest(key="SecurityProfile", value="2")
        )
        assert change.status == "Accepted"
        # the CSMS has no TLS: the one attempt with profile 2 fails, profile 1 comes back
        await rig.csms.wait_until(lambda: len(rig.csms.all_sessions) == 2 and rig.cp.registered)
        assert rig.cp.config.security_profile == 1
        assert rig.cp.station.link.model.security_profile == 1
        overlay = tmp_path / "user-config.json"
        assert not overlay.exists() or "SecurityProfile" not in overlay.read_text()
        back = rig.csms.all_sessions[1]
        assert b"authorization" in dict(back.request_headers)


async def test_profile_3_needs_a_client_certificate_before_it_is_accepted(tmp_path, autojump_clock):
    async with running(tmp_path, Security={"SecurityProfile": 0}) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.ChangeConfigurationRequest(key="SecurityProfile", value="3")
        )
        assert answer.status == "Rejected"
        assert rig.cp.config.security_profile == 0


async def test_the_configuration_tls_keys_reach_the_connection(tmp_path, certs):
    from chargebox.actors.link import tls_settings

    ciphers = {
        "SupportedCiphers12": ["ECDHE-ECDSA-AES256-GCM-SHA384"],
        "VerifyCsmsCommonName": False,
    }
    path = config_file(tmp_path, "127.0.0.1:1/ocpp", Internal=ciphers)
    cfg = ChargePointConfig.load(path)

    class Ctx:
        options = Options(tls=_tls(certs, client=False))

    Ctx.cfg = cfg
    settings = tls_settings(Ctx)
    assert settings.ciphers12 == ("ECDHE-ECDSA-AES256-GCM-SHA384",)
    assert settings.verify_hostname is False
    assert settings.ca_file == certs.ca_file
