"""Registration (BootNotification Accepted, Pending, Rejected), heartbeats, reconnects, backoff."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest
import trio

from chargebox.charts.addresses import Address
from chargebox.charts.events.link import Close
from chargebox.csms import CsmsSettings
from chargebox.csms.handlers import boot_notification
from chargebox.ocpp import v16
from chargebox.station import Options
from tests.support import CSMS_ADDRESS, running


def boot_times(csms):
    """Record the trio time of every BootNotification the CSMS answers."""
    times: list[float] = []

    def handler(session, request):
        times.append(trio.current_time())
        return boot_notification(session, request)

    csms.on("BootNotification", handler)
    return times


async def test_boot_accepted_then_statuses_and_heartbeats(tmp_path, autojump_clock):
    async with running(tmp_path, csms_settings=CsmsSettings(heartbeat_interval=60)) as rig:
        cp, csms = rig.cp, rig.csms
        boot = await csms.wait_for("BootNotification")
        assert (boot.charge_point_vendor, boot.charge_point_model) == ("Pionix", "Yeti")
        assert boot.firmware_version == "0.1" and boot.charge_box_serial_number == "cp001"
        await csms.wait_for("StatusNotification", count=2)
        start = trio.current_time()
        await trio.sleep(60 * 5 + 1)
        beats = csms.received("CP-1", "Heartbeat")
        assert len(beats) == 5
        actions = [a for a in csms.actions("CP-1") if a != "SecurityEventNotification"]
        assert actions[:3] == ["BootNotification", "StatusNotification", "StatusNotification"]
        assert {s.connector_id for s in csms.received("CP-1", "StatusNotification")} == {0, 1}
        # the interval from BootNotification.conf is kept as HeartbeatInterval
        assert cp.config.heartbeat_interval == 60
        # and the host got the Central System's time
        assert rig.system.times and rig.system.times[0].tzinfo is not None
        assert trio.current_time() - start < 302


@pytest.fixture
def pending_csms():
    from chargebox.csms import CentralSystem

    return CentralSystem(CsmsSettings(pending_boots=2, heartbeat_interval=45))


async def test_pending_then_accepted_retries_after_the_interval(
    tmp_path, autojump_clock, pending_csms
):
    times = boot_times(pending_csms)
    async with running(tmp_path, csms=pending_csms) as rig:
        csms = rig.csms
        assert len(times) == 3
        assert times[1] - times[0] == pytest.approx(45) and times[2] - times[1] == pytest.approx(45)
        # nothing but BootNotification before Accepted
        assert csms.actions("CP-1")[:3] == ["BootNotification"] * 3
        await csms.wait_for("StatusNotification", count=2)


async def test_pending_serves_the_csms_but_refuses_remote_start(tmp_path, autojump_clock):
    from chargebox.csms import CentralSystem

    csms = CentralSystem(CsmsSettings(pending_boots=1000, heartbeat_interval=600))
    times = boot_times(csms)
    async with running(tmp_path, csms=csms, wait_registered=False) as rig:
        session = await rig.session()
        await rig.csms.wait_for("BootNotification")
        config = await session.call(v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
        assert config.configuration_key[0].key == "HeartbeatInterval"
        start = await session.call(v16.RemoteStartTransactionRequest(id_tag="X"))
        assert start.status == "Rejected"
        assert rig.cp.link_state == "Pending"
        await trio.sleep(1800)
        assert set(rig.csms.actions("CP-1")) == {"BootNotification"}
        gaps = [b - a for a, b in pairwise(times)]
        assert len(gaps) >= 2 and gaps[:2] == [pytest.approx(600)] * 2


def answering_boots(csms, statuses: list[str], interval: int) -> list[float]:
    """The CSMS answers BootNotifications with `statuses` in turn, each with `interval`;
    the returned list gets the time of each answer."""
    answers = iter(statuses)
    times: list[float] = []

    def handler(session, request):
        times.append(trio.current_time())
        return v16.BootNotificationResponse(
            status=next(answers), current_time=datetime.now(UTC), interval=interval
        )

    csms.on("BootNotification", handler)
    return times


async def test_rejected_then_accepted(tmp_path, autojump_clock):
    from chargebox.csms import CentralSystem

    csms = CentralSystem(CsmsSettings(heartbeat_interval=300))
    times = answering_boots(csms, ["Rejected", "Rejected", "Accepted"], interval=120)
    async with running(tmp_path, csms=csms) as rig:
        assert [b - a for a, b in pairwise(times)] == [
            pytest.approx(120),
            pytest.approx(120),
        ]
        assert rig.csms.actions("CP-1")[:3] == ["BootNotification"] * 3
        assert rig.cp.config.heartbeat_interval == 120


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
async def test_a_reconnect_waits_out_the_interval_of_pending_or_rejected(
    tmp_path, autojump_clock, status
):
    """Spec 4.2: the Central System answers with an interval and closes the connection; the
    station reconnects at once but sends no BootNotification before the interval passed.
    Meanwhile a Pending station answers the Central System, a Rejected one stays silent."""
    from chargebox.csms import CentralSystem
    from chargebox.csms.server import NoAnswer

    csms = CentralSystem(CsmsSettings(heartbeat_interval=600))
    answered = answering_boots(csms, [status, "Accepted"], interval=300)
    async with running(
        tmp_path, csms=csms, wait_registered=False, options=Options(jitter=lambda: 0.0)
    ) as rig:
        await csms.wait_until(lambda: answered)
        first = await rig.session()
        await first.close(1000, f"{status}: come back later")
        await csms.wait_until(lambda: len(csms.all_sessions) == 2)
        reconnected = trio.current_time()
        assert reconnected - answered[0] < 300  # the reconnect came within the interval
        second = await rig.session()
        if status == "Pending":
            config = await second.call(v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
            assert config.configuration_key[0].key == "HeartbeatInterval"
        else:
            with pytest.raises(NoAnswer):
                await second.call_raw("GetConfiguration", {}, timeout=5)
        assert rig.cp.link_state == status
        await csms.wait_until(lambda: rig.cp.registered)
        assert len(answered) == 2 and answered[1] - answered[0] >= 300
        assert [type(c) for c in second.calls()][:1] == [v16.BootNotificationRequest]


async def test_boot_error_is_retried(tmp_path, autojump_clock):
    from chargebox.csms import CentralSystem
    from chargebox.ocpp.errors import ErrorCode, OcppError

    csms = CentralSystem()
    calls = []

    def handler(session, request):
        calls.append(trio.current_time())
        if len(calls) == 1:
            raise OcppError(ErrorCode.InternalError, "database down")
        return boot_notification(session, request)

    csms.on("BootNotification", handler)
    async with running(tmp_path, csms=csms, options=Options(boot_retry_interval=20)) as rig:
        assert rig.cp.registered
        assert calls[1] - calls[0] == pytest.approx(20)


async def test_reconnect_after_accepted_sends_statuses_not_boot(tmp_path, autojump_clock):
    async with running(tmp_path, options=Options(jitter=lambda: 0.0)) as rig:
        csms = rig.csms
        await csms.wait_for("StatusNotification", count=2)
        await rig.cut()
        await csms.wait_until(lambda: len(csms.all_sessions) == 2 and rig.cp.registered)
        await csms.wait_for("StatusNotification", count=4)
        assert len(csms.received("CP-1", "BootNotification")) == 1
        assert csms.all_sessions[1].calls()[0].__class__ is v16.StatusNotificationRequest


async def test_backoff_follows_the_retry_keys(tmp_path, autojump_clock):
    internal = {
        "RetryBackoffWaitMinimum": 3,
        "RetryBackoffRandomRange": 10,
        "RetryBackoffRepeatTimes": 3,
    }
    async with running(tmp_path, options=Options(jitter=lambda: 0.5), Internal=internal) as rig:
        net = rig.net
        net.unlisten(*CSMS_ADDRESS)
        await rig.cut()
        await trio.sleep(200)
        attempts = [t for (_, _, t) in net.attempts]
        # the first attempt is the initial connection; then the reconnects after the cut
        gaps = [round(b - a, 3) for a, b in pairwise(attempts[1:])]
        # RetryBackoffWaitMinimum doubled 3 times (3, 6, 12, 24), then constant; + 0.5 * 10
        assert gaps[:6] == [11.0, 17.0, 29.0, 29.0, 29.0, 29.0]
        assert attempts[1] - attempts[0] >= 0  # the cut happened after the first connection
        net.listen(*CSMS_ADDRESS, rig.csms)
        await rig.csms.wait_until(lambda: rig.cp.registered)


async def test_missing_pong_closes_and_reconnects(tmp_path, autojump_clock):
    async with running(
        tmp_path,
        options=Options(jitter=lambda: 0.0),
        Core={"WebSocketPingInterval": 30},
        Internal={"WebsocketPongTimeout": 5, "RetryBackoffWaitMinimum": 3},
    ) as rig:
        csms = rig.csms
        await trio.sleep(100)  # pings are answered: nothing happens
        assert len(csms.all_sessions) == 1
        rig.net.freeze(*CSMS_ADDRESS)
        frozen_at = trio.current_time()
        await csms.wait_until(lambda: len(csms.all_sessions) == 2 and rig.cp.registered)
        # the next ping within 30 s, its pong due 5 s later, then a 3 s backoff
        assert trio.current_time() - frozen_at <= 30 + 5 + 3 + 1


async def test_a_missing_pong_is_in_the_message_log_before_the_disconnect(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(
        tmp_path,
        data_dir=data,
        options=Options(jitter=lambda: 0.0),
        Core={"WebSocketPingInterval": 30},
        Internal={"WebsocketPongTimeout": 5, "LogMessagesFormat": ["log"]},
    ) as rig:
        await trio.sleep(100)
        rig.net.freeze(*CSMS_ADDRESS)
        await rig.csms.wait_until(lambda: len(rig.csms.all_sessions) == 2 and rig.cp.registered)
    entries = (data / "message-log" / "CP-1.log").read_text(encoding="utf-8").split("\n\n")
    events = [e.split(" SYS ", 1)[1] for e in entries if " SYS " in e and " SYS log " not in e]
    kinds = [e.split(":", 1)[0] for e in events]
    timeout = kinds.index("pong_timeout")
    assert events[timeout] == "pong_timeout: no pong within 5 s"
    # the link's one disconnect, then the reconnect
    assert kinds[timeout + 1 : timeout + 4] == ["disconnected", "connecting", "connected"]
    assert kinds.count("pong_timeout") == 1


async def test_heartbeat_interval_change_applies_at_once(tmp_path, autojump_clock):
    async with running(tmp_path, csms_settings=CsmsSettings(heartbeat_interval=3600)) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.ChangeConfigurationRequest(key="HeartbeatInterval", value="100")
        )
        assert answer.status == "Accepted"
        await trio.sleep(350)
        assert len(rig.csms.received("CP-1", "Heartbeat")) == 3  # at 100, 200, 300 s
        assert rig.cp.config.heartbeat_interval == 100


async def test_the_station_clock_follows_the_csms_unless_told_not_to(tmp_path, autojump_clock):
    from datetime import timedelta

    from chargebox.actors.clock import StationClock

    for adopt in (True, False):
        clock = StationClock()
        ahead = clock.now() + timedelta(days=365)
        folder = tmp_path / str(adopt)
        folder.mkdir()
        async with running(
            folder,
            csms_clock=lambda ahead=ahead: ahead,
            options=Options(adopt_csms_time=adopt),
        ) as rig:
            offset = (rig.cp.clock.now() - clock.now()).total_seconds()
            assert (offset > 300 * 86400) == adopt
            assert bool(rig.system.times) == adopt  # and so does the host


async def test_a_second_stop_is_taken_quietly(tmp_path, autojump_clock, caplog):
    """A stop while the first one's closing handshake still runs (a fleet winding down
    under load) finds the link Disconnected: taken, nothing done, no refusal logged."""
    async with running(tmp_path) as rig:
        await rig.csms.wait_for("StatusNotification", count=2)
        station = rig.cp.station
        await station.close()
        await station.settle(Address.link())
        again = await station.actors.ask(Address.link(), Close())
        assert again.allowed
        assert not any("not allowed" in r.getMessage() for r in caplog.records)
