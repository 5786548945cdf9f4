"""A station that ends while delivered MeterValues' removals still wait for a commit: the
store's close writes them (or keeps them for a resend) without reaching back into the ended
station, the file and the message log are closed, and nothing is raised. A store or a
clock that outlives the station keeps none of its callbacks."""

from __future__ import annotations

import sqlite3

import pytest
import trio

from chargebox.actors.clock import StationClock
from chargebox.charts.addresses import Address
from chargebox.charts.events.outbox import Enqueued
from chargebox.features.smartcharging import SmartCharging
from chargebox.store import StoreWriteError
from chargebox.store.memory import MemoryStore
from tests.store.test_full_disk import FillingDisk
from tests.support import running

METER = {
    "connectorId": 1,
    "meterValue": [{"timestamp": "2025-03-01T00:00:00Z", "sampledValue": [{"value": "1"}]}],
}


async def deliver_one(rig) -> None:
    """A MeterValues queued and delivered: its removal waits for the next commit."""
    store = rig.cp.station.ctx.store
    store.enqueue("MeterValues", dict(METER), None)
    await rig.cp.station.deliver(Address.outbox(), Enqueued())
    await rig.cp.station.wait_until(lambda: store.queue_length() == 0)
    await trio.sleep(1)
    assert store._pending  # waiting


def is_open(store) -> bool:
    db = store._db._db if isinstance(store._db, FillingDisk) else store._db
    try:
        db.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return False
    return True


def queued_in_file(store) -> int:
    """The queue's length in the file, opened again."""
    reopened = type(store)(store.path)
    try:
        return reopened.queue_length()
    finally:
        reopened.close()


async def test_the_disk_full_at_the_end(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        store = rig.cp.station.ctx.store
        await deliver_one(rig)
        disk = FillingDisk(store._db)
        store._db = disk
        disk.full = True  # the disk fills just before the station ends
    assert disk.refused  # the close tried to commit the removals
    assert not is_open(store)
    # the removal stays undone: the message is sent again after a restart
    assert queued_in_file(store) == 1


async def test_the_disk_writable_again_at_the_end(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        store = rig.cp.station.ctx.store
        store.enqueue("MeterValues", dict(METER), None)  # queued, not yet told
        disk = FillingDisk(store._db)
        store._db = disk
        disk.full = True
        with pytest.raises(StoreWriteError):
            store.set_meta("probe", "1")
        assert store.failure is not None
        # delivered while the disk is full: its removal waits
        await rig.cp.station.deliver(Address.outbox(), Enqueued())
        await rig.cp.station.wait_until(lambda: store.queue_length() == 0)
        await trio.sleep(1)
        assert store._pending and store.failure is not None
        disk.full = False  # and the disk has room again when the station ends
    # the close's commit is the first that worked again: heard by nobody (the station ended)
    assert store.failure is None
    assert not is_open(store)
    assert queued_in_file(store) == 0


async def test_a_store_and_a_clock_that_outlive_their_stations_keep_none_of_them(
    tmp_path, autojump_clock
):
    store, clock = MemoryStore(), StationClock()
    before = (len(store.observers), len(clock.observers))
    for _ in range(3):  # as a fleet's station runs again after a Reset
        async with running(tmp_path, store=store, clock=clock):
            assert len(store.observers) > before[0]
    assert (len(store.observers), len(clock.observers)) == before


async def test_a_station_that_could_not_be_built_leaves_nothing_on_them(
    tmp_path, autojump_clock, monkeypatch
):
    store, clock = MemoryStore(), StationClock()

    def fails(self) -> None:
        raise OSError("the stored profiles could not be read")

    monkeypatch.setattr(SmartCharging, "_load", fails)
    with pytest.RaisesGroup(OSError, flatten_subgroups=True, allow_unwrapped=True):
        async with running(tmp_path, store=store, clock=clock):
            pass
    assert (store.observers, clock.observers) == ([], [])
