"""A reading the host reports at the very moment of a sample is written with that sample.

Both must be on disk before the engine acknowledges them: the reading before
`ChargePoint.meter_values` returns, the MeterValues before the outbox hears of
it. Decided at the same moment, they share one synced commit: the host's call
waits (a few scheduling steps) for the sample's commit, which carries the new
reading. A reading at another moment is written on its own, as before.
"""

from __future__ import annotations

import sqlite3

import trio

from tests.support import running

ENERGY = "Energy.Active.Import.Register"
SAMPLING = {"Core": {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}}


def commits_of(store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(lambda s: seen.append(s) if s == "BEGIN IMMEDIATE" else None)
    return seen


def on_disk(store) -> tuple[int, int]:
    """The transaction's last reading and the connector's register, read by another
    connection: what a restart after a power cut would find."""
    db = sqlite3.connect(str(store.path))
    try:
        (last_meter,) = db.execute("SELECT last_meter FROM transactions").fetchone()
        (register,) = db.execute("SELECT wh FROM registers WHERE connector = 1").fetchone()
        return last_meter, register
    finally:
        db.close()


async def started(rig) -> tuple[object, float]:
    await rig.cp.session_started(1)
    await rig.cp.transaction_started(1, meter_start=100, id_tag="TAG-1")
    await rig.csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)
    await rig.cp.drain(60)
    tx = rig.cp.station.transactions[1]
    return tx, tx.armed_timers["sample_due"]


async def test_a_reading_at_the_moment_of_a_sample_shares_its_commit(
    tmp_path, autojump_clock
) -> None:
    async with running(tmp_path, **SAMPLING) as rig:
        store = rig.cp.station.ctx.store
        tx, due = await started(rig)
        for minute in range(1, 4):
            commits = commits_of(store)
            await trio.sleep_until(due)
            await rig.cp.meter_values(1, {ENERGY: 100 + minute * 50})
            # on disk when the call returns, with the sample's MeterValues
            assert on_disk(store) == (100 + minute * 50, 100 + minute * 50)
            await rig.csms.wait_for("MeterValues", count=minute)
            await rig.cp.drain(60)
            assert len(commits) == 1  # the sample's, which carries the reading
            due = tx.armed_timers["sample_due"]
        sent = rig.csms.received("CP-1", "MeterValues")
        assert [int(m.meter_value[0].sampled_value[0].value) for m in sent] == [150, 200, 250]


async def test_a_reading_between_samples_is_written_before_the_call_returns(
    tmp_path, autojump_clock
) -> None:
    async with running(tmp_path, **SAMPLING) as rig:
        store = rig.cp.station.ctx.store
        _tx, due = await started(rig)
        await trio.sleep_until(due - 30)
        commits = commits_of(store)
        before = trio.current_time()
        await rig.cp.meter_values(1, {ENERGY: 130})
        assert trio.current_time() == before  # no wait: no sample is due
        assert len(commits) == 1
        assert on_disk(store)[0] == 130
