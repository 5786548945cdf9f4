"""Accepted ChangeConfiguration values take effect at once, seen on the wire (MockClock).

Each test changes one key (or one family of keys) from the Central System and
then watches the behaviour it governs: the next sampled and clock-aligned
MeterValues, the retries of a transaction message, the host's
ConnectionTimeOut, websocket pings, reconnect backoff and the HTTP Basic
password. Times are exact: the station runs on trio's MockClock and reaches
the development CSMS over the in-process network.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from itertools import pairwise

import attrs
import pytest
import trio

from chargebox import netsim
from chargebox.actors.clock import StationClock
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.ocpp import v16
from chargebox.ocpp.errors import ErrorCode, OcppError
from chargebox.station import Host, Options
from tests.support import CSMS_ADDRESS, RecordingEvse, RecordingSystem, running

START = datetime(2026, 3, 1, 10, 7, 13, tzinfo=UTC)
ENERGY = "Energy.Active.Import.Register"
KEY = "00112233445566778899aabbccddeeff"  # 16 bytes
NEW_KEY = "ffeeddccbbaa99887766554433221100"


async def change(rig, key: str, value: str) -> None:
    """ChangeConfiguration from the Central System; the change must be Accepted."""
    session = await rig.session()
    answer = await session.call(v16.ChangeConfigurationRequest(key=key, value=value))
    assert str(answer.status) == "Accepted", (key, value, answer.status)


def seconds_after(moment: datetime, values) -> list[float]:
    return [(mv.timestamp - moment).total_seconds() for m in values for mv in m.meter_value]


def with_context(csms, context: str) -> list:
    return [
        m
        for m in csms.received("CP-1", "MeterValues")
        if any(str(sv.context) == context for mv in m.meter_value for sv in mv.sampled_value)
    ]


# -- MeterValueSampleInterval -----------------------------------------------------------------


async def test_sample_interval_change_rearms_the_running_transaction(tmp_path, autojump_clock):
    clock = StationClock(START)
    core = {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.meter_values(1, {ENERGY: 100})
        await cp.transaction_started(1, meter_start=100, id_tag="TAG-1")
        started = clock.now()
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        await trio.sleep(90)  # one sample at 60 s on the old interval
        await change(rig, "MeterValueSampleInterval", "25")
        changed = clock.now()
        await trio.sleep(80)
        periodic = with_context(csms, "Sample.Periodic")
        assert seconds_after(started, periodic[:1]) == [60.0]
        # re-armed at the change: every 25 s from then on, not an extra sample at the change
        assert seconds_after(changed, periodic[1:]) == [25.0, 50.0, 75.0]
        assert {m.transaction_id for m in periodic} == {cp.transaction_id(1)}


async def test_sample_interval_zero_stops_sampling_at_once(tmp_path, autojump_clock):
    clock = StationClock(START)
    core = {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.meter_values(1, {ENERGY: 100})
        await cp.transaction_started(1, meter_start=100, id_tag="TAG-1")
        started = clock.now()
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        await trio.sleep(90)
        await change(rig, "MeterValueSampleInterval", "0")
        await trio.sleep(600)
        # the sample armed for 120 s does not go out: 0 switches sampling off
        assert seconds_after(started, with_context(csms, "Sample.Periodic")) == [60.0]


# -- ClockAlignedDataInterval -----------------------------------------------------------------


async def test_aligned_interval_change_realigns_during_a_transaction(tmp_path, autojump_clock):
    clock = StationClock(START)  # 10:07:13 UTC
    core = {"ClockAlignedDataInterval": 3600, "MeterValueSampleInterval": 0}
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.meter_values(1, {ENERGY: 100})
        await cp.transaction_started(1, meter_start=100, id_tag="TAG-1")
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        await clock.sleep_until(START.replace(minute=20))
        # waiting for 11:00 on the hourly grid; from now on every 10 minutes after midnight
        await change(rig, "ClockAlignedDataInterval", "600")
        await clock.sleep_until(START.replace(minute=51))
        aligned = with_context(csms, "Sample.Clock")
        midnight = START.replace(hour=0, minute=0, second=0)
        assert [s / 60 for s in seconds_after(midnight, aligned)] == [
            10 * 60 + 30,
            10 * 60 + 40,
            10 * 60 + 50,
        ]
        assert {m.transaction_id for m in aligned} == {cp.transaction_id(1)}


# -- TransactionMessageAttempts and TransactionMessageRetryInterval ---------------------------


async def test_transaction_retry_settings_apply_to_the_message_waiting(tmp_path, autojump_clock):
    csms = CentralSystem()
    calls: list[float] = []

    def refuse(session, request):
        calls.append(trio.current_time())
        raise OcppError(ErrorCode.InternalError, "try later")

    csms.on("StartTransaction", refuse)
    core = {"TransactionMessageAttempts": 2, "TransactionMessageRetryInterval": 10}
    async with running(tmp_path, csms=csms, Core=core) as rig:
        await rig.cp.transaction_started(1, meter_start=0, id_tag="T")
        await csms.wait_until(lambda: len(calls) == 1)
        await trio.sleep(5)  # waiting for the second attempt, armed for 10 s after the first
        await change(rig, "TransactionMessageAttempts", "4")
        await change(rig, "TransactionMessageRetryInterval", "3")
        await trio.sleep(120)
        # the armed wait stands (10 s); then 3 s x transmissions so far: 6, 9; then dropped
        assert [round(b - a, 3) for a, b in pairwise(calls)] == [10.0, 6.0, 9.0]
        assert rig.cp.station.outbox.dropped == 1
        assert rig.cp.station.ctx.store.queued() == []


# -- ConnectionTimeOut ------------------------------------------------------------------------


@attrs.define
class RecordingAuthorization:
    """The authorization port: records every ConnectionTimeOut the engine hands over."""

    timeouts: list[int] = attrs.Factory(list)
    #: set once the engine handed a value over
    heard: trio.Event = attrs.Factory(trio.Event)

    async def set_connection_timeout(self, seconds: int) -> None:
        self.timeouts.append(seconds)
        self.heard.set()


async def test_connection_timeout_reaches_the_host_and_bounds_the_authorization(
    tmp_path, autojump_clock
):
    port = RecordingAuthorization()
    host = Host(evse=RecordingEvse(), system=RecordingSystem(), authorization=port)
    async with running(tmp_path, host=host, Core={"ConnectionTimeOut": 30}) as rig:
        await change(rig, "ConnectionTimeOut", "45")
        # the change takes effect once the answer is on its way: the transactions hear it,
        # then the host
        await port.heard.wait()
        await rig.cp.settled("transaction/1")
        assert port.timeouts == [45]
        # an idTag now waits 45 s for the transaction, not 30
        await rig.cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        authorized = trio.current_time()
        await rig.evse.wait_for("withdraw_authorization", 1)
        assert trio.current_time() - authorized == pytest.approx(45)
        assert rig.cp.transaction_state(1) == "Idle"


# -- WebSocketPingInterval --------------------------------------------------------------------


@pytest.fixture
def pings(monkeypatch) -> list[float]:
    """The trio time of every websocket ping frame a charge point puts on the in-process wire."""
    times: list[float] = []
    send_all = netsim.Valve.send_all

    async def recording(self, data):
        if bytes(data[:1]) == b"\x89":  # FIN + opcode 0x9 (ping)
            times.append(trio.current_time())
        await send_all(self, data)

    monkeypatch.setattr(netsim.Valve, "send_all", recording)
    return times


async def test_ping_interval_change_applies_to_the_open_connection(tmp_path, autojump_clock, pings):
    async with running(tmp_path, Core={"WebSocketPingInterval": 0}) as rig:
        await trio.sleep(300)
        assert pings == []  # 0: no pings
        await change(rig, "WebSocketPingInterval", "40")
        on = trio.current_time()
        await trio.sleep(90)
        assert [round(t - on, 3) for t in pings] == [40.0, 80.0]
        # a shorter interval restarts the wait at once (not after the 40 s under way)
        await change(rig, "WebSocketPingInterval", "15")
        shorter = trio.current_time()
        await trio.sleep(50)
        assert [round(t - shorter, 3) for t in pings[2:]] == [15.0, 30.0, 45.0]
        assert len(rig.csms.all_sessions) == 1  # every ping had its pong


# -- RetryBackoff* ----------------------------------------------------------------------------


async def test_backoff_keys_apply_to_the_next_reconnects(tmp_path, autojump_clock):
    internal = {
        "RetryBackoffWaitMinimum": 3,
        "RetryBackoffRandomRange": 10,
        "RetryBackoffRepeatTimes": 3,
    }
    async with running(tmp_path, options=Options(jitter=lambda: 0.5), Internal=internal) as rig:
        await change(rig, "RetryBackoffWaitMinimum", "5")
        await change(rig, "RetryBackoffRandomRange", "4")
        await change(rig, "RetryBackoffRepeatTimes", "1")
        net = rig.net
        net.unlisten(*CSMS_ADDRESS)
        cut = trio.current_time()
        await rig.cut()
        await trio.sleep(60)
        attempts = [t for (_, _, t) in net.attempts[1:]]
        # 5 s, doubled once, then constant; + 0.5 x 4 s
        assert [round(b - a, 3) for a, b in pairwise([cut, *attempts])][:5] == [
            7.0,
            12.0,
            12.0,
            12.0,
            12.0,
        ]
        net.listen(*CSMS_ADDRESS, rig.csms)
        await rig.csms.wait_until(lambda: rig.cp.registered)


# -- AuthorizationKey -------------------------------------------------------------------------


def basic_password(session) -> bytes:
    value = dict(session.request_headers)[b"authorization"]
    user, _, password = base64.b64decode(value.split(b" ", 1)[1]).partition(b":")
    assert user == b"CP-1"
    return password


async def test_a_new_authorization_key_reconnects_with_it(tmp_path, autojump_clock):
    known = {"CP-1": KEY}
    csms = CentralSystem(CsmsSettings(known_ids=known))
    security = {"SecurityProfile": 1, "AuthorizationKey": KEY}
    async with running(tmp_path, csms=csms, Security=security) as rig:
        assert basic_password(csms.all_sessions[0]) == bytes.fromhex(KEY)
        known["CP-1"] = NEW_KEY  # the Central System expects the key it sets
        with trio.fail_after(60):
            await change(rig, "AuthorizationKey", NEW_KEY)
            await csms.wait_until(lambda: len(csms.all_sessions) == 2 and rig.cp.registered)
        assert basic_password(csms.all_sessions[1]) == bytes.fromhex(NEW_KEY)
        assert csms.rejected == []
        assert rig.cp.config.security_profile == 1
        # the change is in the security log and told to the Central System (A01.FR.11),
        # the key itself nowhere (A01.FR.12)
        event = await csms.wait_for(
            "SecurityEventNotification", lambda e: e.type == "ReconfigurationOfSecurityParameters"
        )
        assert event.tech_info == "AuthorizationKey changed"
        logged = "".join(
            p.read_text()
            for p in (tmp_path / "data").rglob("*")
            if p.is_file() and p.suffix in (".log", ".txt", ".html")
        )
        assert "AuthorizationKey changed" in logged
        assert NEW_KEY not in logged and NEW_KEY.lower() not in logged


@pytest.mark.parametrize("key", ["AuthorizationKey", "authorizationkey"])
async def test_a_malformed_authorization_key_is_refused_without_repeating_it(
    tmp_path, autojump_clock, caplog, key
):
    secret = "7e57" * 130  # 520 characters: past the schema's 500
    async with running(tmp_path, data_dir=tmp_path / "data") as rig:
        session = await rig.session()
        with caplog.at_level(logging.DEBUG):
            answer = await session.call_raw("ChangeConfiguration", {"key": key, "value": secret})
        assert (answer.error_code, answer.error_description) == (
            "PropertyConstraintViolation",
            "ChangeConfiguration: the value breaks the schema",
        )
        assert "7e577e57" not in str(answer.error_details)
    assert not [r for r in caplog.records if "7e577e57" in r.getMessage()]
    logged = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.suffix != ".db"]
    assert logged and not [p for p in logged if "7e577e57" in p.read_text(errors="replace")]


# -- keys read by the transaction chart's guards ----------------------------------------------


async def test_authorize_remote_tx_requests_applies_to_the_next_remote_start(
    tmp_path, autojump_clock
):
    async with running(tmp_path, Core={"AuthorizeRemoteTxRequests": False}) as rig:
        await change(rig, "AuthorizeRemoteTxRequests", "true")
        session = await rig.session()
        start = await session.call(v16.RemoteStartTransactionRequest(id_tag="R-1", connector_id=1))
        assert str(start.status) == "Accepted"
        with trio.fail_after(60):
            authorize = await rig.csms.wait_for("Authorize")
            await rig.evse.wait_for("authorize", 1, "R-1")
        assert authorize.id_tag == "R-1"
