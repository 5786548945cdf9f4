"""The messages every actor understands, besides the ones its subclass translates.

Actor inboxes carry frozen attrs values. `Trigger` (from chargebox.charts.effects,
since chart actions address it to other actors) fires a trigger by name; the
others here are the runtime's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import trio

from chargebox.charts.effects import Trigger
from chargebox.charts.machine import Outcome

__all__ = ["Ask", "SetInputs", "Sync", "TimerExpired", "Trigger"]


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


@attrs.define(eq=False)
class Ask:
    """A trigger whose sender waits for what became of it.

    `done` is set once the actor handled the trigger and performed its effects:
    `outcome` then says whether the chart took it (Fired) or refused it
    (NotAllowed), and `error` holds the reason an effect could not be performed
    (chargebox.actors.actor.Rejected: the transition was undone), or the error
    that ended the actor.
    """

    trigger: Trigger
    done: trio.Event = attrs.field(factory=trio.Event)
    outcome: Outcome | None = None
    error: BaseException | None = None
