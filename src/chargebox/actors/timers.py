"""The timers of a group of actors: one heap of deadlines, one task while any is armed.

A task per armed timer costs a few KB for a timer that mostly waits (a
heartbeat, a reservation's expiry). The service keeps every armed timer of a
station's actors in a heap ordered by deadline, and one task sleeps until the
earliest; at its deadline the timer's expiry (`TimerExpired`) goes into its
actor's inbox past the inbox's bound (`Inbox.put`: at most one per armed
timer, so the service never waits for an actor). The task ends when no timer
is armed and starts again with the next one.

An actor cancels or re-arms a timer by dropping it from its own table or
giving it a new generation: the heap's entry for the old one is then stale
and skipped when it comes up (the actor checks the generation again when it
handles the expiry). A timer due at a calendar time is re-armed by its actor
when the station clock jumps (a new generation, a new trio deadline).
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Any, Protocol

import trio

from chargebox.actors.messages import TimerExpired

if TYPE_CHECKING:
    from chargebox.actors.inbox import Inbox


class TimerOwner(Protocol):
    """What the service needs of an actor: its inbox and whether a timer is still armed."""

    inbox: Inbox

    def timer_armed(self, name: str, generation: int) -> bool: ...


class TimerService:
    """Armed timers of many actors, served by one task started in `nursery` when needed."""

    def __init__(self, nursery: trio.Nursery, *, name: str = "timers") -> None:
        self._nursery = nursery
        self._name = name
        self._heap: list[tuple[float, int, TimerOwner, str, int]] = []
        self._order = itertools.count()
        self._running = False
        #: the sleep of the serving task and the deadline it sleeps until
        self._sleep: trio.CancelScope | None = None
        self._sleeping_until = float("inf")
        #: compact the heap (drop stale entries) once it grows past this
        self._compact_at = 64

    def __len__(self) -> int:
        return len(self._heap)

    def arm(self, owner: TimerOwner, name: str, deadline: float, generation: int) -> None:
        """Put `owner`'s timer `name` (of `generation`) on the heap, due at trio time `deadline`."""
        heapq.heappush(self._heap, (deadline, next(self._order), owner, name, generation))
        if len(self._heap) > self._compact_at:
            self._compact()
        if not self._running:
            self._running = True
            self._nursery.start_soon(self._serve, name=self._name)
        elif deadline < self._sleeping_until and self._sleep is not None:
            self._sleep.cancel()  # wake up for the earlier deadline

    def disarmed(self, deadline: float) -> None:
        """A timer due at `deadline` was cancelled: if the task sleeps for it, it looks again
        (so that a clock that jumps to the next deadline, MockClock's, skips the stale one)."""
        if deadline == self._sleeping_until and self._sleep is not None:
            self._sleep.cancel()

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[2].timer_armed(entry[3], entry[4])]
        heapq.heapify(self._heap)
        self._compact_at = max(64, 2 * len(self._heap))

    async def _serve(self) -> None:
        try:
            while self._heap:
                deadline, _, owner, name, generation = self._heap[0]
                if not owner.timer_armed(name, generation):
                    heapq.heappop(self._heap)
                    continue
                # a deadline already past is a checkpoint too: an expiry never overtakes
                # what was sent to the actor before its timer came due
                with trio.CancelScope() as self._sleep:
                    self._sleeping_until = deadline
                    await trio.sleep_until(deadline)
                woken = self._sleep.cancelled_caught  # an earlier deadline, or a cancel
                self._sleep, self._sleeping_until = None, float("inf")
                if woken:
                    continue
                now = trio.current_time()
                while self._heap and self._heap[0][0] <= now:
                    _, _, owner, name, generation = heapq.heappop(self._heap)
                    if owner.timer_armed(name, generation):
                        self._expire(owner, name, generation)
        finally:
            self._running = False
            self._sleep, self._sleeping_until = None, float("inf")

    @staticmethod
    def _expire(owner: TimerOwner, name: str, generation: int) -> None:
        inbox: Any = owner.inbox
        if inbox.closed:
            return  # the actor stopped: nobody handles its timers any more
        inbox.put(TimerExpired(name, generation))
