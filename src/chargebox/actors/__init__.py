"""The trio runtime of the statecharts: actors with inboxes, timers, a station clock, groups.

An actor owns one chart model (chargebox.charts) and talks to other actors only
through messages in their inboxes; groups own the actors' nurseries and report
a failing actor instead of letting it vanish.
"""

from __future__ import annotations

from chargebox.actors.actor import Actor, ArmedTimer, Rejected, UnhandledEffect
from chargebox.actors.clock import StationClock
from chargebox.actors.messages import Ask, SetInputs, Sync, TimerExpired, Trigger
from chargebox.actors.supervision import ActorFailed, ActorGroup, UnknownAddress, open_actor_group

__all__ = [
    "Actor",
    "ActorFailed",
    "ActorGroup",
    "ArmedTimer",
    "Ask",
    "Rejected",
    "SetInputs",
    "StationClock",
    "Sync",
    "TimerExpired",
    "Trigger",
    "UnhandledEffect",
    "UnknownAddress",
    "open_actor_group",
]
