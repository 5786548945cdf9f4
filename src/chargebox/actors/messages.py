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

__all__ = ["SetInputs", "Sync", "TimerExpired", "Trigger"]


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
