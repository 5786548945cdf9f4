"""A station that ends: its websocket closes properly, then its tasks end by themselves."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import trio
import trio.testing

import chargebox
from tests.support import running

ENGINE = chargebox.__path__[0]


def cancellations_in_the_engine(seen: list[str]) -> Any:
    """A trace function noting every trio.Cancelled that passes through the engine's code
    (the station's and the actors'; the development CSMS and the network are not the
    station's)."""

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "exception" and isinstance(arg[1], trio.Cancelled):
            path = frame.f_code.co_filename
            if path.startswith(ENGINE) and "/csms/" not in path and "netsim" not in path:
                seen.append(f"{path[len(ENGINE) :]}:{frame.f_code.co_name}")
        return trace

    return trace


class Spawned(trio.abc.Instrument):
    def __init__(self) -> None:
        self.names: list[str] = []

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        if "/csms/" not in task.coro.cr_code.co_filename:  # (the Central System's are not)
            self.names.append(task.name.rsplit(".", 1)[-1])


async def test_an_ending_station_wakes_no_actor_for_the_links_end(tmp_path, autojump_clock):
    handled: list[str] = []
    spawned = Spawned()
    async with running(tmp_path) as rig:
        await trio.sleep(3600)
        await trio.testing.wait_all_tasks_blocked()
        for actor in rig.cp.station.actors.all():
            actor.observers.append(lambda a, outcome: handled.append(a.address.events.chart))
        trio.lowlevel.add_instrument(spawned)
    trio.lowlevel.remove_instrument(spawned)
    # the link handled the close (and the wait for it); the station's actor, the outbox
    # and the transactions heard nothing of the link's end, nor did the smart charging
    # limits: the engine ended with it
    assert set(handled) == {"link"}
    assert spawned.names == ["actor link"]
    # the websocket was closed properly all the same: code 1000, the Central System's echo
    (session,) = rig.csms.sessions.values()
    assert session.ws.closed is not None
    assert session.ws.closed.code == 1000


async def test_an_ending_station_ends_its_tasks_without_cancelling_them(tmp_path, autojump_clock):
    seen: list[str] = []
    try:
        async with running(tmp_path):
            await trio.sleep(3600)
            await trio.testing.wait_all_tasks_blocked()
            sys.settrace(cancellations_in_the_engine(seen))
    finally:
        sys.settrace(None)
    # the station's task, its actors' timers and its websocket's tasks returned: no
    # Cancelled unwound through the station's nurseries (the timers' task is woken from
    # its sleep by its own cancel scope, caught where it sleeps)
    assert set(seen) <= {"/actors/timers.py:_serve"}


async def test_an_engine_cancelled_from_outside_ends_at_once(tmp_path, autojump_clock):
    """Its actors are cancelled with it: no close can run through them, and the engine does
    not wait CLOSE_TIMEOUT for one."""
    with trio.CancelScope() as outside:
        async with running(tmp_path):
            await trio.sleep(3600)
            begin = trio.current_time()
            outside.cancel()
            await trio.sleep_forever()
    assert trio.current_time() - begin < 1
