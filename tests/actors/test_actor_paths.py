"""Model-driven tests through actors: every generated path, on trio with the MockClock.

Each path runs on a fresh copy of the model it starts from (the chart's example, or
one of its seeds).

Each step is sent to the actor as an Ask of its typed event (the class of the step's
trigger, built from the step's parameters), except a timer's trigger: for that
step the test checks the timer is armed and lets the (mock) clock run until it
fires. After every step the actor's state must be the path's, the effects it
performed (to its outlet and to other actors) must be the step's, its armed
timers must match the StartTimer/CancelTimer effects of the step, and the
answer to the ask must carry the step's Reply.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
import trio
import trio.testing

from chargebox.actors import Actor, Ask, SetInputs, StationClock, Sync, open_actor_group
from chargebox.charts import chart, chart_names
from chargebox.charts.addresses import Address
from chargebox.charts.effects import CancelTimer, Reply, Send, StartTimer
from chargebox.charts.events import EVENT_BASES, events_of
from chargebox.charts.paths import Path, generate_paths

# Earlier than every datetime in the charts' examples, so deadlines lie ahead.
START = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
PATHS = {name: generate_paths(chart(name)) for name in chart_names()}


def drain(channel: trio.MemoryReceiveChannel[object]) -> list[object]:
    items = []
    while True:
        try:
            items.append(channel.receive_nowait())
        except trio.WouldBlock:
            return items


async def run_on_actor(path: Path) -> None:
    loaded = chart(path.chart)
    clock = StationClock(START)
    out_send, out_receive = trio.open_memory_channel[object](math.inf)
    peers = {e.to for step in path.steps for e in step.effects if isinstance(e, Send)}
    events = EVENT_BASES[path.chart]
    subject = Address("subject", events=events)
    async with open_actor_group() as group:
        # the other actors: stand-ins that keep what they receive and answer what is asked
        received: list[object] = []
        for address in sorted(peers, key=str):
            group.register(address, StandIn(address, received))  # type: ignore[arg-type]
        actor = await group.start(
            Actor(subject, path.start(loaded.model_class), clock=clock, outlet=out_send)
        )
        for number, step in enumerate(path.steps, start=1):
            where = f"{path} step {number}"
            if step.inputs:
                await actor.inbox.send(SetInputs(step.inputs))
            replies = [e.value for e in step.effects if isinstance(e, Reply)]
            ask = None
            if loaded.spec.trigger(step.trigger).is_timer:
                assert step.trigger in actor.armed_timers, f"{where}: timer not armed"
                # Autojump moves the clock only when every task waits, so by the time
                # this sleep ends the expiry has been handled.
                await trio.sleep_until(actor.armed_timers[step.trigger] + 0.001)
            else:
                # asked, and followed at once by the Sync: a timer the step arms for a moment
                # already past expires after the check
                ask = Ask(events_of(events)[step.trigger](**step.params))
                await actor.inbox.send(ask)
            sync = Sync()
            await actor.inbox.send(sync)
            await sync.done.wait()
            if ask is not None:
                assert ask.outcome is not None and ask.outcome.allowed, where
                assert ask.reply == (replies[-1] if replies else None), where

            assert actor.model.state == step.state, where
            assert actor.refused == 0, f"{where}: {actor.last_refused}"
            performed = drain(out_receive) + received
            received.clear()
            expected = [
                e for e in step.effects if not isinstance(e, StartTimer | CancelTimer | Reply)
            ]
            assert sorted(map(repr, performed)) == sorted(map(repr, expected)), where
            for effect in step.effects:
                if isinstance(effect, StartTimer):
                    deadline = (
                        clock.deadline(effect.at)
                        if effect.at is not None
                        else trio.current_time() + (effect.seconds or 0)
                    )
                    assert actor.armed_timers[effect.name] == pytest.approx(deadline, abs=0.01)
                elif isinstance(effect, CancelTimer):
                    assert effect.name not in actor.armed_timers, where


class StandIn:
    """Another actor's inbox: keeps each event as the Send that delivered it, and answers
    an Ask (a Send with wait) at once."""

    def __init__(self, address: Address[object], received: list[object]) -> None:
        self.address = address
        self.received = received

    async def send(self, message: object) -> None:
        if isinstance(message, Ask):
            self.received.append(Send(self.address, message.event, wait=True))
            message.done.set()
        else:
            self.received.append(Send(self.address, message))


@pytest.mark.parametrize("name", chart_names())
async def test_every_path_runs_through_an_actor(
    name: str, autojump_clock: trio.testing.MockClock
) -> None:
    for path in PATHS[name]:
        await run_on_actor(path)
