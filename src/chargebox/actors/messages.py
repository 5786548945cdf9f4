"""The messages every actor understands, besides the events of its chart.

Actor inboxes carry frozen attrs values: the typed events of the actor's chart
(chargebox.charts.events), and the runtime's own messages here. `Ask` is the
request/reply of the runtime: an event whose sender waits for what became of
it (`ActorGroup.ask` sends one and returns its `Answer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import trio

from chargebox.charts.events.base import ChartEvent
from chargebox.charts.machine import Outcome

__all__ = ["Answer", "Ask", "AskFailed", "SetInputs", "Sync", "TimerExpired"]


@attrs.frozen
class TimerExpired:
    """Sent by an actor's timer to its own inbox; `generation` tells a stale expiry apart."""

    name: str
    generation: int


@attrs.frozen
class SetInputs:
    """Change chart inputs (configuration keys, link status) between two events."""

    values: Mapping[str, Any] = attrs.field(converter=dict, hash=False)


@attrs.frozen(eq=False)
class Sync:
    """Set `done` once every message sent before this one is handled and its effects performed."""

    done: trio.Event = attrs.field(factory=trio.Event)


@attrs.frozen
class Answer:
    """What became of an asked event: the chart took it (`outcome` Fired) or refused it
    (NotAllowed: nothing changed), and the value of the `Reply` effect its transition
    recorded, if any (the last one). `outcome` is None when the actor had no use for
    the event (an answer for an earlier transaction, say)."""

    outcome: Outcome | None
    reply: Any = None

    @property
    def allowed(self) -> bool:
        """The chart took the event."""
        return self.outcome is not None and self.outcome.allowed


@attrs.define(eq=False)
class Ask:
    """An event whose sender waits for what became of it.

    `done` is set once the actor handled the event and performed its effects:
    `outcome` then says whether the chart took it (Fired) or refused it
    (NotAllowed), `reply` holds the value of a `Reply` effect, and `error`
    the reason an effect could not be performed (chargebox.actors.actor.Rejected:
    the transition was undone), or the error that ended the actor.
    """

    event: ChartEvent
    done: trio.Event = attrs.field(factory=trio.Event)
    outcome: Outcome | None = None
    reply: Any = None
    error: BaseException | None = None


class AskFailed(Exception):
    """An asked event was not taken in: `error` says why (an effect's record could not be
    written, or the actor failed while handling it)."""

    def __init__(self, address: Any, event: ChartEvent, error: BaseException) -> None:
        super().__init__(f"{address}: {event.trigger} not taken in: {error}")
        self.address = address
        self.event = event
        self.error = error
