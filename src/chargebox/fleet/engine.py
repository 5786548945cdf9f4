"""Running one engine of a fleet: `open_charge_point`'s work, with a store the fleet gives.

A fleet's stations keep their state in a MemoryStore or a SharedStore (not a
file per station), keep that store across a Reset (it is their flash), and
log through their Probe; everything else is the engine as `open_charge_point`
runs it: the same Station, the same start-up, the same bounded close of the
websocket when the block ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from chargebox.actors.clock import StationClock
from chargebox.actors.context import Options
from chargebox.charts.addresses import Address
from chargebox.config import ChargePointConfig
from chargebox.host import Host
from chargebox.station.handle import ChargePoint
from chargebox.station.station import Station

#: seconds the websocket's closing handshake may take when a station stops
CLOSE_TIMEOUT = 3.0


@asynccontextmanager
async def open_station(
    config: ChargePointConfig,
    host: Host,
    store: Any,
    *,
    options: Options,
    message_log: Any,
    clock: StationClock | None = None,
) -> AsyncIterator[ChargePoint]:
    """Run an engine on `store` for the block's duration (the store stays open after it)."""
    clock = clock or StationClock()
    config.clock = clock.now
    async with trio.open_nursery() as nursery:
        station = Station(config, host, store, options, clock, message_log, nursery)
        await nursery.start(station.run)
        try:
            yield ChargePoint(station)
        finally:
            await close_websocket(station)
            nursery.cancel_scope.cancel()


async def close_websocket(station: Station) -> None:
    """Close the station's websocket properly, so that the Central System learns at once
    that it went (bounded by CLOSE_TIMEOUT, even in a cancelled scope). Without a websocket
    there is nothing to close (the engine ends next: no reconnection is tried)."""
    if not station.endpoint.connected:
        return
    with trio.move_on_after(CLOSE_TIMEOUT) as scope:
        scope.shield = True
        try:
            await station.close()
            await station.settle(Address.link())
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the actors are gone already (the engine failed)
