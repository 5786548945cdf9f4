"""The transaction-message queue: offline transactions, retries, drops, power loss, thinning."""

from __future__ import annotations

from itertools import pairwise

import pytest
import trio

from chargebox.csms import CentralSystem
from chargebox.csms.handlers import start_transaction
from chargebox.ocpp import rpc
from chargebox.ocpp.errors import ErrorCode, OcppError
from chargebox.store.memory import MemoryStore
from tests.support import CSMS_ADDRESS, make_host, running, sampled_values

rpc_call = rpc.call

SAMPLING = {"Core": {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}}
#: a station that starts transactions offline for an unknown idTag, sampling every minute
OFFLINE_SAMPLING = {
    "AllowOfflineTxForUnknownId": True,
    "MeterValueSampleInterval": 60,
    "ClockAlignedDataInterval": 0,
}


async def start_offline_transaction(rig) -> None:
    """Cut the station off its Central System, then start a transaction on connector 1
    (idTag OFF-1, meter 100 Wh) while it is offline."""
    cp = rig.cp
    rig.net.unlisten(*CSMS_ADDRESS)
    await rig.cut()
    await cp.wait_until(lambda: not cp.registered)
    await cp.session_started(1)
    await cp.token_presented("OFF-1", 1)
    await rig.evse.wait_for("authorize", 1, "OFF-1")
    await cp.transaction_started(1, meter_start=100)


async def test_a_transaction_while_offline_is_delivered_in_order_with_its_id(
    tmp_path, autojump_clock
):
    async with running(
        tmp_path,
        Core=OFFLINE_SAMPLING,
    ) as rig:
        cp, csms, net = rig.cp, rig.csms, rig.net
        await start_offline_transaction(rig)
        assert cp.transaction_state(1) == "StartedOffline"
        for minute in range(1, 4):
            await cp.meter_values(1, {"Energy.Active.Import.Register": 100 + 50 * minute})
            await trio.sleep(61)  # a sample every 60 s: at 60, 120 and 180
        await cp.transaction_stopped(1, meter_stop=300, reason="Local")
        assert [m.action for m in cp.station.ctx.store.queued() if m.tx_ref is not None] == [
            "StartTransaction",
            "MeterValues",
            "MeterValues",
            "MeterValues",
            "StopTransaction",
        ]
        net.listen(*CSMS_ADDRESS, csms)
        stop = await csms.wait_for("StopTransaction")
        start = csms.received("CP-1", "StartTransaction")[0]
        meters = csms.received("CP-1", "MeterValues")
        tx_id = stop.transaction_id
        assert tx_id >= 1
        assert len(meters) == 3 and all(m.transaction_id == tx_id for m in meters)
        assert start.meter_start == 100 and stop.meter_stop == 300
        order = [
            a
            for a in csms.actions("CP-1")
            if a in ("StartTransaction", "MeterValues", "StopTransaction")
        ]
        assert order == [
            "StartTransaction",
            "MeterValues",
            "MeterValues",
            "MeterValues",
            "StopTransaction",
        ]
        await cp.wait_until(lambda: cp.station.ctx.store.queued() == [])


def failing(times: int, calls: list[float]):
    """A StartTransaction handler that fails `times` times, then answers."""

    def handler(session, request):
        calls.append(trio.current_time())
        if len(calls) <= times:
            raise OcppError(ErrorCode.InternalError, "try later")
        return start_transaction(session, request)

    return handler


async def test_failed_transaction_messages_are_retried_with_growing_waits(tmp_path, autojump_clock):
    csms = CentralSystem()
    calls: list[float] = []
    csms.on("StartTransaction", failing(2, calls))
    core = {"TransactionMessageAttempts": 3, "TransactionMessageRetryInterval": 10}
    async with running(tmp_path, csms=csms, Core=core) as rig:
        await rig.cp.transaction_started(1, meter_start=0, id_tag="T")
        await csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        assert len(calls) == 3
        # TransactionMessageRetryInterval x transmissions so far: 10, then 20
        assert [round(b - a, 3) for a, b in pairwise(calls)] == [10.0, 20.0]
        # every transmission carries the same message id: a CSMS can spot a retransmission
        ids = {
            ex.unique_id
            for s in csms.all_sessions
            for ex in s.exchanges
            if ex.direction == "in" and ex.action == "StartTransaction"
        }
        assert len(ids) == 1


@pytest.mark.parametrize("memory", [False, True], ids=["sqlite", "memory"])
async def test_a_start_given_up_leaves_its_transaction_messages_with_id_minus_one(
    tmp_path, autojump_clock, memory
):
    csms = CentralSystem()
    calls: list[float] = []
    csms.on("StartTransaction", failing(1000, calls))
    core = {
        "TransactionMessageAttempts": 2,
        "TransactionMessageRetryInterval": 5,
        **SAMPLING["Core"],
    }
    store = MemoryStore() if memory else None
    async with running(tmp_path, csms=csms, Core=core, store=store) as rig:
        await rig.cp.session_started(1)
        await rig.cp.transaction_started(1, meter_start=0, id_tag="T")
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 2})
        await csms.wait_until(lambda: len(calls) == 2)
        await trio.sleep(60)
        assert len(calls) == 2  # dropped after TransactionMessageAttempts
        assert rig.cp.station.outbox.dropped == 1
        # no transactionId will come: the transaction's messages carry -1 (errata 3.18),
        # those queued behind the start and those made after it was given up
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 4})
        await trio.sleep(60)
        await rig.cp.transaction_stopped(1, meter_stop=5)
        stop = await rig.csms.wait_for("StopTransaction")
        assert (stop.transaction_id, stop.meter_stop) == (-1, 5)
        meter_values = rig.csms.received("CP-1", "MeterValues")
        assert len(meter_values) >= 2
        assert {m.transaction_id for m in meter_values} == {-1}
        await rig.cp.drain(30)
        assert rig.cp.station.ctx.store.queued() == []
        assert rig.cp.station.outbox.dropped == 1


async def test_power_loss_stops_the_transaction_with_the_last_meter_value(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data, **SAMPLING) as rig:
        await rig.cp.session_started(1)
        await rig.cp.transaction_started(1, meter_start=1000, id_tag="T")
        await rig.csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        tx_id = rig.cp.transaction_id(1)
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 1750})
        await trio.sleep(90)
        # the power goes: nothing more is said
    async with running(tmp_path, data_dir=data, **SAMPLING) as rig:
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.reason == "PowerLoss"
        assert stop.transaction_id == tx_id
        assert stop.meter_stop == 1750
        assert rig.cp.transaction_state(1) == "Idle"


async def test_the_host_may_resume_a_session_after_a_restart(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data, **SAMPLING) as rig:
        await rig.cp.session_started(1)
        await rig.cp.transaction_started(1, meter_start=0, id_tag="T")
        await rig.csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        tx_id = rig.cp.transaction_id(1)
    host = make_host()
    host.system.resumable.add(1)
    async with running(tmp_path, data_dir=data, host=host, **SAMPLING) as rig:
        assert rig.cp.transaction_id(1) == tx_id
        await rig.cp.transaction_stopped(1, meter_stop=42)
        stop = await rig.csms.wait_for("StopTransaction")
        assert (stop.transaction_id, stop.meter_stop, stop.reason) == (tx_id, 42, None)


@pytest.mark.parametrize("answered", [True, False], ids=["with-its-id", "start-still-queued"])
async def test_a_resumed_transaction_goes_on_sampling(tmp_path, autojump_clock, answered):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data, **SAMPLING) as rig:
        if not answered:  # started offline: its StartTransaction waits in the queue
            rig.net.unlisten(*CSMS_ADDRESS)
            await rig.cut()
        await rig.cp.session_started(1)
        await rig.cp.transaction_started(1, meter_start=0, id_tag="T")
        if answered:
            await rig.csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 100})
        await trio.sleep(30)  # the power goes before the first sample
    host = make_host()
    host.system.resumable.add(1)
    async with running(tmp_path, data_dir=data, host=host, **SAMPLING) as rig:
        assert rig.cp.transaction_state(1) == ("Active" if answered else "StartedOffline")
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 200})
        await trio.sleep(305)
        await rig.cp.drain(30)
        # MeterValueSampleInterval 60: a sample a minute from the resume on (errata 3.15)
        periodic = sampled_values(rig.csms, context="Sample.Periodic")
        assert [float(value) for value in periodic] == [200.0] * 5
        assert rig.cp.transaction_id(1) is not None


async def test_queue_over_threshold_thins_meter_values_but_keeps_start_and_stop(
    tmp_path, autojump_clock
):
    internal = {"MessageQueueSizeThreshold": 6}
    core = {"MeterValueSampleInterval": 10, "ClockAlignedDataInterval": 0}
    async with running(tmp_path, Internal=internal, Core=core) as rig:
        cp, net = rig.cp, rig.net
        net.unlisten(*CSMS_ADDRESS)
        await rig.cut()
        await cp.transaction_started(1, meter_start=0, id_tag="T")
        for second in range(0, 200, 10):
            await cp.meter_values(1, {"Energy.Active.Import.Register": second})
            await trio.sleep(10)
        await cp.transaction_stopped(1, meter_stop=200)
        queued = [m.action for m in cp.station.ctx.store.queued() if m.tx_ref is not None]
        assert queued[0] == "StartTransaction" and queued[-1] == "StopTransaction"
        assert len(queued) <= 7
        net.listen(*CSMS_ADDRESS, rig.csms)
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.meter_stop == 200


@pytest.mark.parametrize("limit", [32000])
async def test_stop_transaction_is_trimmed_to_max_message_size(tmp_path, autojump_clock, limit):
    internal = {"MaxMessageSize": limit}
    core = {
        "MeterValueSampleInterval": 1,
        "ClockAlignedDataInterval": 0,
        "StopTxnSampledData": "Energy.Active.Import.Register,Power.Active.Import",
    }
    async with running(tmp_path, Internal=internal, Core=core) as rig:
        cp = rig.cp
        await cp.transaction_started(1, meter_start=0, id_tag="T")
        for second in range(250):
            await cp.meter_values(
                1, {"Energy.Active.Import.Register": second, "Power.Active.Import": 7000}
            )
            await trio.sleep(1)
        await cp.transaction_stopped(1, meter_stop=600)
        stop = await rig.csms.wait_for("StopTransaction")
        exchanges = rig.csms.all_sessions[-1].exchanges
        text = next(s for s in exchanges if s.action == "StopTransaction").text
        assert len(text.encode()) <= limit
        data = stop.transaction_data
        assert data[0].sampled_value[0].context == "Transaction.Begin"
        assert data[-1].sampled_value[0].context == "Transaction.End"


async def test_drain_waits_for_what_was_decided_and_gives_up_offline(tmp_path, autojump_clock):
    core = {"ClockAlignedDataInterval": 0, "AllowOfflineTxForUnknownId": True}
    async with running(tmp_path, Core=core) as rig:
        cp, csms, net = rig.cp, rig.csms, rig.net
        await cp.session_started(1)
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        await cp.transaction_started(1, meter_start=0)
        await cp.transaction_stopped(1, meter_stop=500, reason="Local")
        await cp.session_stopped(1)
        # online: everything decided so far is delivered when drain returns, at the moment
        # the last answer came (the in-process network takes no time): it waits for the
        # engine's moves, it does not look every so often
        before = trio.current_time()
        assert await cp.drain(timeout=60)
        assert trio.current_time() == before
        assert csms.received("CP-1", "StopTransaction")[0].meter_stop == 500
        assert str(csms.received("CP-1", "StatusNotification")[-1].status) == "Available"
        assert cp.station.ctx.store.queue_length() == 0
        # offline: nothing can go; drain says so at once and the message stays on disk
        net.unlisten(*CSMS_ADDRESS)
        await rig.cut()
        await cp.wait_until(lambda: not cp.registered)
        await cp.session_started(1)
        await cp.token_presented("TAG-2", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-2")
        await cp.transaction_started(1, meter_start=500)
        before = trio.current_time()
        assert not await cp.drain(timeout=60)
        assert trio.current_time() == before
        assert [m.action for m in cp.station.ctx.store.queued()] == ["StartTransaction"]


class _Spawned(trio.abc.Instrument):
    def __init__(self) -> None:
        self.names: list[str] = []

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.names.append(task.name)


async def test_a_draining_queue_starts_no_task_to_take_a_transmissions_news(
    tmp_path, autojump_clock, monkeypatch
):
    async with running(
        tmp_path,
        Core=OFFLINE_SAMPLING,
    ) as rig:
        cp, csms, net = rig.cp, rig.csms, rig.net
        await start_offline_transaction(rig)
        for minute in range(1, 6):
            await cp.meter_values(1, {"Energy.Active.Import.Register": 100 + 50 * minute})
            await trio.sleep(61)
        await cp.transaction_stopped(1, meter_stop=400, reason="Local")
        await trio.testing.wait_all_tasks_blocked()
        spawned = _Spawned()
        encoded: list[str] = []

        def encoding(request, unique_id=None):
            encoded.append(type(request).__name__)
            return rpc_call(request, unique_id)

        monkeypatch.setattr(rpc, "call", encoding)
        trio.lowlevel.add_instrument(spawned)
        try:
            net.listen(*CSMS_ADDRESS, csms)
            await csms.wait_for("StopTransaction")
            await cp.drain(60)
        finally:
            trio.lowlevel.remove_instrument(spawned)
        assert len(csms.received("CP-1", "MeterValues")) == 5
        # the queued payloads go as they are: decoding them checked them (transactionId
        # filled in included); encoding them again would check them a second time
        assert not {"StartTransactionRequest", "MeterValuesRequest"} & set(encoded)
        assert all(m.transaction_id is not None for m in csms.received("CP-1", "MeterValues"))
        # one transmission task for the whole drain: each goes on with the next message
        assert sum("_transmit" in name for name in spawned.names) <= 2
        # seven messages, each sent and answered: their news is taken by the transmission
        # itself (before: a task to take each of the fourteen events); a few tasks remain
        # for the link's news and for news that came while the actor was busy
        assert spawned.names.count("actor outbox") <= 6


async def test_delivered_meter_values_leave_the_file_in_batches_each_delivered_once(
    tmp_path, autojump_clock
):
    """A backlog drained after a long offline transaction: every MeterValues reaches the
    Central System once, in order, and their removals are committed a batch at a time
    (the StartTransaction's and the StopTransaction's at once)."""
    async with running(tmp_path, Core=OFFLINE_SAMPLING) as rig:
        cp, csms, net = rig.cp, rig.csms, rig.net
        await start_offline_transaction(rig)
        for minute in range(1, 41):
            await trio.sleep(60)
            await cp.meter_values(1, {"Energy.Active.Import.Register": 100 + 10 * minute})
        await cp.transaction_stopped(1, meter_stop=600, reason="Local")
        store = cp.station.ctx.store
        queued = store.queued()
        meters = [m.message_id for m in queued if m.action == "MeterValues"]
        assert len(meters) >= 40
        seen: list[str] = []
        store._db.set_trace_callback(seen.append)
        net.listen(*CSMS_ADDRESS, csms)
        await csms.wait_for("StopTransaction")
        assert await cp.drain(60)
        received = [
            ex.unique_id
            for s in csms.all_sessions
            for ex in s.exchanges
            if (ex.direction, ex.kind, ex.action) == ("in", "CALL", "MeterValues")
        ]
        assert received == meters  # each once, in order, with its queued message id
        removals = [s for s in seen if s.startswith("DELETE FROM outbox")]
        # before: one DELETE a message (len(queued) of them)
        assert len(removals) <= len(meters) // 32 + 3
        assert store.queue_length() == 0
        assert store._db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
