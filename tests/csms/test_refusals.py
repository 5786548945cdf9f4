"""The development CSMS refusing charge points: unknown ids (404), wrong or missing keys (401),
and idTags outside its accepted list (Invalid); seen from the station and on the wire."""

from __future__ import annotations

import itertools
import logging

import pytest
import trio
from trio_websocket import ConnectionRejected, open_websocket_url

from chargebox.csms import STEVE_PATH, CentralSystem, CsmsSettings
from chargebox.station import Options
from chargebox.transport import basic_auth_header
from tests.support import CSMS_ADDRESS, running

KEY = "00112233445566778899aabbccddeeff"  # hex pairs: 16 bytes of password
PATH = STEVE_PATH + "CP-1"
# jitter 0: the backoff is RetryBackoffWaitMinimum doubled, exactly
BACKOFF = {
    "RetryBackoffWaitMinimum": 3,
    "RetryBackoffRandomRange": 10,
    "RetryBackoffRepeatTimes": 3,
}


def gaps(rig) -> list[float]:
    """Seconds between the station's connection attempts."""
    times = [t for host, port, t in rig.net.attempts if (host, port) == CSMS_ADDRESS]
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def link_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "chargebox.actors.link" and r.levelno == logging.WARNING
    ]


# -- through the station, on the in-process network (the real HTTP handshake bytes) -------


async def test_unknown_charge_point_is_404_logged_clearly_and_backed_off(
    tmp_path, autojump_clock, caplog
):
    settings = CsmsSettings(known_ids={"CP-2": None})
    caplog.set_level(logging.WARNING, logger="chargebox.actors.link")
    async with running(
        tmp_path,
        csms_settings=settings,
        options=Options(jitter=lambda: 0.0),
        wait_registered=False,
        limit=3600,
        Internal=BACKOFF,
    ) as rig:
        await rig.csms.wait_until(lambda: len(rig.csms.rejected) >= 6)
        assert rig.csms.rejected[:6] == [(PATH, 404)] * 6
        assert rig.csms.all_sessions == [] and not rig.cp.registered
        # RetryBackoffWaitMinimum doubled RetryBackoffRepeatTimes times, then steady
        assert gaps(rig)[:5] == [3, 6, 12, 24, 24]
        assert "HTTP 404" in rig.cp.station.link.last_failure
    line = link_warnings(caplog)[0]
    assert "connecting to the Central System failed" in line
    assert "HTTP 404 Not Found for /steve/websocket/CentralSystemService/CP-1" in line
    assert "is this charge point id registered at the Central System?" in line


@pytest.mark.parametrize(
    ("security", "hint"),
    [
        # profile 1 with a key the CSMS does not know
        (
            {"SecurityProfile": 1, "AuthorizationKey": "ffeeddccbbaa99887766554433221100"},
            "check AuthorizationKey",
        ),
        # profile 0: no Authorization header at all
        ({"SecurityProfile": 0}, "the Central System wants HTTP Basic authentication"),
    ],
    ids=["wrong key", "no key"],
)
async def test_wrong_or_missing_key_is_401(tmp_path, autojump_clock, caplog, security, hint):
    settings = CsmsSettings(known_ids={"CP-1": KEY})
    caplog.set_level(logging.WARNING, logger="chargebox.actors.link")
    async with running(
        tmp_path,
        csms_settings=settings,
        options=Options(jitter=lambda: 0.0),
        wait_registered=False,
        limit=3600,
        Internal=BACKOFF,
        Security=security,
    ) as rig:
        await rig.csms.wait_until(lambda: len(rig.csms.rejected) >= 3)
        assert rig.csms.rejected[:3] == [(PATH, 401)] * 3
        assert rig.csms.all_sessions == [] and not rig.cp.registered
        assert gaps(rig)[:2] == [3, 6]
        # one security event for the run of refusals, queued for the Central System
        events = [
            m.payload["type"]
            for m in rig.cp.station.ctx.store.queued()
            if m.action == "SecurityEventNotification"
        ]
        assert events.count("FailedToAuthenticationAtCentralSystem") == 1, events
    line = link_warnings(caplog)[0]
    assert "HTTP 401 Unauthorized" in line and hint in line
    assert "ffeeddcc" not in caplog.text  # the key never reaches a log


async def test_a_known_id_with_the_right_key_connects(tmp_path, autojump_clock):
    settings = CsmsSettings(known_ids={"CP-1": KEY, "CP-2": None})
    async with running(
        tmp_path,
        csms_settings=settings,
        Security={"SecurityProfile": 1, "AuthorizationKey": KEY},
    ) as rig:
        session = await rig.session()
        assert rig.cp.registered and rig.csms.rejected == []
        assert dict(session.request_headers)[b"authorization"] == basic_auth_header("CP-1", KEY)[1]
        assert rig.csms.received("CP-1", "BootNotification")


# -- idTags -----------------------------------------------------------------------------


async def test_authorize_accepts_only_the_listed_id_tags(tmp_path, autojump_clock):
    settings = CsmsSettings(authorize_all=False, accepted_id_tags=frozenset({"TAG-OK"}))
    async with running(tmp_path, csms_settings=settings, limit=3600) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("TAG-STRANGER", 1)
        await csms.wait_for("Authorize", lambda r: r.id_tag == "TAG-STRANGER")
        # the answer taken in: the transaction is back to Idle, with no authorization
        await cp.wait_until(lambda: cp.transaction_state(1) == "Idle")
        session = await rig.session()
        answers = [ex.payload for ex in session.exchanges if ex.kind == "CALLRESULT"]
        assert {"idTagInfo": {"status": "Invalid"}} in answers
        assert ("authorize", 1, "TAG-STRANGER") not in rig.evse.calls
        await cp.token_presented("TAG-OK", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-OK")
        answers = [ex.payload for ex in session.exchanges if ex.kind == "CALLRESULT"]
        assert {"idTagInfo": {"status": "Accepted"}} in answers


# -- on a real loopback socket, without the engine: the HTTP status itself ------------------


@pytest.mark.parametrize(
    ("charge_point_id", "headers", "status"),
    [
        ("CP-9", [], 404),
        ("CP-1", [], 401),
        ("CP-1", [basic_auth_header("CP-1", "ffeeddccbbaa99887766554433221100")], 401),
        ("CP-2", [basic_auth_header("CP-1", KEY)], 401),  # CP-1's key for another id
    ],
    ids=["unknown id", "no key", "wrong key", "another id's key"],
)
async def test_http_status_on_loopback(charge_point_id, headers, status, caplog):
    caplog.set_level(logging.WARNING, logger="chargebox.csms.server")
    csms = CentralSystem(CsmsSettings(known_ids={"CP-1": KEY, "CP-2": "22" * 16}))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            with pytest.raises(ConnectionRejected) as rejected:
                async with open_websocket_url(
                    csms.url() + charge_point_id, subprotocols=["ocpp1.6"], extra_headers=headers
                ):
                    pass
            assert rejected.value.status_code == status
            assert csms.rejected == [(STEVE_PATH + charge_point_id, status)]
            assert f"refused the connection to {STEVE_PATH}{charge_point_id}: HTTP {status}" in (
                caplog.text
            )
            async with open_websocket_url(
                csms.url() + "CP-1",
                subprotocols=["ocpp1.6"],
                extra_headers=[basic_auth_header("CP-1", KEY)],
            ) as ws:
                assert ws.subprotocol == "ocpp1.6"
                await csms.session("CP-1")
            nursery.cancel_scope.cancel()
