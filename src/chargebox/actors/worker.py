"""A queue of work handled in order by a task that runs only while work waits.

The station's queues (StatusNotifications to send, host commands to run) were
memory channels, each served by a task for the station's lifetime. A Worker is a
deque and a function: `put` queues an item and starts a task in the station's
nursery when none runs; the task handles the items one after the other, in the
order they came, and ends when the queue is empty.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import trio

T = TypeVar("T")


class Starter(Protocol):
    """Where a worker's task starts: a nursery, or an actor's tasks (ActorTasks)."""

    def start_soon(self, fn: Callable[..., Any], *args: Any, name: object = None) -> None: ...


class Worker(Generic[T]):
    """Items handled one at a time by `handle`, at most `size` waiting (`put` refuses more)."""

    __slots__ = ("_handle", "_items", "_name", "_nursery", "_running", "_size")

    def __init__(
        self, handle: Callable[[T], Awaitable[object]], *, name: str, size: float = math.inf
    ) -> None:
        self._handle = handle
        self._name = name
        self._size = size
        self._items: deque[T] = deque()
        self._nursery: Starter | None = None
        self._running = False

    def __len__(self) -> int:
        return len(self._items)

    def attach(self, nursery: Starter) -> None:
        """Handle the items in tasks of `nursery` from now on (those queued before too)."""
        self._nursery = nursery
        self._wake()

    def put(self, item: T) -> None:
        """Queue `item`; trio.WouldBlock when `size` items wait already."""
        if len(self._items) >= self._size:
            raise trio.WouldBlock
        self._items.append(item)
        self._wake()

    def _wake(self) -> None:
        if self._items and not self._running and self._nursery is not None:
            self._running = True
            self._nursery.start_soon(self._run, name=self._name)

    async def _run(self) -> None:
        try:
            while self._items:
                await self._handle(self._items.popleft())
        finally:
            self._running = False
