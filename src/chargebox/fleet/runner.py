"""Running a fleet: stations started at the ramp's rate, kept running, wound down, summed up.

    spec = FleetSpec(config=Path("ocpp-config.json"), count=1000, csms_url="ws://...",
                     profile=PROFILES["light"], duration=3600)
    summary = await run_fleet(spec)          # inside trio.run
    print(summary.text())

Each station is one task (chargebox.fleet.host) around its engine; they share
one parsed configuration template, one random generator, one set of counters
(chargebox.fleet.stats) and, with `shared_db`, one SQLite file. At the end (the
`duration` passed, or `Fleet.stop()`), every station stops its transactions,
lets its engine deliver what it still has to send (`drain_timeout`), and closes
its websocket properly (CLOSING_AT_ONCE at a time); stations that are not done
after `shutdown_timeout` are cancelled.

A fleet that cannot reach its Central System says so: when no station has
connected after a few stations failed, or after `give_up_after` seconds,
`run_fleet` raises FleetError naming the URL and the last failure.
"""

from __future__ import annotations

import gc
import logging
import random
import resource
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from chargebox.actors.context import Options
from chargebox.errors import StoreError
from chargebox.fleet.host import CLOSING, RESTART_DELAY, FleetStation
from chargebox.fleet.plan import FleetError, Plan, Shard, make_plan, ramp_delays
from chargebox.fleet.profiles import PROFILES, Profile
from chargebox.fleet.stats import FleetStats, LogCounter, Probe, kind_of
from chargebox.fleet.summary import Summary, summarize
from chargebox.station.handle import close_websocket, open_charge_point
from chargebox.store import Store
from chargebox.store.memory import MemoryStore
from chargebox.store.shared import SharedDatabase

log = logging.getLogger(__name__)

#: stations whose every attempt failed, with none connected, before the fleet gives up
GIVE_UP_FAILURES = 5


#: websockets a fleet closes at once while it winds down (5,000 stations, Python's
#: collector thresholds: the shutdown took 12.4 s and 11.8 s of the fleet's CPU with
#: all at once, 7.1 s and 7.1 s with 256 at a time; the CSMS's CPU halved too)
CLOSING_AT_ONCE = 256


class Unreachable(FleetError):
    """No station could connect to the Central System."""


@attrs.define
class FleetSpec:
    """What fleet to run (the options of `chargebox fleet`)."""

    #: the configuration template (libocpp layout): every station's, with its own id
    config: Path
    #: how many stations the whole fleet has (all shards together)
    count: int
    #: the station ids: one placeholder for the station number
    id_pattern: str = "cp{:05d}"
    #: the number of the first station
    first: int = 1
    #: the Central System's URL (overrides CentralSystemURI; each station appends its id)
    csms_url: str | None = None
    #: overrides NumberOfConnectors
    connectors: int | None = None
    #: where the stations keep their state: a folder per station here ...
    data_dir: Path | None = None
    #: ... or one SQLite file for all; neither: in memory
    shared_db: Path | None = None
    profile: Profile = PROFILES["idle"]
    #: stations started per second (0: all at once)
    ramp: float = 100.0
    #: seconds of station time from the first start to the wind-down (None: until stop())
    duration: float | None = None
    shard: Shard = attrs.Factory(Shard)
    #: the random draws of the profiles
    seed: int = 0
    #: how many times faster than real time the stations' clock runs (timeouts follow)
    speed: float = 1.0
    #: engine options shared by every station (open_stream: an in-process network)
    options: Options = attrs.Factory(Options)
    #: seconds each station may take at the end to deliver what it still has
    drain_timeout: float = 30.0
    #: seconds the wind-down of the whole fleet may take before it is cut short
    shutdown_timeout: float = 60.0
    #: seconds without a single connection before the fleet gives up
    give_up_after: float = 60.0
    # (these three are real seconds, as they wait for the Central System: on a clock that
    # runs `speed` times faster they are as many times more station seconds)
    #: keep every (station, start/stop, transactionId) for inspection (tests)
    ledger: bool = False
    #: collect garbage less often while the fleet runs (see GC_THRESHOLDS)
    tune_gc: bool = True


#: the garbage collector's thresholds while a fleet runs. Its heap holds millions of
#: long-lived objects and every start-up and shutdown makes short-lived cycles (trio's
#: cancellations, exceptions with their tracebacks); with Python's default (700, 10, 10)
#: the collector takes about half the time of 2,000 stations' start and shutdown
#: (bench/bench_fleet.py); with these, a tenth. Short-lived cycles wait a little longer
#: to be freed: a few MB.
GC_THRESHOLDS = (50_000, 50, 50)


@attrs.frozen
class Progress:
    """A moment of a running fleet, for a progress line."""

    elapsed_s: float
    station_s: float
    stations: int
    started: int
    connected: int
    accepted: int
    tx_started: int
    tx_stopped: int
    messages: int
    calls: int
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    closing: bool


class Fleet:
    """A fleet (one shard of it) in this process. `run` it inside trio."""

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.plan: Plan = make_plan(
            spec.config,
            count=spec.count,
            id_pattern=spec.id_pattern,
            first=spec.first,
            shard=spec.shard,
            csms_url=spec.csms_url,
            connectors=spec.connectors,
        )
        if spec.data_dir is not None and spec.shared_db is not None:
            raise FleetError("--data-dir and --shared-db: choose one place for the stations' state")
        if not spec.speed > 0:
            raise FleetError(f"--speed {spec.speed}: allowed is more than 0")
        if spec.duration is not None and not spec.duration > 0:
            raise FleetError(f"--duration {spec.duration}: allowed is more than 0 seconds")
        self._interval = ramp_delays(spec.ramp)
        self.stats = FleetStats(ledger=spec.ledger)
        self.stats.expected = len(self.plan.numbers)
        self.stations: list[FleetStation] = []
        self._options = spec.options
        self._rng = random.Random(spec.seed)
        self._database: SharedDatabase | None = None
        self._end = trio.Event()
        self._running = 0
        self._all_done = trio.Event()
        #: stations whose websocket closed in the wind-down, and all of them did
        self._closed = 0
        self._all_closed = trio.Event()
        self._closing = trio.CapacityLimiter(CLOSING_AT_ONCE)
        self.closing = False
        self._t0 = time.monotonic()
        self._station_t0 = 0.0

    def _engine_options(self) -> Options:
        options = attrs.evolve(self.spec.options)
        speed = self.spec.speed
        if speed != 1.0:
            # the Central System answers in real time: the stations wait as long in real time
            options.call_timeout *= speed
            options.connect_timeout *= speed
            options.adopt_csms_time = False
        return options

    @property
    def url(self) -> str:
        """Where the stations connect (the first station's URL, without its id)."""
        url = self.plan.template.central_system_url
        return url.rsplit("/", 1)[0] + "/"

    def stop(self) -> None:
        """End the run now: the stations wind down."""
        self._end.set()

    # -- running --------------------------------------------------------------------------

    async def run(
        self,
        *,
        progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 1.0,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> Summary:
        """Run the fleet until its duration passed or `stop()`; the summary of the run."""
        spec = self.spec
        self._options = self._engine_options()
        if spec.options.open_stream is None:
            _enough_files(len(self.plan.numbers), spec.data_dir is not None)
        if spec.shared_db is not None:
            self._database = SharedDatabase(spec.shared_db)
        counter = LogCounter(self.stats)
        engine_log = logging.getLogger("chargebox")
        engine_log.addHandler(counter)
        thresholds = gc.get_threshold()
        if spec.tune_gc:
            gc.set_threshold(*GC_THRESHOLDS)
        frozen = False
        self._t0 = time.monotonic()
        self._station_t0 = trio.current_time()
        try:
            async with first_fleet_error(), trio.open_nursery() as nursery:
                stations = await nursery.start(self._stations_nursery)
                nursery.start_soon(self._ramp, stations)
                nursery.start_soon(self._watch_first_contact)
                if progress is not None:
                    nursery.start_soon(self._report, progress, progress_interval)
                task_status.started()
                if spec.duration is not None:
                    with trio.move_on_after(spec.duration):
                        await self._end.wait()
                else:
                    await self._end.wait()
                connected, accepted = self.stats.connected, self.stats.accepted
                ended = time.monotonic()
                counter.closing = True
                if spec.tune_gc and gc.get_freeze_count() == 0:
                    # the stations' objects are freed as they end: a collection that walks
                    # millions of them again while they close finds nothing to free there
                    # (10,000 stations: 4 s of the shutdown's CPU); the short-lived cycles of
                    # the wind-down are still collected. (Objects someone else froze before
                    # the run are left as they are.)
                    gc.freeze()
                    frozen = True
                await self._wind_down(stations)
                shutdown = time.monotonic() - ended
                last = self.stats.last_disconnect
                closed = last - ended if last is not None and last >= ended else None
                nursery.cancel_scope.cancel()
        finally:
            if frozen:
                gc.unfreeze()
            gc.set_threshold(*thresholds)
            engine_log.removeHandler(counter)
            if self._database is not None:
                self._database.close()
        return summarize(
            self.stats,
            shard=str(spec.shard),
            stations=len(self.plan.numbers),
            connected=connected,
            accepted=accepted,
            duration_s=time.monotonic() - self._t0,
            simulated_s=trio.current_time() - self._station_t0,
            shutdown_s=shutdown,
            websockets_closed_s=closed,
        )

    async def _stations_nursery(self, *, task_status: trio.TaskStatus[trio.Nursery]) -> None:
        async with trio.open_nursery() as nursery:
            task_status.started(nursery)
            await trio.sleep_forever()

    async def _ramp(self, stations: trio.Nursery) -> None:
        """Start the stations, `ramp` per second of real time (what the Central System sees;
        on a clock that runs `speed` times faster, as many more station seconds)."""
        start = trio.current_time()
        interval = self._interval * self.spec.speed
        for i, number in enumerate(self.plan.numbers):
            if self.closing:
                return
            if interval:
                await trio.sleep_until(start + i * interval)
            self._running += 1
            stations.start_soon(self._station, number, name=f"station {number}")

    async def _station(self, number: int) -> None:
        """One station, from its first start to the end of the run (through its Resets)."""
        plan = self.plan
        station_id = plan.station_id(number)
        connectors = plan.template.number_of_connectors
        station = FleetStation(station_id, connectors, self.spec.profile, self.stats, self._rng)
        self.stations.append(station)
        if self.closing:  # started as the wind-down began: it winds down at once
            station.close()
        probe = Probe(self.stats, station_id)
        speed = self.spec.speed
        store: Any = None
        try:
            store, overlay = self._store(station_id)
            config = plan.config(number, overlay)
            self.stats.station_started()
            while True:
                async with open_charge_point(
                    config, station.host(), store=store, options=self._options, message_log=probe
                ) as cp:
                    why = await station.drive(cp)
                    if why == CLOSING:
                        await station.wind_down(cp, self.spec.drain_timeout * speed)
                        # every websocket closes first, then the engines end together: the
                        # Central System sees the fleet go at once, and the engines' teardown
                        # (their tasks' cancellation) does not hold up another's close
                        # in batches: thousands of closing handshakes at once cost both
                        # processes far more CPU than the same closes a few hundred at a time
                        async with self._closing:
                            await close_websocket(cp.station)
                        self._closed += 1
                        self._check_all_closed()
                        await self._all_closed.wait()
                if why == CLOSING or station.closing:
                    return
                kind = station.reset_kind
                station.reset_kind = None
                await trio.sleep(RESTART_DELAY.get(kind, 1.0))  # type: ignore[arg-type]
                if station.closing:
                    return
        except (FleetError, StoreError) as e:
            self.stats.error(kind_of(str(e).replace(station_id, "<station>")))
        except Exception as e:  # the engine of this station failed: the others go on
            log.debug("station %s failed", station_id, exc_info=True)
            failure = _first_error(e).replace(station_id, "<station>")
            self.stats.error(f"a station's engine failed: {kind_of(failure)}")
        finally:
            probe.close()
            if isinstance(store, Store):
                store.close()
            self._running -= 1
            self._check_all_closed()
            if self._running == 0 and self.closing:
                self._all_done.set()

    def _check_all_closed(self) -> None:
        if self.closing and self._closed >= self._running:
            self._all_closed.set()

    def _store(self, station_id: str) -> tuple[Any, Path | None]:
        """The station's store and the file of its accepted configuration changes."""
        spec = self.spec
        if self._database is not None:
            return self._database.store(station_id), None
        if spec.data_dir is not None:
            folder = spec.data_dir / _safe(station_id)
            store = Store(folder / f"{_safe(station_id)}.db", durability=spec.options.durability)
            return store, folder / "user-config.json"
        return MemoryStore(), None

    async def _watch_first_contact(self) -> None:
        """Give up when nothing connects: a wrong URL, a Central System that is down."""
        stats = self.stats
        deadline = trio.current_time() + self.spec.give_up_after * self.spec.speed
        while stats.ever_connected == 0:
            failed = stats.failed_attempts
            enough = failed >= min(GIVE_UP_FAILURES, len(self.plan.numbers))
            if enough or (failed and trio.current_time() >= deadline):
                raise Unreachable(
                    f"no station could connect to {self.url}: {stats.last_failure} "
                    f"({failed} attempts failed)"
                )
            if trio.current_time() >= deadline + self._options.connect_timeout:  # (scaled too)
                raise Unreachable(
                    f"no station could connect to {self.url} within "
                    f"{self.spec.give_up_after + self.spec.options.connect_timeout:g} s"
                )
            await trio.sleep(0.05 * self.spec.speed)

    async def _wind_down(self, stations: trio.Nursery) -> None:
        self.closing = True
        if self._running == 0:
            return
        for station in self.stations:
            station.close()
        self._check_all_closed()
        with trio.move_on_after(self.spec.shutdown_timeout * self.spec.speed):
            await self._all_closed.wait()
            await self._all_done.wait()
        self._all_closed.set()  # (those that did close in time end with the others)
        stations.cancel_scope.cancel()

    async def _report(self, progress: Callable[[Progress], None], interval: float) -> None:
        """A Progress every `interval` real seconds (also on a virtual clock)."""
        last = time.monotonic()
        while True:
            # station seconds: real ones times the speed (on an autojumping clock: many)
            await trio.sleep(min(interval, 1.0) * self.spec.speed)
            now = time.monotonic()
            if now - last < interval:
                continue
            last = now
            progress(self.progress())

    def progress(self) -> Progress:
        stats = self.stats
        latency = stats.latency
        p50, p99 = latency.percentile(50), latency.percentile(99)
        return Progress(
            elapsed_s=time.monotonic() - self._t0,
            station_s=trio.current_time() - self._station_t0,
            stations=len(self.plan.numbers),
            started=stats.started,
            connected=stats.connected,
            accepted=stats.accepted,
            tx_started=stats.tx_started,
            tx_stopped=stats.tx_stopped,
            messages=stats.sent + stats.received,
            calls=latency.count,
            p50_ms=None if p50 is None else p50 * 1000,
            p99_ms=None if p99 is None else p99 * 1000,
            errors=sum(stats.errors.values()),
            closing=self.closing,
        )


async def run_fleet(
    spec: FleetSpec,
    *,
    progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 1.0,
) -> Summary:
    """Run the fleet `spec` describes (inside trio.run) and return its summary."""
    return await Fleet(spec).run(progress=progress, progress_interval=progress_interval)


def _enough_files(stations: int, files: bool) -> None:
    """A socket per station (and three files per station with --data-dir): the limit of open
    files must allow them; the soft limit is raised to the hard one when needed."""
    needed = stations * (4 if files else 1) + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < needed:
        what = "their connections and store files" if files else "their connections"
        raise FleetError(
            f"{stations:,} stations need about {needed:,} open files ({what}); this process "
            f"may open {target:,} (ulimit -n): raise the limit, or split the fleet into "
            "processes (--processes) or shards (--shard)"
        )


@asynccontextmanager
async def first_fleet_error() -> AsyncIterator[None]:
    """A FleetError raised in the block's tasks leaves as itself, not in an exception group."""
    try:
        yield
    except BaseExceptionGroup as group:
        found, _ = group.split(FleetError)
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        if found is None:
            raise
        raise found from None


def _first_error(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).split("\n", 1)[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "chargepoint"
