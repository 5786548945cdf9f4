"""RemoteTrigger profile: TriggerMessage for every message, with every answer status."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
import trio

from chargebox.actors.clock import StationClock
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.csms.handlers import boot_notification
from chargebox.ocpp import v16
from chargebox.ocpp.errors import ErrorCode, OcppError
from chargebox.station import Options
from tests.support import running

TWO = {"Core": {"NumberOfConnectors": 2, "MeterValuesSampledData": "Energy.Active.Import.Register"}}


async def trigger(rig, what, connector=None):
    session = await rig.session()
    answer = await session.call(
        v16.TriggerMessageRequest(requested_message=what, connector_id=connector)
    )
    return str(answer.status)


def answered_before(session, action):
    """The TriggerMessage.conf came in before the first `action` CALL that followed it."""
    kinds = [(ex.kind, ex.action) for ex in session.exchanges if ex.direction == "in"]
    answer = max(i for i, k in enumerate(kinds) if k == ("CALLRESULT", "TriggerMessage"))
    return any(k == ("CALL", action) for k in kinds[answer + 1 :])


async def test_status_notification_of_one_connector_or_all(tmp_path, autojump_clock):
    async with running(tmp_path, **TWO) as rig:
        cp, csms = rig.cp, rig.csms
        await csms.wait_for("StatusNotification", count=3)  # after the registration
        await cp.session_started(2)
        await csms.wait_for("StatusNotification", lambda s: s.status == "Preparing")
        seen = len(csms.received("CP-1", "StatusNotification"))
        assert await trigger(rig, "StatusNotification", 2) == "Accepted"
        status = await csms.wait_for("StatusNotification", count=seen + 1)
        assert (status.connector_id, status.status) == (2, "Preparing")
        assert answered_before(await rig.session(), "StatusNotification")
        seen += 1
        assert await trigger(rig, "StatusNotification") == "Accepted"
        await csms.wait_for("StatusNotification", count=seen + 3)
        every = csms.received("CP-1", "StatusNotification")[seen:]
        assert [(s.connector_id, str(s.status)) for s in every] == [
            (0, "Available"),
            (1, "Available"),
            (2, "Preparing"),
        ]
        assert await trigger(rig, "StatusNotification", 0) == "Accepted"
        charge_point = await csms.wait_for("StatusNotification", count=seen + 4)
        assert charge_point.connector_id == 0
        assert await trigger(rig, "StatusNotification", 3) == "Rejected"  # no connector 3


async def test_heartbeat(tmp_path, autojump_clock):
    async with running(tmp_path, csms_settings=CsmsSettings(heartbeat_interval=86400)) as rig:
        assert rig.csms.received("CP-1", "Heartbeat") == []
        assert await trigger(rig, "Heartbeat") == "Accepted"
        await rig.csms.wait_for("Heartbeat")
        await trio.testing.wait_all_tasks_blocked()
        assert len(rig.system.times) == 2  # BootNotification's and the Heartbeat's currentTime


@pytest.mark.parametrize("adopt", [True, False])
async def test_a_triggered_heartbeat_takes_the_csms_time_only_when_told_to(
    tmp_path, autojump_clock, adopt
):
    """Options.adopt_csms_time decides for a triggered Heartbeat as for the link's own."""
    station_clock = StationClock()
    a_year_ahead = station_clock.now() + timedelta(days=365)
    async with running(
        tmp_path,
        csms_clock=lambda: a_year_ahead,
        csms_settings=CsmsSettings(heartbeat_interval=86400),
        options=Options(adopt_csms_time=adopt),
    ) as rig:
        assert await trigger(rig, "Heartbeat") == "Accepted"
        await rig.csms.wait_for("Heartbeat")
        await trio.testing.wait_all_tasks_blocked()
        offset = rig.cp.clock.now() - station_clock.now()
        assert (offset > timedelta(days=300)) == adopt
        # the host's time: set by BootNotification's and the Heartbeat's answers, or never
        assert len(rig.system.times) == (2 if adopt else 0)


async def test_meter_values_of_one_connector_or_all(tmp_path, autojump_clock):
    async with running(tmp_path, **TWO) as rig:
        cp, csms = rig.cp, rig.csms
        assert await trigger(rig, "MeterValues", 1) == "Rejected"  # no readings yet
        await cp.meter_values(1, {"Energy.Active.Import.Register": 1234, "Power.Active.Import": 7})
        await cp.meter_values(2, {"Energy.Active.Import.Register": 99})
        assert await trigger(rig, "MeterValues", 1) == "Accepted"
        one = await csms.wait_for("MeterValues")
        assert one.connector_id == 1 and one.transaction_id is None
        (sampled,) = one.meter_value[0].sampled_value  # only what MeterValuesSampledData lists
        assert (sampled.value, str(sampled.context), sampled.measurand) == (
            "1234",
            "Trigger",
            "Energy.Active.Import.Register",
        )
        assert await trigger(rig, "MeterValues") == "Accepted"
        await csms.wait_for("MeterValues", count=3)
        assert [m.connector_id for m in csms.received("CP-1", "MeterValues")[1:]] == [1, 2]
        assert await trigger(rig, "MeterValues", 9) == "Rejected"


async def test_meter_values_during_a_transaction_carry_its_id(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"MeterValueSampleInterval": 0}) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        await cp.transaction_started(1, meter_start=10)
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        await cp.meter_values(1, {"Energy.Active.Import.Register": 500})
        assert await trigger(rig, "MeterValues", 1) == "Accepted"
        values = await csms.wait_for("MeterValues")
        assert values.transaction_id == cp.transaction_id(1)
        assert str(values.meter_value[0].sampled_value[0].context) == "Trigger"


@pytest.mark.parametrize(
    ("what", "action"),
    [
        ("FirmwareStatusNotification", "FirmwareStatusNotification"),
        ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification"),
    ],
)
async def test_firmware_and_diagnostics_status_idle(tmp_path, autojump_clock, what, action):
    async with running(tmp_path) as rig:
        assert await trigger(rig, what) == "Accepted"
        notification = await rig.csms.wait_for(action)
        assert notification.status == "Idle"
    profiles = {"Core": {"SupportedFeatureProfiles": "Core,RemoteTrigger"}}
    async with running(tmp_path, **profiles) as rig:
        assert await trigger(rig, what) == "NotImplemented"


@pytest.mark.parametrize(
    "what",
    [
        "BootNotification",
        "Heartbeat",
        "FirmwareStatusNotification",
        "DiagnosticsStatusNotification",
    ],
)
async def test_a_connector_id_the_message_is_not_about_is_ignored(tmp_path, autojump_clock, what):
    """Spec 5.17: a connectorId not relevant to the message is ignored and the message is
    still sent (an unknown one stays Rejected for StatusNotification and MeterValues)."""
    async with running(tmp_path, **TWO) as rig:
        csms = rig.csms
        await csms.wait_for("StatusNotification", count=3)  # after the registration
        seen = len(csms.received("CP-1", what))
        assert await trigger(rig, what, 7) == "Accepted"
        await csms.wait_for(what, count=seen + 1)


def boots_answered(csms, *answers):
    """Answer the BootNotifications in turn with (status, interval), the last one from then on;
    return the (mock) times at which they came."""
    times: list[float] = []

    def boot(session, request):
        status, interval = answers[min(len(times), len(answers) - 1)]
        times.append(trio.current_time())
        response = boot_notification(session, request)
        return attrs.evolve(response, status=status, interval=interval)

    csms.on("BootNotification", boot)
    return times


async def test_boot_notification_once_accepted_is_sent_and_keeps_the_registration(
    tmp_path, autojump_clock
):
    csms = CentralSystem()
    boots = boots_answered(csms, ("Accepted", 600), ("Accepted", 120))
    async with running(tmp_path, csms=csms) as rig:
        cp = rig.cp
        await csms.wait_for("StatusNotification", count=2)  # after the registration
        states: list[str] = []
        rig.cp.station.link.observers.append(lambda actor, _: states.append(actor.model.state))
        assert await trigger(rig, "BootNotification") == "Accepted"
        await csms.wait_for("BootNotification", count=2)
        assert answered_before(await rig.session(), "BootNotification")
        heartbeat = await csms.wait_for("Heartbeat")
        assert heartbeat is not None
        # the answer's interval applies from the answer on, and is kept
        assert trio.current_time() - boots[1] == pytest.approx(120)
        assert cp.config["HeartbeatInterval"] == 120
        # still registered all along: nothing was sent again, nothing waited
        assert cp.link_state == "Accepted" and cp.registered
        assert set(states) == {"Accepted"}
        assert len(csms.received("CP-1", "StatusNotification")) == 2


@pytest.mark.parametrize(("status", "state"), [("Pending", "Pending"), ("Rejected", "Rejected")])
async def test_boot_notification_once_accepted_answered_otherwise_withdraws_the_registration(
    tmp_path, autojump_clock, status, state
):
    csms = CentralSystem()
    boots = boots_answered(csms, ("Accepted", 600), (status, 30), ("Accepted", 600))
    async with running(tmp_path, csms=csms) as rig:
        cp = rig.cp
        await csms.wait_for("StatusNotification", count=2)
        assert await trigger(rig, "BootNotification") == "Accepted"
        await cp.wait_until(lambda: cp.link_state == state)
        assert not cp.registered
        # registered again by the BootNotification the answer's interval later, which
        # reports every connector again
        await csms.wait_for("BootNotification", count=3)
        assert boots[2] - boots[1] == pytest.approx(30)
        await csms.wait_for("StatusNotification", count=4)
        assert cp.registered and cp.link_state == "Accepted"
        assert csms.received("CP-1", "Heartbeat") == []  # none while not registered


async def test_boot_notification_while_pending_is_sent_at_once(tmp_path, autojump_clock):
    csms = CentralSystem(CsmsSettings(pending_boots=1, heartbeat_interval=600))
    times: list[float] = []

    def boot(session, request):
        times.append(trio.current_time())
        return boot_notification(session, request)

    csms.on("BootNotification", boot)
    async with running(tmp_path, csms=csms, wait_registered=False) as rig:
        await rig.cp.wait_until(lambda: rig.cp.link_state == "Pending")
        await trio.sleep(10)
        assert await trigger(rig, "BootNotification") == "Accepted"
        await rig.cp.wait_until(lambda: rig.cp.registered)
        assert len(times) == 2 and times[1] - times[0] == pytest.approx(10)  # not 600 s later
        assert answered_before(await rig.session(), "BootNotification")


async def test_triggered_messages_go_out_while_pending(tmp_path, autojump_clock):
    csms = CentralSystem(CsmsSettings(pending_boots=1000, heartbeat_interval=600))
    async with running(tmp_path, csms=csms, wait_registered=False) as rig:
        cp = rig.cp
        await csms.wait_for("BootNotification")
        await cp.meter_values(1, {"Energy.Active.Import.Register": 5})
        for what, action in [
            ("StatusNotification", "StatusNotification"),
            ("Heartbeat", "Heartbeat"),
            ("MeterValues", "MeterValues"),
            ("FirmwareStatusNotification", "FirmwareStatusNotification"),
            ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification"),
        ]:
            assert await trigger(rig, what, 1) == "Accepted"
            await csms.wait_for(action)
        assert cp.link_state == "Pending"
        # nothing else went out: only Boot and what was triggered
        assert set(csms.actions("CP-1")) == {
            "BootNotification",
            "StatusNotification",
            "Heartbeat",
            "MeterValues",
            "FirmwareStatusNotification",
            "DiagnosticsStatusNotification",
        }
        assert len(csms.received("CP-1", "StatusNotification")) == 1


async def test_a_triggered_boot_without_an_answer_keeps_the_registration(tmp_path, autojump_clock):
    csms = CentralSystem(CsmsSettings(heartbeat_interval=600))
    boots: list[float] = []

    def boot(session, request):
        boots.append(trio.current_time())
        if len(boots) > 1:
            raise OcppError(ErrorCode.InternalError, "not now")
        return boot_notification(session, request)

    csms.on("BootNotification", boot)
    async with running(tmp_path, csms=csms) as rig:
        assert await trigger(rig, "BootNotification") == "Accepted"
        await csms.wait_for("BootNotification", count=2)
        await csms.wait_for("Heartbeat")  # heartbeats go on at the interval they had
        assert trio.current_time() - boots[0] == pytest.approx(600)
        assert rig.cp.registered and len(boots) == 2


async def test_transaction_messages_wait_while_a_triggered_boot_withdraws_the_registration(
    tmp_path, autojump_clock
):
    csms = CentralSystem()
    boots = boots_answered(csms, ("Accepted", 600), ("Pending", 30), ("Accepted", 600))
    async with running(tmp_path, csms=csms, Core={"MeterValueSampleInterval": 0}) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        await cp.transaction_started(1, meter_start=10)
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        assert await trigger(rig, "BootNotification") == "Accepted"
        await cp.wait_until(lambda: cp.link_state == "Pending")
        await cp.transaction_stopped(1, meter_stop=500, reason="Local")
        await trio.sleep(10)
        assert csms.received("CP-1", "StopTransaction") == []  # waits for the registration
        stop = await csms.wait_for("StopTransaction")
        assert trio.current_time() >= boots[2] and stop.meter_stop == 500
