"""A sample's handling takes one task step: the outbox hears of the queued MeterValues
without a task switch of its own (ActorGroup.post), once the handling is done."""

from __future__ import annotations

from collections import Counter

import trio

from tests.support import running

SAMPLING = {"Core": {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}}


class Steps(trio.abc.Instrument):
    """Task steps and spawns per task name."""

    def __init__(self) -> None:
        self.steps: Counter[str] = Counter()
        self.spawns: Counter[str] = Counter()

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.spawns[task.name] += 1

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps[task.name] += 1


async def test_a_sample_takes_one_step_of_the_transaction_actor(tmp_path, autojump_clock):
    async with running(tmp_path, **SAMPLING) as rig:
        await rig.cp.session_started(1)
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 100})
        await rig.cp.transaction_started(1, meter_start=100, id_tag="TAG-1")
        await rig.csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        await rig.cp.drain(60)
        steps = Steps()
        trio.lowlevel.add_instrument(steps)
        try:
            for minute in range(1, 6):
                await rig.csms.wait_for("MeterValues", count=minute)
        finally:
            trio.lowlevel.remove_instrument(steps)
        name = "actor transaction/1"
        samples = steps.spawns[name]
        assert samples >= 4  # a task for each sample's expiry
        # each sample is stored and queued in the step its task starts with, then the task
        # ends: telling the outbox took a step of its own before
        assert steps.steps[name] == samples
        sent = rig.csms.received("CP-1", "MeterValues")
        assert len(sent) == 5
