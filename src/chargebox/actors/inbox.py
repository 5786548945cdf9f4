"""An actor's inbox: a small bounded queue that costs no task while it is empty.

A trio memory channel needs a task parked on its receiving end to be served,
and a channel pair costs about 1.8 KB. An actor's inbox is a deque it owns
instead: `send` appends the message and wakes the actor (its `owner`), which
starts a task to handle what is queued only when none runs; that task ends
when the queue is empty. An idle actor is then only its objects.

The queue is bounded: a sender finding it full waits (on a parking lot, in the
order senders came) until the actor took a message out; nothing is dropped.
`put` bypasses the bound for messages whose number is bounded by their kind
(a timer's expiry: at most one per armed timer), so that whoever puts them
never waits. Once closed (the actor stopped, its group ended), a send raises
trio.BrokenResourceError, as a memory channel whose receiver is gone does.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import trio


class Owner(Protocol):
    """Who handles the inbox's messages: woken when one is queued."""

    def _wake(self) -> None: ...


class Inbox:
    """The queue of one actor: at most `size` messages from senders that wait when it is full."""

    __slots__ = ("_messages", "_not_full", "_reserved", "_size", "closed", "owner")

    def __init__(self, size: int, owner: Owner | None = None) -> None:
        if size < 1:
            raise ValueError(f"an inbox holds at least one message, not {size}")
        # both made when first needed: an empty deque costs 600 bytes, and most inboxes
        # are empty most of the time and never full
        self._messages: deque[Any] | None = None
        self._size = size
        self._reserved = 0
        self._not_full: trio.lowlevel.ParkingLot | None = None
        #: woken (synchronously) after a message was queued: the actor starts handling
        self.owner = owner
        self.closed = False

    def __len__(self) -> int:
        return 0 if self._messages is None else len(self._messages)

    @property
    def size(self) -> int:
        """How many messages the inbox holds before senders wait."""
        return self._size

    async def send(self, message: Any) -> None:
        """Queue `message`, waiting while the inbox is full (a checkpoint, as a channel's send)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._has_room():
            self._queue(message)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        if self.closed:
            raise trio.BrokenResourceError("the actor no longer takes messages")
        # the senders that found the inbox full are let in one per message taken, in the
        # order they came; the place freed for one is kept for it (`_reserved`)
        if self._not_full is None:
            self._not_full = trio.lowlevel.ParkingLot()
        await self._not_full.park()
        if self.closed:
            raise trio.BrokenResourceError("the actor no longer takes messages")
        self._reserved -= 1
        self._queue(message)

    def has_room(self) -> bool:
        """A message sent now would not wait."""
        return not self.closed and self._has_room()

    def _has_room(self) -> bool:
        return len(self) + self._reserved < self._size and not (
            self._not_full is not None and self._not_full.statistics().tasks_waiting
        )

    def send_nowait(self, message: Any) -> None:
        """Queue `message` now; trio.WouldBlock when the inbox is full."""
        if not self._has_room() and not self.closed:
            raise trio.WouldBlock
        self._queue(message)

    def put(self, message: Any) -> None:
        """Queue `message` past the bound: for messages whose number their kind bounds."""
        self._queue(message)

    def _queue(self, message: Any) -> None:
        if self.closed:
            raise trio.BrokenResourceError("the actor no longer takes messages")
        if self._messages is None:
            self._messages = deque()
        self._messages.append(message)
        if self.owner is not None:
            self.owner._wake()

    def take(self) -> Any:
        """The oldest message (the inbox must not be empty); a waiting sender may then send."""
        assert self._messages is not None
        message = self._messages.popleft()
        if not self._messages:
            self._messages = None
        if self._not_full is not None and self._not_full.unpark():
            self._reserved += 1
        return message

    def close(self) -> None:
        """Refuse every message from now on; the queued ones are dropped, waiting senders fail."""
        self.closed = True
        self._messages = None
        self._reserved = 0
        if self._not_full is not None:
            self._not_full.unpark_all()
