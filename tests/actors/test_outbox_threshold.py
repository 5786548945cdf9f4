"""MessageQueueSizeThreshold: what an overfull queue gives up, and what it never gives up.

Non-transaction messages (SecurityEventNotification) go first, then every
other MeterValues of a transaction; StartTransaction and StopTransaction
always reach the Central System.
"""

from __future__ import annotations

import trio

from chargebox.csms import CentralSystem
from chargebox.ocpp import v16
from chargebox.ocpp.errors import ErrorCode, OcppError
from tests.support import CSMS_ADDRESS, running

ENERGY = "Energy.Active.Import.Register"


def events(csms) -> list[str | None]:
    """tech_info of the SecurityEventNotifications the CSMS received (ours are numbered)."""
    return [
        e.tech_info
        for e in csms.received("CP-1", "SecurityEventNotification")
        if str(e.type) == "SettingSystemTime"
    ]


async def go_offline(rig) -> None:
    """Once the queue is empty (StartupOfTheDevice delivered), the Central System goes away."""
    store = rig.cp.station.ctx.store
    await rig.cp.wait_until(lambda: store.queue_length() == 0)
    rig.net.unlisten(*CSMS_ADDRESS)
    await rig.cut()
    await rig.cp.wait_until(lambda: not rig.cp.registered)


async def test_security_events_are_dropped_before_any_meter_values(tmp_path, autojump_clock):
    internal = {"MessageQueueSizeThreshold": 5}
    core = {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}
    async with running(tmp_path, Internal=internal, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await go_offline(rig)
        store = cp.station.ctx.store
        for n in (1, 2, 3):
            cp.station.security_event("SettingSystemTime", f"event {n}")
        await cp.meter_values(1, {ENERGY: 0})
        await cp.transaction_started(1, meter_start=0, id_tag="T")
        for minute in (1, 2):
            await cp.meter_values(1, {ENERGY: 100 * minute})
            await trio.sleep(61)  # a MeterValues at 60 and at 120 s: 6 messages, 1 too many
        assert [m.action for m in store.queued()] == [
            "SecurityEventNotification",
            "SecurityEventNotification",
            "StartTransaction",
            "MeterValues",
            "MeterValues",
        ]
        await cp.transaction_stopped(1, meter_stop=250)
        assert [m.action for m in store.queued()] == [
            "SecurityEventNotification",
            "StartTransaction",
            "MeterValues",
            "MeterValues",
            "StopTransaction",
        ]
        rig.net.listen(*CSMS_ADDRESS, csms)
        stop = await csms.wait_for("StopTransaction")
        await cp.wait_until(lambda: store.queued() == [])
        # the oldest events went; every transaction message arrived, in order
        assert events(csms) == ["event 3"]
        meters = csms.received("CP-1", "MeterValues")
        assert [m.meter_value[0].sampled_value[0].value for m in meters] == ["100", "200"]
        assert {m.transaction_id for m in meters} == {stop.transaction_id}
        assert [
            a
            for a in csms.actions("CP-1")
            if a in ("StartTransaction", "MeterValues", "StopTransaction")
        ] == ["StartTransaction", "MeterValues", "MeterValues", "StopTransaction"]


async def test_security_events_alone_are_kept_under_the_threshold(tmp_path, autojump_clock):
    internal = {"MessageQueueSizeThreshold": 3}
    async with running(tmp_path, Internal=internal) as rig:
        cp, csms = rig.cp, rig.csms
        await go_offline(rig)
        for n in range(1, 8):
            cp.station.security_event("SettingSystemTime", f"event {n}")
            await trio.sleep(1)
        assert cp.station.ctx.store.queue_length() == 3
        rig.net.listen(*CSMS_ADDRESS, csms)
        await csms.wait_until(lambda: len(events(csms)) == 3)
        await trio.sleep(60)
        assert events(csms) == ["event 5", "event 6", "event 7"]


async def test_start_and_stop_are_never_dropped(tmp_path, autojump_clock):
    internal = {"MessageQueueSizeThreshold": 2}
    core = {"MeterValueSampleInterval": 30, "ClockAlignedDataInterval": 0}
    async with running(tmp_path, Internal=internal, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await go_offline(rig)
        cp.station.security_event("SettingSystemTime", "event 1")
        for n in range(4):
            await cp.meter_values(1, {ENERGY: 1000 * n})
            await cp.transaction_started(1, meter_start=1000 * n, id_tag=f"T{n}")
            await cp.meter_values(1, {ENERGY: 1000 * n + 500})
            await trio.sleep(100)  # three samples each
            await cp.transaction_stopped(1, meter_stop=1000 * n + 500)
        queued = [m.action for m in cp.station.ctx.store.queued()]
        assert queued == ["StartTransaction", "StopTransaction"] * 4
        rig.net.listen(*CSMS_ADDRESS, csms)
        await csms.wait_for("StopTransaction", count=4)
        starts = csms.received("CP-1", "StartTransaction")
        stops = csms.received("CP-1", "StopTransaction")
        assert [s.id_tag for s in starts] == ["T0", "T1", "T2", "T3"]
        assert [s.meter_stop for s in stops] == [500, 1500, 2500, 3500]
        assert len({s.transaction_id for s in stops}) == 4
        assert events(csms) == []
        assert csms.received("CP-1", "MeterValues") == []


async def test_the_message_being_retried_is_spared_when_the_queue_is_thinned(
    tmp_path, autojump_clock
):
    """A transaction's MeterValues coming in past the threshold thin the queue; the
    MeterValues waiting for its retry (the head, in flight) stays, the next oldest goes."""
    accepted: list[str] = []
    failures: list[str] = []

    def meter_values(session, request):
        value = request.meter_value[0].sampled_value[0].value
        if not failures:
            failures.append(value)
            raise OcppError(ErrorCode.InternalError, "try later")
        accepted.append(value)
        return v16.MeterValuesResponse()

    csms = CentralSystem()
    csms.on("MeterValues", meter_values)
    internal = {"MessageQueueSizeThreshold": 3}
    core = {
        "MeterValueSampleInterval": 60,
        "ClockAlignedDataInterval": 0,
        "TransactionMessageAttempts": 3,
        "TransactionMessageRetryInterval": 200,
    }
    async with running(tmp_path, csms=csms, Internal=internal, Core=core) as rig:
        cp = rig.cp
        await cp.drain(30)
        await cp.meter_values(1, {ENERGY: 0})
        await cp.transaction_started(1, meter_start=0, id_tag="T")
        await trio.sleep(30)
        for minute in (1, 2, 3, 4):  # samples at 60 (fails, retried at 260), 120, 180, 240
            await cp.meter_values(1, {ENERGY: 100 * minute})
            await trio.sleep(60)
        await csms.wait_until(lambda: len(accepted) >= 3)
        assert failures == ["100"]
        # the queue passed 3 with the sample at 240: the one at 120 went, not the one retried
        assert accepted[:3] == ["100", "300", "400"]
