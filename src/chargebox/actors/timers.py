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

An `Alarm` is the same for work that is not an actor's (the station's
clock-aligned meter values, smart charging's next limit, the certificate's
renewal): its work runs in a task of its own when it is due, and between two
runs it is only an entry of the heap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

#: generations of the timers: unique in the process
GENERATIONS = itertools.count(1)


class TimerOwner(Protocol):
    """Who arms timers: it says whether one is still armed, and hears its expiry."""

    def timer_armed(self, name: str, generation: int) -> bool: ...

    def timer_expired(self, name: str, generation: int) -> None: ...


class TimerService:
    """Armed timers of many actors, served by one task started in `nursery` when needed."""

    def __init__(self, nursery: trio.Nursery, *, name: str = "timers") -> None:
        self._nursery = nursery
        self._name = name
        self._heap: list[tuple[float, int, TimerOwner, str, int]] = []
        self._order = itertools.count()
        self._running = False
        #: the sleep of the serving task (its deadline: the earliest armed timer's)
        self._sleep: trio.CancelScope | None = None
        #: compact the heap (drop stale entries) once it grows past this
        self._compact_at = 64
        #: set when the serving task ended after `close` (made by `close`)
        self._ended: trio.Event | None = None
        #: the serving task, while it sleeps
        self._sleeper: trio.lowlevel.Task | None = None

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
        elif self._sleep is not None and deadline < self._sleep.deadline:
            self._sleep_until(self._sleep, deadline)

    def disarmed(self, deadline: float) -> None:
        """A timer due at `deadline` was cancelled: if the task sleeps for it, the sleep
        lasts until the next armed timer's deadline instead (so that a clock that jumps to
        the next deadline, MockClock's, skips the stale one, and the task is not woken)."""
        sleep = self._sleep
        if sleep is None or deadline != sleep.deadline:
            return
        heap = self._heap
        while heap and not heap[0][2].timer_armed(heap[0][3], heap[0][4]):
            heapq.heappop(heap)
        if heap:
            self._sleep_until(sleep, heap[0][0])
        else:
            sleep.cancel()  # nothing armed: the task ends

    @staticmethod
    def _sleep_until(sleep: trio.CancelScope, deadline: float) -> None:
        """The serving task's sleep ends at `deadline` now: its scope's deadline moves, and
        the task is not woken for it. A deadline already past wakes it, and it sleeps again
        until that deadline, as a task started for it would: an expiry never comes sooner
        than from an idle service."""
        if deadline <= trio.current_time():
            sleep.cancel()
        else:
            sleep.deadline = deadline

    async def close(self) -> None:
        """Drop every timer; the serving task, if one runs, ends by itself (before its
        nursery is cancelled: a task that returns costs less than one cancelled)."""
        self._heap.clear()
        if not self._running:
            return
        self._ended = trio.Event()
        if self._sleep is not None:
            self._sleep.cancel()
        await self._ended.wait()

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[2].timer_armed(entry[3], entry[4])]
        heapq.heapify(self._heap)
        self._compact_at = max(64, 2 * len(self._heap))

    def _wake_up(self, raise_cancel: Any) -> trio.lowlevel.Abort:
        """The sleep's scope was cancelled: its own deadline came (or was moved to now),
        and the task goes on without a Cancelled thrown into it and caught by the scope (a
        wake a timer: the exception cost more than the rest of it). Any other scope's
        cancellation (the group ending) ends the sleep with Cancelled, as a sleep does."""
        sleep, task = self._sleep, self._sleeper
        if sleep is None or task is None or not sleep.cancel_called:
            return trio.lowlevel.Abort.SUCCEEDED
        trio.lowlevel.reschedule(task)
        return trio.lowlevel.Abort.FAILED

    async def _serve(self) -> None:
        self._sleeper = trio.lowlevel.current_task()
        try:
            while True:
                heap = self._heap  # (compacting makes a new list)
                while heap and not heap[0][2].timer_armed(heap[0][3], heap[0][4]):
                    heapq.heappop(heap)
                if not heap:
                    return
                # one cancel scope a wake: its deadline is the earliest timer's, moved by
                # `arm` and `disarmed` while it sleeps. A deadline already past is a
                # checkpoint too: an expiry never overtakes what was sent to the actor
                # before its timer came due
                with trio.CancelScope(deadline=heap[0][0]) as sleep:
                    self._sleep = sleep
                    await trio.lowlevel.wait_task_rescheduled(self._wake_up)
                self._sleep = None
                if sleep.cancel_called and trio.current_time() < sleep.deadline:
                    continue  # woken to look again (a deadline already past, nothing armed)
                now = trio.current_time()
                heap = self._heap
                while heap and heap[0][0] <= now:
                    _, _, owner, name, generation = heapq.heappop(heap)
                    if owner.timer_armed(name, generation):
                        owner.timer_expired(name, generation)
        finally:
            self._running = False
            self._sleep = self._sleeper = None
            if self._ended is not None:
                self._ended.set()


class Alarm:
    """Runs `work` in a task of a nursery when it is due (`at`) or at once (`now`).

    While it waits it is an entry of a TimerService, not a task. A `now` while the
    work runs makes it run once more when it ends (what changed may come too late
    for the run under way).
    """

    __slots__ = (
        "_again",
        "_armed",
        "_generation",
        "_name",
        "_nursery",
        "_running",
        "_timers",
        "_work",
    )

    def __init__(self, work: Callable[[], Awaitable[object]], *, name: str) -> None:
        self._work = work
        self._name = name
        self._nursery: trio.Nursery | None = None
        self._timers: TimerService | None = None
        self._generation = 0
        self._armed = False
        self._running = False
        self._again = False

    def attach(self, nursery: trio.Nursery, timers: TimerService) -> None:
        """Run the work in `nursery`, wait in `timers`."""
        self._nursery, self._timers = nursery, timers

    @property
    def attached(self) -> bool:
        return self._nursery is not None

    def at(self, deadline: float | None) -> None:
        """Run the work at trio time `deadline` (None: not until told), instead of any
        deadline armed before."""
        if self._timers is None:
            raise RuntimeError(f"{self._name}: an alarm armed before it was attached")
        self._generation = next(GENERATIONS)
        self._armed = deadline is not None
        if deadline is not None:
            self._timers.arm(self, self._name, deadline, self._generation)

    def now(self) -> None:
        """Run the work now (after the run under way, if one is)."""
        if self._nursery is None:
            raise RuntimeError(f"{self._name}: an alarm run before it was attached")
        if self._running:
            self._again = True
            return
        self._running = True
        self._nursery.start_soon(self._run, name=self._name)

    def timer_armed(self, name: str, generation: int) -> bool:
        return self._armed and generation == self._generation

    def timer_expired(self, name: str, generation: int) -> None:
        self._armed = False
        self.now()

    async def _run(self) -> None:
        try:
            while True:
                self._again = False
                await self._work()
                if not self._again:
                    return
        finally:
            self._running = False
