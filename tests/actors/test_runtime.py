"""The runtime's costs: an idle actor runs no task, a group's timers share one, inboxes are
bounded without losing a message."""

from __future__ import annotations

import gc

import pytest
import trio
import trio.testing

from chargebox.actors import Actor, open_actor_group
from chargebox.actors.inbox import Inbox
from chargebox.actors.timers import TimerService
from chargebox.charts.addresses import Address
from chargebox.charts.effects import StartTimer
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events.outbox import Enqueued
from chargebox.charts.models import ConnectorModel


def tasks_of(group) -> list[str]:
    return sorted(task.name for task in group._nursery.child_tasks)


def sink() -> trio.MemorySendChannel[object]:
    send, _receive = trio.open_memory_channel[object](1000)
    return send


async def test_idle_actors_run_no_task() -> None:
    async with open_actor_group() as group:
        actors = [
            await group.start(Actor(Address.connector(c), ConnectorModel(c), outlet=sink()))
            for c in (1, 2, 3)
        ]
        await trio.testing.wait_all_tasks_blocked()
        assert tasks_of(group) == []
        await actors[1].inbox.send(connector_events.UsageInitiated())
        assert tasks_of(group) == ["actor connector/2"]  # a task while it has work
        await group.settle(Address.connector(2))
        await trio.testing.wait_all_tasks_blocked()
        assert actors[1].model.state == "Preparing"
        assert tasks_of(group) == []


async def test_the_timers_of_a_group_share_one_task(autojump_clock) -> None:
    async with open_actor_group() as group:
        actors = [
            await group.start(Actor(Address.connector(c), ConnectorModel(c), outlet=sink()))
            for c in (1, 2, 3)
        ]
        for seconds, actor in zip((30, 10, 20), actors, strict=True):
            actor._arm(StartTimer("fault_cleared", seconds=seconds))
        await trio.testing.wait_all_tasks_blocked()
        assert tasks_of(group) == ["timers"]
        begin = trio.current_time()
        expired: list[tuple[int, float]] = []
        for actor in actors:
            actor.observers.append(
                lambda a, outcome: expired.append(
                    (a.model.connector_id, trio.current_time() - begin)
                )
            )
        await trio.sleep(31)
        # each at its deadline (the trigger is refused in Available: counted)
        assert expired == [(2, 10), (3, 20), (1, 30)]
        assert [a.refused for a in actors] == [1, 1, 1]
        assert tasks_of(group) == []


async def test_a_cancelled_timer_leaves_no_task_waiting_for_it(autojump_clock) -> None:
    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=sink()))
        actor._arm(StartTimer("fault_cleared", seconds=3600))
        await trio.testing.wait_all_tasks_blocked()
        assert tasks_of(group) == ["timers"]
        actor._disarm("fault_cleared")
        await trio.testing.wait_all_tasks_blocked()
        assert tasks_of(group) == []
        assert trio.current_time() < 3600


async def test_a_full_inbox_makes_its_senders_wait_in_order_and_loses_nothing() -> None:
    inbox = Inbox(2)
    inbox.send_nowait("a")
    await inbox.send("b")
    with pytest.raises(trio.WouldBlock):
        inbox.send_nowait("c")
    sent: list[str] = []

    async def sender(message: str) -> None:
        await inbox.send(message)
        sent.append(message)

    async with trio.open_nursery() as nursery:
        for message in ("c", "d", "e"):
            nursery.start_soon(sender, message)
            await trio.testing.wait_all_tasks_blocked()
        assert sent == []
        taken = [inbox.take()]
        await trio.testing.wait_all_tasks_blocked()
        assert sent == ["c"]
        # a newcomer does not pass those waiting
        with pytest.raises(trio.WouldBlock):
            inbox.send_nowait("f")
        while len(taken) < 5:
            taken.append(inbox.take())
            await trio.testing.wait_all_tasks_blocked()
    assert taken == ["a", "b", "c", "d", "e"]
    assert sent == ["c", "d", "e"]
    inbox.put("past the bound")  # a timer's expiry: never waits
    inbox.put("and another")
    assert len(inbox) == 2
    inbox.close()
    with pytest.raises(trio.BrokenResourceError):
        await inbox.send("late")
    with pytest.raises(ValueError, match="at least one"):
        Inbox(0)


async def test_a_post_queues_at_once_or_not_at_all() -> None:
    """`post` queues an event with no scheduling point when the inbox has room; a full
    inbox, a closed one or a sink's channel takes nothing (the sender then delivers)."""
    async with open_actor_group() as group:
        actor = Actor(Address.connector(1), ConnectorModel(1), outlet=sink(), inbox_size=2)
        await group.start(actor)
        address = Address.connector(1)
        with trio.testing.assert_no_checkpoints():
            assert group.post(address, connector_events.UsageInitiated())
            assert group.post(address, connector_events.UsageInitiated())
            assert not group.post(address, connector_events.UsageInitiated())  # full
        assert len(actor.inbox) == 2
        await group.settle(address)
        assert actor.model.state == "Preparing"
        assert len(actor.inbox) == 0  # both handled
        with pytest.raises(ValueError):
            group.post(address, Enqueued())  # an event of another chart
        group.register(Address.outbox(), sink())
        assert not group.post(Address.outbox(), Enqueued())  # a sink: not an actor's inbox
        actor.stop()
        assert not group.post(address, connector_events.UsageInitiated())  # closed


async def test_senders_waiting_on_a_stopped_actor_hear_it() -> None:
    inbox = Inbox(1)
    inbox.send_nowait("a")
    with pytest.RaisesGroup(trio.BrokenResourceError):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(inbox.send, "b")
            await trio.testing.wait_all_tasks_blocked()
            inbox.close()


class Asker(Actor):
    """Asks connector/2 to handle an event (as a transaction asks its connector)."""

    async def handle(self, message):
        if isinstance(message, connector_events.UsageInitiated):
            assert self.group is not None
            await self.group.ask(Address.connector(2), connector_events.UsageInitiated())
        return await super().handle(message)


class Replier(Actor):
    """While handling the ask, sends the asker more than its inbox holds."""

    async def handle(self, message):
        assert self.group is not None
        for _ in range(5):
            await self.group.deliver(Address.connector(1), connector_events.ChargingStarted())
        return await super().handle(message)


async def test_an_actor_never_waits_for_room_in_the_inbox_of_one_that_waits_for_it(
    autojump_clock,
) -> None:
    with trio.fail_after(60):  # a deadlock would stop here
        async with open_actor_group() as group:
            asker = await group.start(
                Asker(Address.connector(1), ConnectorModel(1), outlet=sink(), inbox_size=2)
            )
            await group.start(Replier(Address.connector(2), ConnectorModel(2), outlet=sink()))
            handled: list[str] = []
            asker.observers.append(lambda a, outcome: handled.append(type(outcome).__name__))
            await asker.inbox.send(connector_events.UsageInitiated())
            await trio.testing.wait_all_tasks_blocked()
            # nothing lost, in order: the ask's event, then the five sent back meanwhile
            assert len(handled) == 6
            assert asker.model.state == "Charging"
            assert group.asks == {("connector", "connector")}


def test_the_asks_between_a_stations_actors_form_the_documented_order() -> None:
    from chargebox.actors.assembly import ASK_ORDER

    charts = {chart for pair in ASK_ORDER for chart in pair}
    # a partial order: no chart asks one that (through others) asks it
    reach = {chart: {b for a, b in ASK_ORDER if a == chart} for chart in charts}
    for _ in charts:
        for chart in charts:
            reach[chart] |= {c for b in reach[chart] for c in reach[b]}
    assert all(chart not in reach[chart] for chart in charts)


async def test_news_from_an_actors_own_task_is_handled_in_that_task_when_the_actor_is_idle() -> (
    None
):
    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=sink()))
        handled_in: list[str] = []
        actor.observers.append(
            lambda a, outcome: handled_in.append(trio.lowlevel.current_task().name)
        )
        done = trio.Event()

        async def transmission() -> None:
            await actor.take_here(connector_events.UsageInitiated())
            done.set()

        actor._start_soon(transmission, name="transmission")
        await done.wait()
        assert actor.model.state == "Preparing"
        assert handled_in == ["transmission"]  # no task was started to take it


async def test_news_for_a_busy_actor_waits_its_turn_behind_the_queued_messages() -> None:
    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=sink()))
        states: list[str] = []
        actor.observers.append(lambda a, outcome: states.append(a.model.state))
        done = trio.Event()

        async def transmission() -> None:
            actor.inbox.send_nowait(connector_events.UsageInitiated())  # queued first
            await actor.take_here(connector_events.UsageEnded())
            done.set()

        actor._start_soon(transmission, name="transmission")
        await done.wait()
        await group.settle(Address.connector(1))
        await trio.testing.wait_all_tasks_blocked()
        # in the order they came: the other way round, UsageEnded would be refused
        assert states[:2] == ["Preparing", "Available"]
        assert actor.model.state == "Available"


class Deciding(Actor[ConnectorModel]):
    """An actor whose every message decides work that goes on after it (a transmission)."""

    def __init__(self) -> None:
        super().__init__(Address.connector(1), ConnectorModel(1), outlet=sink())
        self.worked_in: list[tuple[str, str]] = []  # (state it was decided in, task)

    async def handle(self, message):
        outcome = await super().handle(message)
        if outcome is not None:  # an event of its chart (not the group's Sync)
            self.start_after(self.work, self.model.state)
        return outcome

    async def work(self, decided_in: str) -> None:
        await trio.lowlevel.checkpoint()
        self.worked_in.append((decided_in, trio.lowlevel.current_task().name))


async def test_work_decided_in_the_handling_runs_in_that_task_once_the_inbox_is_empty() -> None:
    async with open_actor_group() as group:
        actor = await group.start(Deciding())
        await actor.inbox.send(connector_events.UsageInitiated())
        await trio.testing.wait_all_tasks_blocked()  # (settle's Sync would be a message)
        assert actor.model.state == "Preparing"
        # no task was started for the work: the handling's task went on with it
        assert actor.worked_in == [("Preparing", "actor connector/1")]
        assert tasks_of(group) == []


async def test_work_decided_while_messages_wait_does_not_wait_for_them() -> None:
    async with open_actor_group() as group:
        actor = await group.start(Deciding())
        actor.inbox.send_nowait(connector_events.UsageInitiated())
        actor.inbox.send_nowait(connector_events.UsageEnded())
        await trio.testing.wait_all_tasks_blocked()  # (settle's Sync would be a message)
        assert actor.model.state == "Available"
        # the first message's work in a task of its own (a message waited), the last's in
        # the handling task
        assert sorted(actor.worked_in) == [
            ("Available", "actor connector/1"),
            ("Preparing", "tests.actors.test_runtime.Deciding.work"),
        ]
        assert tasks_of(group) == []


async def test_a_closed_timer_service_ends_its_task_by_itself(autojump_clock) -> None:
    expired: list[str] = []

    class Owner:
        def timer_armed(self, name: str, generation: int) -> bool:
            return True

        def timer_expired(self, name: str, generation: int) -> None:
            expired.append(name)

    async with trio.open_nursery() as nursery:
        service = TimerService(nursery)
        service.arm(Owner(), "heartbeat_due", trio.current_time() + 3600, 1)
        await trio.testing.wait_all_tasks_blocked()
        assert [task.name for task in nursery.child_tasks] == ["timers"]
        await service.close()
        # the task returned: nothing cancelled the nursery (the end of a station's group,
        # where a cancellation through its nurseries costs far more)
        assert not nursery.child_tasks
        assert not nursery.cancel_scope.cancel_called
        await service.close()  # (again: nothing to do)
    assert expired == []
    assert trio.current_time() < 3600


def test_an_actor_costs_the_collector_three_objects_until_it_needs_more() -> None:
    """The actor, its inbox and its chart's model: its observers and the work its handling
    leaves for later are lists made when first needed (a fleet keeps 17 actors a station,
    and its garbage collections walk every object they keep)."""

    def tracked() -> int:
        gc.collect()
        return len(gc.get_objects())

    actors = [Actor(Address.connector(1), ConnectorModel(1)) for _ in range(10)]
    before = tracked()
    actors += [Actor(Address.connector(1), ConnectorModel(1)) for _ in range(100)]
    assert (tracked() - before) / 100 < 3.5
    seen: list[str] = []
    actors[0].observers.append(lambda actor, outcome: seen.append(actor.model.state))
    assert len(actors[0].observers) == 1


async def test_settling_an_idle_actor_starts_no_task() -> None:
    spawned: list[str] = []

    class Spawned(trio.abc.Instrument):
        def task_spawned(self, task: trio.lowlevel.Task) -> None:
            spawned.append(task.name)

    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=sink()))
        await trio.testing.wait_all_tasks_blocked()
        instrument = Spawned()
        trio.lowlevel.add_instrument(instrument)
        try:
            await group.settle(Address.connector(1))  # nothing to wait for
            assert spawned == []
            await actor.inbox.send(connector_events.UsageInitiated())
            await group.settle(Address.connector(1))  # its message handled first
            assert actor.model.state == "Preparing"
            assert spawned == ["actor connector/1"]
        finally:
            trio.lowlevel.remove_instrument(instrument)
