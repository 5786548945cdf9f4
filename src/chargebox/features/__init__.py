"""The feature profiles: what the Central System asks, translated for the actors.

One module per profile (core, smartcharging, reservation, localauth, trigger,
firmware, diagnostics, logs, security): each answers the Central System's
calls of its profile from the actors' states and sends them the events that
make their charts act. `registry.build_features` builds them all for one
station, each given what it needs (the station's context, its actors, the
other features it asks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

#: answers one Central System CALL: its request object -> the response object
Handler = Callable[[Any], Awaitable[Any]]

#: a long-running task of a feature, run as long as the station runs
Service = Callable[[], Awaitable[None]]
