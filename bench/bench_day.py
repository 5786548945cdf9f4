"""A day of charging on trio's MockClock: how long the engine takes for 24 hours of messages.

One station, one transaction of 24 hours against the development CSMS over the
in-process network (chargebox.netsim: real websocket bytes, no sockets), on
trio's MockClock (autojump), so the wall time is the engine's own work:
  - MeterValueSampleInterval 60 s, ClockAlignedDataInterval 900 s, with
    Energy.Active.Import.Register and Power.Active.Import sampled;
  - heartbeats every HeartbeatInterval (300 s, the CSMS's BootNotification answer);
  - the host reports new readings every 60 s (cp.meter_values), as a meter would;
  - the store is a real SQLite file in a temporary folder (tempfile.TemporaryDirectory,
    /tmp on Linux), as the engine runs in a station, once with each durability
    (Options.durability: "power-safe", the default, synchronous=FULL; "crash-safe",
    WAL with synchronous=NORMAL), and the MemoryStore of simulated stations for
    comparison; the rounds alternate between them.
It prints, for each store, the wall time (median of --rounds), the process's CPU
time in user mode (the engine's own work, steadier than the wall time on a shared
machine: waiting for the disk's syncs is not in it), and the wall time per frame.
Then the disk's part of the power-safe row: the day's synced commits (counted in an
untimed day) made alone, as many one-row commits of a bare SQLite file (WAL,
synchronous=FULL) in the same folder, timed in the same rounds.

With --steps it counts, by a trio instrument, the scheduler's task steps and the
tasks spawned per simulated minute, per kind of task (its name), largest first.

With --idle-cost it measures what waiting costs the work after it on this machine:
the crash-safe day as it is, with a pause of 200 us at each commit spent asleep
(time.sleep: the process idle, as while the disk syncs), and with the same pause
spent spinning (the CPU busy), alternated; the user CPU of the asleep row minus the
plain row is what the waits cost the rest of the work (the spin's own time shows in
its row's user CPU).

Run: python bench/bench_day.py [--hours H] [--rounds R] [--profile | --steps | --idle-cost]
     [--store S]
(--store: the one store --profile and --steps use, power-safe unless told)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import trio
import trio.testing
from _station import Evse, station_config

from chargebox.actors.clock import StationClock
from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.netsim import Network
from chargebox.station import Host, Options, open_charge_point
from chargebox.store.memory import MemoryStore

REPO = Path(__file__).resolve().parent.parent
CSMS_ADDRESS = ("csms.bench", 80)
#: the stores compared: the engine's SQLite file with each durability, and the memory store
STORES = ("power-safe", "crash-safe", "memory")


def config(folder: Path) -> ChargePointConfig:
    measurands = "Energy.Active.Import.Register,Power.Active.Import"
    return station_config(
        folder,
        f"{CSMS_ADDRESS[0]}:{CSMS_ADDRESS[1]}/ocpp/",
        "DAY",
        MeterValueSampleInterval=60,
        ClockAlignedDataInterval=900,
        MeterValuesSampledData=measurands,
        MeterValuesAlignedData=measurands,
    )


async def day(
    hours: int, folder: Path, store: str = "power-safe", commits: list[str] | None = None
) -> tuple[float, int]:
    """Run the day with `store` (one of STORES); returns (wall seconds, messages the CSMS
    received and sent). `commits`, when given, gets a line for each COMMIT of the
    station's SQLite file (a synced commit when power-safe)."""
    clock = StationClock()
    csms = CentralSystem(CsmsSettings(heartbeat_interval=300, keep_exchanges=0))
    csms.clock = clock.now
    net = Network()
    memory = store == "memory"
    options = Options(
        open_stream=net.open_stream,
        blocking_inline=True,
        durability="power-safe" if memory else store,
    )
    begin = time.perf_counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        net.listen(*CSMS_ADDRESS, csms)
        async with open_charge_point(
            config(folder),
            Host(evse=Evse()),
            data_dir=folder / "data",
            options=options,
            clock=clock,
            store=MemoryStore() if memory else None,
        ) as cp:
            if commits is not None:
                cp.station.ctx.store._db.set_trace_callback(  # type: ignore[attr-defined]
                    lambda sql: commits.append(sql) if sql == "COMMIT" else None
                )
            await cp.wait_until(lambda: cp.registered)
            await cp.session_started(1)
            energy = 0
            await cp.meter_values(1, {"Energy.Active.Import.Register": energy})
            await cp.transaction_started(1, meter_start=energy, id_tag="DAY-TAG")
            await cp.resumed(1)
            for _ in range(hours * 60):
                await trio.sleep(60)
                energy += 123  # 7.4 kW for a minute
                await cp.meter_values(
                    1, {"Energy.Active.Import.Register": energy, "Power.Active.Import": 7400}
                )
            await cp.transaction_stopped(1, meter_stop=energy, reason="Local")
            await cp.session_stopped(1)
            if not await cp.drain(600):
                raise RuntimeError("the day's messages were not all delivered")
        nursery.cancel_scope.cancel()
    wall = time.perf_counter() - begin
    return wall, csms.counts.received + csms.counts.sent


class StepCounter(trio.abc.Instrument):
    """Counts the scheduler's task steps and the tasks spawned, per task name."""

    def __init__(self) -> None:
        self.steps: Counter[str] = Counter()
        self.spawns: Counter[str] = Counter()

    @staticmethod
    def kind(task: trio.lowlevel.Task) -> str:
        # an actor's task is named after its address: one kind per actor
        return task.name.rsplit(".", 1)[-1]

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.spawns[self.kind(task)] += 1

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps[self.kind(task)] += 1


def run_day(
    hours: int,
    instruments: tuple[trio.abc.Instrument, ...] = (),
    store: str = "power-safe",
    commits: list[str] | None = None,
) -> tuple[float, int, float]:
    """One day: (wall seconds, frames exchanged, user-mode CPU seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        user = os.times().user
        wall, frames = trio.run(
            day,
            hours,
            Path(tmp),
            store,
            commits,
            clock=trio.testing.MockClock(autojump_threshold=0),
            instruments=instruments,
        )
        return wall, frames, os.times().user - user


def synced_commits(count: int) -> tuple[float, int, float]:
    """`count` synced commits of one small row each, alone: a bare SQLite file in WAL
    mode with synchronous=FULL, as the power-safe store opens its own, in the same
    temporary folder: (wall seconds, 0, user-mode CPU seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "commits.db", isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
            row = b"x" * 200  # about a queued MeterValues
            user = os.times().user
            begin = time.perf_counter()
            for _ in range(count):
                db.execute("INSERT INTO t(payload) VALUES (?)", (row,))
            wall = time.perf_counter() - begin
            return wall, 0, os.times().user - user
        finally:
            db.close()


#: the pause at each commit of --idle-cost (seconds)
PAUSE = 0.0002


def print_idle_cost(hours: int, rounds: int) -> None:
    """The crash-safe day plain, with a pause at each COMMIT asleep, and spinning."""
    from chargebox import store as store_module

    mode: dict[str, str] = {"pause": "none"}
    opened = store_module.Store._open

    def pause(sql: str) -> None:
        if sql != "COMMIT" or mode["pause"] == "none":
            return
        if mode["pause"] == "asleep":
            time.sleep(PAUSE)
            return
        end = time.perf_counter() + PAUSE
        while time.perf_counter() < end:
            pass

    def open_paused(self: Any, path: Path | None) -> sqlite3.Connection:
        db = opened(self, path)
        db.set_trace_callback(pause)
        return db

    store_module.Store._open = open_paused  # type: ignore[method-assign]
    try:
        run_day(1, store="crash-safe")
        results: dict[str, list[tuple[float, int, float]]] = {
            "none": [],
            "asleep": [],
            "spinning": [],
        }
        for _ in range(rounds):
            for name, runs in results.items():
                mode["pause"] = name
                runs.append(run_day(hours, store="crash-safe"))
    finally:
        store_module.Store._open = opened  # type: ignore[method-assign]
    print(
        f"{hours} h crash-safe day, a pause of {PAUSE * 1e6:.0f} us at each commit; "
        f"medians of {rounds} rounds (user CPU of each round)"
    )
    print(f"{'pause':<10} {'wall s':>7} {'user CPU s':>11}  rounds")
    for name, runs in results.items():
        wall = statistics.median(w for w, _, _ in runs)
        user = statistics.median(u for _, _, u in runs)
        each = ", ".join(f"{u:.2f}" for _, _, u in runs)
        print(f"{name:<10} {wall:7.3f} {user:11.2f}  {each}")


def print_steps(hours: int, store: str) -> None:
    counter = StepCounter()
    run_day(hours, (counter,), store)
    minutes = hours * 60
    print(f"per simulated minute ({minutes} minutes):")
    print(
        f"  task steps {sum(counter.steps.values()) / minutes:.1f}, "
        f"tasks spawned {sum(counter.spawns.values()) / minutes:.1f}"
    )
    for kind, steps in counter.steps.most_common(25):
        print(
            f"  {steps / minutes:7.2f} steps {counter.spawns[kind] / minutes:6.2f} spawns  {kind}"
        )


def main(
    hours: int,
    rounds: int,
    profile: bool,
    steps: bool = False,
    store: str = "",
    idle_cost: bool = False,
) -> None:
    if idle_cost:
        print_idle_cost(hours, rounds)
        return
    if steps:
        print_steps(hours, store or "power-safe")
        return
    if profile:
        run_day(1, store=store or "power-safe")  # the charts' files read: not profiled
        profiler = cProfile.Profile()
        profiler.enable()
        run_day(hours, store=store or "power-safe")
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        if os.environ.get("BENCH_CALLERS"):
            stats.print_callers(os.environ["BENCH_CALLERS"])
        return
    stores = (store,) if store else STORES
    results: dict[str, list[tuple[float, int, float]]] = {name: [] for name in stores}
    run_day(1, store=stores[0])  # the charts' files read and the code warmed up, not timed
    commits: list[str] = []
    if "power-safe" in stores:
        run_day(hours, store="power-safe", commits=commits)  # counted, not timed
        results["commits"] = []
    for _ in range(rounds):
        for name in stores:  # alternating, so that the machine's load falls on each alike
            results[name].append(run_day(hours, store=name))
        if commits:
            results["commits"].append(synced_commits(len(commits)))
    print(
        f"{hours} h on MockClock, one transaction, 60 s sampled, 900 s aligned, heartbeats "
        f"every 300 s; SQLite file in {tempfile.gettempdir()}; python {sys.version.split()[0]}"
    )
    print(f"frames exchanged: {results[stores[0]][0][1]}; medians of {rounds} rounds")
    print(f"{'store':<34} {'wall s':>7} {'user CPU s':>11} {'us/frame':>9}")
    labels = {
        "power-safe": "SQLite file, power-safe (default)",
        "crash-safe": "SQLite file, crash-safe",
        "memory": "MemoryStore",
    }
    for name in stores:
        wall = statistics.median(w for w, _, _ in results[name])
        user = statistics.median(u for _, _, u in results[name])
        frames = results[name][0][1]
        print(f"{labels[name]:<34} {wall:7.3f} {user:11.2f} {1e6 * wall / frames:9.0f}")
    if commits:
        wall = statistics.median(w for w, _, _ in results["commits"])
        user = statistics.median(u for _, _, u in results["commits"])
        print(
            f"{'its ' + str(len(commits)) + ' synced commits alone':<34} {wall:7.3f} {user:11.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--steps", action="store_true")
    parser.add_argument("--idle-cost", action="store_true")
    parser.add_argument("--store", choices=STORES, default="", help="only this store")
    args = parser.parse_args()
    main(args.hours, args.rounds, args.profile, args.steps, args.store, args.idle_cost)
