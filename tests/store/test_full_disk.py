"""A full disk: what cannot be stored is not taken in, the Central System hears it, and it heals.

The disk is filled at the store layer: the SQLite connection answers every
write with sqlite3.OperationalError "database or disk is full" while `full`.
(test_full_filesystem.py does the same on a real, small filesystem.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import trio

from chargebox.station import StoreWriteError
from tests.support import running

ENERGY = "Energy.Active.Import.Register"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "COMMIT")


class FillingDisk:
    """A sqlite3 connection on a disk that can fill up: writes fail while `full`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.full = False
        self.refused = 0

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if self.full and sql.lstrip().upper().startswith(WRITES):
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def fill(rig) -> FillingDisk:
    store = rig.cp.station.ctx.store
    disk = FillingDisk(store._db)
    store._db = disk
    return disk


def connector0(csms) -> list[tuple[str, str]]:
    return [
        (str(s.status), str(s.error_code))
        for s in csms.received("CP-1", "StatusNotification")
        if s.connector_id == 0
    ]


async def authorized(rig, id_tag: str = "TAG-1") -> None:
    await rig.cp.session_started(1)
    await rig.cp.token_presented(id_tag, 1)
    await rig.evse.wait_for("authorize", 1, id_tag)


async def test_a_start_that_cannot_be_stored_is_refused_reported_and_then_taken(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await authorized(rig)
        disk = fill(rig)
        disk.full = True
        with pytest.raises(StoreWriteError) as refused:
            await cp.transaction_started(1, meter_start=1000)
        store_path = tmp_path / "data" / "CP-1.db"
        assert str(refused.value) == (
            f"the store {store_path} cannot be written (database or disk is full): "
            "the StartTransaction was not saved"
        )
        # not taken in: the transaction still waits for its start, nothing is queued
        assert cp.transaction_state(1) == "Authorized"
        assert cp.station.ctx.store.queue_length() == 0
        # the Central System hears it: InternalError on connector 0 (still Available)
        # and the critical security event MemoryExhaustion, sent without queuing
        await csms.wait_until(lambda: ("Available", "InternalError") in connector0(csms))
        event = await csms.wait_for(
            "SecurityEventNotification", lambda e: e.type == "MemoryExhaustion"
        )
        assert event.tech_info == "data store: database or disk is full"
        # the engine runs on and the disk has room again: the host's next try is taken
        disk.full = False
        await cp.transaction_started(1, meter_start=1000)
        start = await csms.wait_for("StartTransaction")
        assert (start.id_tag, start.meter_start) == ("TAG-1", 1000)
        await csms.wait_until(lambda: connector0(csms)[-1] == ("Available", "NoError"))
        assert connector0(csms).count(("Available", "InternalError")) == 1
        await cp.resumed(1)
        await cp.transaction_stopped(1, meter_stop=1500, reason="Local")
        assert (await csms.wait_for("StopTransaction")).meter_stop == 1500


async def test_a_refused_start_keeps_its_connection_timeout(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"ConnectionTimeOut": 30}) as rig:
        cp = rig.cp
        await authorized(rig)
        fill(rig).full = True
        await trio.sleep(20)
        with pytest.raises(StoreWriteError):
            await cp.transaction_started(1, meter_start=0)
        # the transition was undone with its timer: ConnectionTimeOut still ends the wait
        await trio.sleep(11)
        assert ("withdraw_authorization", 1) in rig.evse.calls
        assert cp.transaction_state(1) == "Idle" and cp.status(1) == "Available"


async def test_a_stop_that_cannot_be_stored_is_refused_and_the_transaction_goes_on(
    tmp_path, autojump_clock
):
    core = {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}
    async with running(tmp_path, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await authorized(rig)
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        disk = fill(rig)
        disk.full = True
        with pytest.raises(StoreWriteError, match="the StopTransaction was not saved"):
            await cp.transaction_stopped(1, meter_stop=700, reason="Local")
        assert cp.transaction_state(1) == "Active" and cp.status(1) == "Charging"
        # readings are still taken (only their copy for a power cut is missing) and the
        # sampled MeterValues, which cannot be queued, go out at once
        await cp.meter_values(1, {ENERGY: 750})
        await trio.sleep(60)
        sampled = await csms.wait_for("MeterValues")
        assert sampled.transaction_id == cp.transaction_id(1)
        assert sampled.meter_value[0].sampled_value[0].value == "750"
        assert cp.station.ctx.store.queue_length() == 0
        disk.full = False
        await cp.transaction_stopped(1, meter_stop=800, reason="Local")
        stop = await csms.wait_for("StopTransaction")
        assert (stop.meter_stop, stop.reason) == (800, "Local")
        assert cp.status(1) == "Finishing"


async def test_what_was_already_taken_in_is_written_once_there_is_room(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        store = cp.station.ctx.store
        await authorized(rig)
        await cp.transaction_started(1, meter_start=0)  # stored
        disk = fill(rig)
        disk.full = True
        # delivered meanwhile: its removal from the queue and the transactionId wait
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        await cp.settled("outbox")
        assert disk.refused >= 2 and store.deferred_writes >= 2
        assert store.queue_length() == 0 and store.head() is None
        tx_id = cp.transaction_id(1)
        assert store.transaction_id_of(cp.station.transactions[1].ref) == tx_id
        disk.full = False
        await cp.meter_values(1, {ENERGY: 10})  # the next write takes the waiting ones along
        assert store.deferred_writes == 0 and store.failure is None
        assert store.queued() == [] and store.transaction_id_of(cp.station.transactions[1].ref)
        await cp.transaction_stopped(1, meter_stop=20)
        stop = await csms.wait_for("StopTransaction")
        assert stop.transaction_id == tx_id
        assert len(csms.received("CP-1", "StartTransaction")) == 1


async def test_while_offline_the_error_is_reported_on_reconnection(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await authorized(rig)
        await rig.cut()
        await cp.wait_until(lambda: not cp.registered)
        fill(rig).full = True
        with pytest.raises(StoreWriteError):
            await cp.transaction_started(1, meter_start=0)
        # back online: the statuses sent after the registration say it
        await csms.wait_until(lambda: cp.registered)
        await csms.wait_until(lambda: ("Available", "InternalError") in connector0(csms))


async def test_a_csms_change_that_cannot_be_stored_is_answered_internal_error(
    tmp_path, autojump_clock
):
    from chargebox.csms.server import CallErrorReceived
    from chargebox.ocpp.v16 import ChangeAvailabilityRequest

    async with running(tmp_path) as rig:
        fill(rig).full = True
        session = await rig.session()
        with pytest.raises(CallErrorReceived) as answer:
            await session.call(ChangeAvailabilityRequest(connector_id=1, type="Inoperative"))
        assert str(answer.value.code) == "InternalError"
        assert rig.cp.status(1) == "Available"  # nothing changed that was not stored
        assert rig.cp.station.ctx.store.inoperative_connectors() == set()
