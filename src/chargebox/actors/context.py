"""What every part of a running station shares: configuration, clock, storage, link, host."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.actors.endpoint import Endpoint
from chargebox.actors.worker import Worker
from chargebox.charts.addresses import Address
from chargebox.charts.events import ChartEvent
from chargebox.config import ChargePointConfig
from chargebox.host import Host
from chargebox.store import Storage, check_durability
from chargebox.transport import TlsSettings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=ChartEvent)


class Deliver(Protocol):
    """Puts an event into the inbox of the actor at an address (of that actor's chart)."""

    async def __call__(self, address: Address[E], event: E) -> None: ...


@attrs.define
class Options:
    """Settings of the engine that are not OCPP configuration keys."""

    #: seconds a CALL of ours waits for its answer
    call_timeout: float = 30.0
    #: seconds a websocket connection attempt may take (TCP, TLS and handshake)
    connect_timeout: float = 30.0
    #: TLS material for security profiles 2 and 3
    tls: TlsSettings = attrs.Factory(TlsSettings)
    #: where the OCPP message logs go (None: <data_dir>/message-log, or none without a data dir)
    message_log_path: Path | None = None
    #: BootNotification retry when the Central System gives no interval (seconds)
    boot_retry_interval: int = 60
    #: set the station clock from the Central System's time (Boot and Heartbeat answers);
    #: a simulation whose time runs faster than the Central System's keeps its own
    adopt_csms_time: bool = True
    #: replaces TCP connections (chargebox.netsim.Network.open_stream)
    open_stream: Any = None
    #: the last energy reading of a transaction is written at most this often (seconds);
    #: 0 (the default) writes every reading before `ChargePoint.meter_values` returns, so
    #: the PowerLoss StopTransaction after a power cut carries the last reading handed
    #: over. A simulator that reports many readings a second may write less often; after
    #: a power cut its meterStop is then up to this old.
    meter_persist_interval: float = 0.0
    #: a number in [0, 1) for the random part of the reconnect backoff (None: random)
    jitter: Callable[[], float] | None = None
    #: how blocking work (checking a firmware file's signature) runs: False (the default)
    #: in a worker thread, so the engine keeps answering; True in the event loop, which a
    #: simulation on a virtual clock (trio's MockClock) wants, since its clock would jump
    #: ahead while a thread works
    blocking_inline: bool = False
    #: how far the SQLite store's commits are synced (chargebox.store.DURABILITIES):
    #: "power-safe" (the default: synchronous=FULL, nothing acknowledged is lost at a
    #: power cut) or "crash-safe" (WAL with synchronous=NORMAL: nothing is lost when the
    #: process dies, the last commits may be lost at a power cut; one sync a commit
    #: less, which spares a station's flash and a simulation's time)
    durability: str = attrs.field(
        default="power-safe",
        validator=lambda _options, _attribute, value: check_durability(value, "Options.durability"),
    )

    async def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)`, in a worker thread or inline as `blocking_inline` says."""
        if self.blocking_inline:
            return fn(*args)
        return await trio.to_thread.run_sync(fn, *args)


@attrs.define(eq=False)
class StationContext:
    cfg: ChargePointConfig
    clock: StationClock
    store: Storage
    host: Host
    endpoint: Endpoint
    options: Options
    nursery: trio.Nursery
    message_log: Any = None
    #: delivers an event to an actor (or to the station's event stream) once they run
    deliver: Deliver | None = None
    #: False once the Central System answered NotImplemented to SecurityEventNotification
    security_events_to_csms: bool = True
    #: records a security event (Station.security_event)
    security_event: Callable[..., None] = lambda *args, **kwargs: None
    #: the engine is ending (its websocket closes for good, then its tasks end): the
    #: actors need no news of the link's end any more (chargebox.station.close_websocket)
    ending: bool = False
    #: the host commands, run one after the other (a task while there are some)
    host_queue: Worker[Callable[[], Awaitable[Any]]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.host_queue = Worker(_run_command, name="host commands")

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None) -> None:
        """Run a task in the station's nursery; failures are logged, never fatal."""

        async def guarded() -> None:
            try:
                await fn(*args)
            except Exception:
                log.exception("task %s failed", name or getattr(fn, "__name__", fn))

        self.nursery.start_soon(guarded, name=name)

    async def host_in_order(self, what: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """Call a host port after every command queued before it has run; return its result.

        Host commands run one after the other, in the order the charts gave them
        (stop the transaction, then unlock), in a task of their own so that no
        actor waits for the host.
        """
        done = trio.Event()
        box: list[Any] = []

        async def run() -> None:
            box.append(await self.call_host(what, make()))
            done.set()

        self.host_queue.put(run)
        await done.wait()
        return box[0] if box else None

    def host_later(self, what: str, make: Callable[[], Awaitable[Any]]) -> None:
        """Queue a host command; it runs after those queued before it."""

        async def run() -> None:
            await self.call_host(what, make())

        self.host_queue.put(run)

    async def call_host(self, what: str, coro: Awaitable[Any]) -> Any:
        """Await a host port; a port that raises is logged and returns None."""
        try:
            return await coro
        except Exception:
            log.exception("the host failed to %s", what)
            return None


async def _run_command(command: Callable[[], Awaitable[Any]]) -> None:
    await command()
