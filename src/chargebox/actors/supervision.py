"""Actor groups: the nursery the station owns its actors in, and their address book.

Every actor runs in a group's nursery, so none outlives the block that opened
the group: the tasks that handle an actor's messages while it has some, the
tasks it starts for its work, and the group's timer service (one task while
any of its actors' timers is armed). An idle group runs no task. When an actor
fails (in any of its tasks), the group logs it, calls the `on_failure`
callback (the station tells its host), and re-raises the failure as
ActorFailed naming the actor: the nursery then cancels the other actors and the
error leaves `open_actor_group`. Nothing is swallowed.

Actors are reached by typed address (chargebox.charts.addresses): `deliver`
puts an event into an actor's inbox, `ask` also waits for what became of it
(the outcome and the transition's Reply). Both refuse an event of another
chart than the address's with a ValueError. `set_inputs` changes the inputs
of an actor's chart (SetInputs), in order with its events.

The group also lets a task wait for its actors: until one of them handled
everything sent to it so far (`settle`), or until a condition over their
states holds (`wait_until`, checked after every message any of them handled).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio

from chargebox.actors.actor import Actor, handling_actor
from chargebox.actors.clock import StationClock
from chargebox.actors.inbox import Inbox
from chargebox.actors.messages import Answer, Ask, AskFailed, SetInputs, Sync
from chargebox.actors.timers import TimerService
from chargebox.charts.addresses import Address
from chargebox.charts.events import ChartEvent

E = TypeVar("E", bound=ChartEvent)

log = logging.getLogger(__name__)


class ActorFailed(RuntimeError):
    """An actor ended with an exception (attached as __cause__)."""

    def __init__(self, address: Address[Any], error: BaseException) -> None:
        super().__init__(f"actor {address} failed: {type(error).__name__}: {error}")
        self.address = address


class UnknownAddress(LookupError):
    """A message was sent to an address no actor or sink is registered under."""


class ActorGroup:
    """Actors in one nursery, reachable by address. Create with `open_actor_group`, or in
    a nursery of one's own (the station's) and `end` it before that nursery ends."""

    def __init__(
        self,
        nursery: trio.Nursery,
        on_failure: Callable[[Actor[Any], BaseException], None] | None,
        ask_order: frozenset[tuple[str, str]] | None = None,
    ) -> None:
        self._nursery = nursery
        self._on_failure = on_failure
        #: (chart, chart): which actor may ask which (None: any)
        self._ask_order = ask_order
        #: an actor's Inbox, or a channel registered for an address (a sink)
        self._inboxes: dict[Address[Any], Any] = {}
        #: the timers of every actor of the group
        self.timers = TimerService(nursery)
        #: the clocks of its actors, each with the group's observer of its jumps
        self._clocks: list[tuple[StationClock, Callable[[], None]]] = []
        #: (chart, chart) of every ask one actor made of another (a partial order)
        self.asks: set[tuple[str, str]] = set()
        self.actors: dict[Address[Any], Actor[Any]] = {}
        #: set (and dropped) after every message any actor of the group handled, made
        #: when somebody waits for it
        self._changed: trio.Event | None = None

    def register(self, address: Address[Any], inbox: Any) -> None:
        """Make a channel reachable at `address` (a consumer outside the group, such as the
        station's event stream, or a test's sink)."""
        if address in self._inboxes:
            raise ValueError(f"the address {address} is already taken")
        self._inboxes[address] = inbox

    async def start(self, actor: Actor[Any]) -> Actor[Any]:
        """Start `actor` in the group: it handles its messages from now on (with no task of
        its own while it has none)."""
        self.register(actor.address, actor.inbox)
        self.actors[actor.address] = actor
        actor.group = self
        actor.attach(self._nursery, self.timers, observe_clock=False)
        assert actor.clock is not None
        if all(clock is not actor.clock for clock, _ in self._clocks):
            # one observer per clock for all the group's actors (calendar timers re-armed)
            follow = functools.partial(self._clock_jumped, actor.clock)
            actor.clock.observers.append(follow)
            self._clocks.append((actor.clock, follow))
        await trio.lowlevel.checkpoint()
        return actor

    async def deliver(self, address: Address[E], event: E) -> None:
        """Put `event` into the inbox at `address` (waits while that inbox is full)."""
        address.check(event)
        inbox = self._inbox(address, event)
        if isinstance(inbox, Inbox) and not inbox.has_room() and not inbox.closed:
            sender = handling_actor()
            if sender is not None and self._waits_for(self.actors.get(address), sender):
                # the receiver waits (through its asks) for the sender's handling: waiting
                # for room in its inbox would wait forever; the message goes past the bound
                inbox.put(event)
                await trio.lowlevel.checkpoint()
                return
        await inbox.send(event)

    def post(self, address: Address[E], event: E) -> bool:
        """Put `event` into the actor's inbox at `address` now, with no scheduling point of
        its own, if it has room; False (nothing queued) when it is full, closed or not an
        actor's: then `deliver`. For an actor's handling that tells another actor as its
        last step: its task reaches the drain's scheduling point between two messages, or
        ends, right after, so a step of its own here would only be a hand-off."""
        address.check(event)
        inbox = self._inbox(address, event)
        if not isinstance(inbox, Inbox) or not inbox.has_room():
            return False
        inbox.send_nowait(event)
        return True

    @staticmethod
    def _waits_for(actor: Actor[Any] | None, other: Actor[Any]) -> bool:
        """`actor` waits, through a chain of asks, for `other`'s handling."""
        for _ in range(64):  # asks form a partial order: a chain is short
            if actor is None:
                return False
            actor = actor.waiting_on
            if actor is other:
                return True
        return False

    async def ask(self, address: Address[E], event: E) -> Answer:
        """Deliver `event` and wait until the actor handled it and performed its effects.

        Returns the outcome (the chart took it, or refused it: nothing changed) and
        the value of the Reply its transition recorded. Raises AskFailed when the
        event could not be taken in (the transition was undone) or the actor failed.
        """
        address.check(event)
        ask = Ask(event)
        asker = handling_actor()
        if asker is None:
            await self._inbox(address, event).send(ask)
            await ask.done.wait()
        else:
            # an actor asks another: recorded (the asks must form a partial order), and
            # what the other sends back while it waits never waits for room (deliver)
            pair = (asker.address.events.chart, address.events.chart)
            if self._ask_order is not None and pair not in self._ask_order:
                # asks against the order could wait on each other forever
                raise RuntimeError(f"{asker.address} may not ask {address} (the ask order)")
            self.asks.add(pair)
            asker.waiting_on = self.actors.get(address)
            try:
                await self._inbox(address, event).send(ask)
                await ask.done.wait()
            finally:
                asker.waiting_on = None
        if ask.error is not None:
            raise AskFailed(address, event, ask.error) from ask.error
        return Answer(ask.outcome, ask.reply)

    async def set_inputs(self, address: Address[Any], values: Mapping[str, Any]) -> None:
        """Change inputs of the chart of the actor at `address` (configuration keys, the
        link's state) between two of its events: SetInputs through its inbox."""
        message = SetInputs(values)
        await self._inbox(address, message).send(message)

    async def settle(self, address: Address[Any]) -> None:
        """Wait until the actor at `address` handled everything sent to it so far."""
        actor = self.actors.get(address)
        if actor is not None and actor.idle:
            # nothing queued and nothing being handled: settled already (a Sync through
            # its inbox would start a task to say so)
            await trio.lowlevel.checkpoint()
            return
        sync = Sync()
        await self._inbox(address, sync).send(sync)
        await sync.done.wait()

    def waiting(self, address: Address[Any]) -> int:
        """How many messages wait in the inbox at `address` (not counting one being handled)."""
        inbox = self._inbox(address, None)
        if isinstance(inbox, Inbox):
            return len(inbox)
        return int(inbox.statistics().current_buffer_used)

    def _inbox(self, address: Address[Any], message: Any) -> Any:
        try:
            return self._inboxes[address]
        except KeyError:
            raise UnknownAddress(f"no actor at {address} for {message!r}") from None

    async def wait_until(self, predicate: Callable[[], Any]) -> Any:
        """Wait until `predicate()` is truthy, checked after every message an actor handled."""
        while True:
            value = predicate()
            if value:
                return value
            await self.wait_changed()

    async def wait_changed(self) -> None:
        """Wait until an actor handled a message (or `changed()` was called)."""
        if self._changed is None:
            self._changed = trio.Event()
        await self._changed.wait()

    def changed(self) -> None:
        """Something the waiters of `wait_until` may read changed: they look again."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _clock_jumped(self, clock: StationClock) -> None:
        for actor in self.actors.values():
            if actor.clock is clock:
                actor._clock_jumped()

    def cancel(self) -> None:
        """Stop every actor of the group."""
        self._nursery.cancel_scope.cancel()

    def failed(self, actor: Actor[Any], error: Exception) -> ActorFailed:
        """An actor's task ended with `error`: logged, told, and raised as ActorFailed."""
        log.error("actor %s failed", actor.address, exc_info=error)
        if self._on_failure is not None:
            self._on_failure(actor, error)
        return ActorFailed(actor.address, error)

    def close(self) -> None:
        """The group ends: every actor stops and refuses further messages."""
        for actor in self.actors.values():
            actor.detach()
        for clock, follow in self._clocks:
            clock.observers.remove(follow)
        self._clocks.clear()

    async def end(self) -> None:
        """The group ends (`close`), and its timer service's task with it, by itself."""
        self.close()
        await self.timers.close()


@asynccontextmanager
async def open_actor_group(
    *,
    on_failure: Callable[[Actor[Any], BaseException], None] | None = None,
    ask_order: frozenset[tuple[str, str]] | None = None,
) -> AsyncIterator[ActorGroup]:
    """A group whose actors run while the block runs and are cancelled when it ends;
    `ask_order`: the (chart, chart) pairs of the asks its actors may make of each other
    (an ask outside it fails the asker)."""
    async with trio.open_nursery() as nursery:
        group = ActorGroup(nursery, on_failure, ask_order)
        try:
            yield group
        finally:
            # Actors serve until told otherwise; the block's end is that word. Their tasks
            # end by themselves where they can (each actor's in its own cancel scope, the
            # timers' task once it has none): a Cancelled through the group's nursery
            # would cost every station's shutdown an exception group. What is left (the
            # block ends by an error or a cancellation) is cancelled.
            try:
                await group.end()
            finally:
                nursery.cancel_scope.cancel()
