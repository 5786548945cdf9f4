"""The actors: the trio runtime of the statecharts, and every actor of a station.

The runtime: actors with inboxes and timers (actor), reached by typed address
with the typed events of their charts (chargebox.charts.addresses,
chargebox.charts.events), the messages every actor understands (messages: Ask
is the request/reply), the station clock (clock), groups that own the actors'
nurseries and report a failing actor instead of letting it vanish (supervision).

An actor owns one chart model (chargebox.charts) and talks to other actors only
through messages in their inboxes. The station's actors: the link (link) over
the OCPP-J endpoint (endpoint), the transaction-message queue (outbox), the
connectors with their StatusNotifications (connector), the transactions
(transaction), the reservations (reservation), the firmware update (firmware),
the diagnostics and log uploads (transfer), the certificate signing (signing);
what they share: the context (context), idTag authorization (authorization),
the meter readings (meter). `assembly.Actors` builds them all for one station.
"""

from __future__ import annotations

from chargebox.actors.actor import Actor, ArmedTimer, Rejected, UnhandledEffect
from chargebox.actors.clock import StationClock
from chargebox.actors.messages import Answer, Ask, AskFailed, SetInputs, Sync, TimerExpired
from chargebox.actors.supervision import ActorFailed, ActorGroup, UnknownAddress, open_actor_group

__all__ = [
    "Actor",
    "ActorFailed",
    "ActorGroup",
    "Answer",
    "ArmedTimer",
    "Ask",
    "AskFailed",
    "Rejected",
    "SetInputs",
    "StationClock",
    "Sync",
    "TimerExpired",
    "UnhandledEffect",
    "UnknownAddress",
    "open_actor_group",
]
