"""An idle station runs few tasks: its actors, queues and waits cost none while idle."""

from __future__ import annotations

import re

import trio
import trio.testing

from tests.support import running


def task_names(nursery: trio.Nursery) -> list[str]:
    names = []
    for task in nursery.child_tasks:
        names.append(re.sub(r"\d+", "N", task.name.rsplit(".", 1)[-1]))
        for child in task.child_nurseries:
            names.extend(task_names(child))
    return sorted(names)


async def test_a_registered_idle_station_runs_only_its_connection_and_timers(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        await trio.sleep(3600)  # heartbeats, clock-aligned meter values: all done by now
        await trio.testing.wait_all_tasks_blocked()
        assert task_names(rig.cp.station.ctx.nursery) == [
            "_own_connection",  # the websocket and its reader (trio-websocket's)
            "_reader_task",
            "_serve",  # OCPP-J on the websocket (it answers the Central System's CALLs
            # and watches the deadline of the CALL on the wire in tasks that run only
            # while there is one)
            "timers",  # every armed timer of its actors and alarms (the heartbeat's)
        ]
        # (no task of the station's own: its actors run in its nursery, which the engine's
        # block holds, instead of a nursery of their own held by a task)


def nursery_owners(nursery: trio.Nursery) -> list[str]:
    """The tasks that hold a nursery open, one entry per nursery (below `nursery`)."""
    owners = []
    for task in nursery.child_tasks:
        for child in task.child_nurseries:
            owners.append(re.sub(r"\d+", "N", task.name.rsplit(".", 1)[-1]))
            owners.extend(nursery_owners(child))
    return sorted(owners)


async def test_a_registered_idle_station_keeps_few_nurseries(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        await trio.sleep(3600)
        await trio.testing.wait_all_tasks_blocked()
        assert nursery_owners(rig.cp.station.ctx.nursery) == [
            "_own_connection",  # the websocket's reader task (trio-websocket's)
            "_serve",  # the answering of the Central System's CALLs, while there are some
        ]
        # the actors (their group), the queues' work and the services run in the station's
        # own nursery
