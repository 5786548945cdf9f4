"""Transaction-message queue: how fast 10,000 queued MeterValues drain to a loopback CSMS.

Measured in one run, side by side:
  websocket echo   a bare trio-websocket round trip of the same MeterValues text
                   (client sends, server echoes): the floor of the link
  link round trip  `cp.call(MeterValuesRequest(...))`: the engine's OCPP-J
                   endpoint calling MeterValues on the development CSMS
                   (encode, validate, send, CSMS decodes and answers, decode):
                   one CALL in flight, as OCPP-J demands
  outbox drain     a station started on a store holding N queued MeterValues
                   (SQLite file, synchronous=FULL), delivering them in order:
                   read the head, send, await the answer, delete the row

Both rows are timed alike, from the station's side, against a development
CSMS with no listener (`on_exchange` unset, so it builds no record per frame
for anyone): the link from the return of the first `cp.call` to the return of
the N-th, the drain from the outbox's first delivered message (the answer
taken, the row removed) to its N-th, seen by an observer of the outbox actor;
each is N-1 intervals. Each round runs the link and then the drain, on fresh
stores; the figures are the medians of --rounds rounds, and "drain / link round
trip" is the median of the rounds' own ratios (each taken from two runs a few
seconds apart, so a slower machine moves both).

  restart          a station started on a store holding --restart queued
                   MeterValues (100,000 by default): the time from the call of
                   open_charge_point to each step, up to the first queued
                   message the Central System receives
  enqueue          the cost of queueing one more MeterValues (a synced commit)
                   and asking the queue's length, at 0, 10,000 and 100,000 queued

--profile runs cProfile over one link run and one drain run of N messages and
prints, per message, the calls and the time the drain spends beyond the link
(functions called at least once every two messages).

Run: python bench/bench_outbox.py [--messages N] [--restart N] [--rounds R] [--profile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
from _station import Evse, loopback_config
from trio_websocket import open_websocket_url, serve_websocket

from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.ocpp import codec
from chargebox.ocpp.v16 import MeterValue, MeterValuesRequest, SampledValue
from chargebox.station import Host, open_charge_point
from chargebox.store import Store

REPO = Path(__file__).resolve().parent.parent


def meter_values(transaction_id: int | None = None) -> MeterValuesRequest:
    return MeterValuesRequest(
        connector_id=1,
        transaction_id=transaction_id,
        meter_value=[
            MeterValue(
                timestamp=datetime(2024, 5, 1, 12, tzinfo=UTC),
                sampled_value=[
                    SampledValue(
                        value="12345", measurand="Energy.Active.Import.Register", unit="Wh"
                    ),
                    SampledValue(value="7400", measurand="Power.Active.Import", unit="W"),
                ],
            )
        ],
    )


async def echo_rate(n: int) -> float:
    text = json.dumps([2, "x" * 36, "MeterValues", codec.encode(meter_values(1))])

    async def echo(request):
        ws = await request.accept()
        while True:
            await ws.send_message(await ws.get_message())

    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, echo, "127.0.0.1", 0, None)
        async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
            start = time.perf_counter()
            for _ in range(n):
                await ws.send_message(text)
                await ws.get_message()
            elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return n / elapsed


def prefill(data: Path, n: int) -> None:
    """A store holding N MeterValues of one transaction whose id is known, nothing else."""
    store = Store(data / "BENCH.db")
    store._db.execute("BEGIN")
    ref = store.begin_transaction(1, "BENCH", 0, datetime.now(UTC), None, None, {})
    head = store.head()
    assert head is not None
    store.remove(head.seq)  # keep only the MeterValues in the queue
    store.set_transaction_id(ref, 1)
    # stopped, so that the start does not take it for one a power loss interrupted
    store._db.execute("UPDATE transactions SET stop_time = start_time WHERE ref = ?", (ref,))
    payload = codec.encode(meter_values())
    for _ in range(n):
        store.queue_meter_values(ref, payload)
    store._db.execute("COMMIT")
    store.close()


async def link_rate(n: int, folder: Path, profiler: Any = None) -> float:
    """MeterValues CALLs per second through the engine's endpoint, one in flight: from
    the return of the first call to the return of the n-th (`profiler`: enabled over
    that time)."""
    csms = CentralSystem(CsmsSettings(heartbeat_interval=86400))
    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        async with open_charge_point(
            loopback_config(folder, csms.port), Host(evse=Evse()), data_dir=folder / "data"
        ) as cp:
            await cp.wait_until(lambda: cp.registered)
            request = meter_values(1)
            await cp.call(request)
            if profiler is not None:
                profiler.enable()
            start = time.perf_counter()
            for _ in range(n - 1):
                await cp.call(request)
            rate = (n - 1) / (time.perf_counter() - start)
            if profiler is not None:
                profiler.disable()
        nursery.cancel_scope.cancel()
    return rate


async def restart_steps(n: int, folder: Path) -> list[tuple[str, float]]:
    """Seconds from open_charge_point to each step of a start with `n` messages queued."""
    csms = CentralSystem(CsmsSettings(heartbeat_interval=86400))
    steps: list[tuple[str, float]] = []
    start = 0.0

    def on_exchange(session, exchange) -> None:
        if exchange.direction != "in" or exchange.kind != "CALL":
            return
        if not any(name.startswith("connected") for name, _ in steps):
            steps.append(("connected (BootNotification received)", time.perf_counter() - start))
        if exchange.action == "MeterValues" and not done.is_set():
            steps.append(("first queued message received", time.perf_counter() - start))
            done.set()

    done = trio.Event()
    csms.on_exchange = on_exchange
    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        data = folder / "data"
        prefill(data, n)
        cfg = loopback_config(folder, csms.port)
        start = time.perf_counter()
        async with open_charge_point(cfg, Host(evse=Evse()), data_dir=data) as cp:
            steps.append(("engine running (store open)", time.perf_counter() - start))
            await cp.wait_until(lambda: cp.registered)
            steps.append(("registered (BootNotification Accepted)", time.perf_counter() - start))
            with trio.fail_after(600):
                await done.wait()
        nursery.cancel_scope.cancel()
    return sorted(steps, key=lambda step: step[1])


def enqueue_cost(depth: int, folder: Path, n: int = 200) -> float:
    """Microseconds to queue one MeterValues and read the queue's length, `depth` queued."""
    prefill(folder, depth)
    store = Store(folder / "BENCH.db")
    payload = codec.encode(meter_values())
    costs = []
    for _ in range(n):
        begin = time.perf_counter()
        store.queue_meter_values(None, payload)
        store.queue_length()
        costs.append(time.perf_counter() - begin)
    store.close()
    return statistics.median(costs) * 1e6


async def main(n: int, restart: int, rounds: int) -> None:
    echo = await echo_rate(min(n, 5000))
    links: list[float] = []
    drains: list[float] = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            links.append(await link_rate(min(n, 5000), Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            drains.append(await drain_only(n, Path(tmp)))
    link, drain = statistics.median(links), statistics.median(drains)
    print(
        f"{n} queued MeterValues, loopback TCP, {rounds} rounds (medians); "
        f"python {sys.version.split()[0]}"
    )
    print(f"{'path':<34} {'messages/s':>11} {'vs echo':>8}")
    for name, rate in (
        ("websocket echo (floor)", echo),
        ("link round trip (cp.call)", link),
        ("outbox drain (store + link)", drain),
    ):
        print(f"{name:<34} {rate:>11.0f} {rate / echo:>7.2f}x")
    ratios = [d / k for d, k in zip(drains, links, strict=True)]
    print("rounds' drain / link: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(
        f"drain / link round trip: {statistics.median(ratios):.2f} "
        f"(per message: link {1e6 / link:.0f} us, drain {1e6 / drain:.0f} us)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        steps = await restart_steps(restart, Path(tmp))
    print(f"restart with {restart} queued (seconds since open_charge_point):")
    for name, seconds in steps:
        print(f"  {name:<42} {seconds:>7.3f}")
    costs = []
    for depth in (0, 10_000, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            costs.append((depth, enqueue_cost(depth, Path(tmp))))
    print("enqueue + queue_length (median, us): " + ", ".join(f"{c:.0f} at {d}" for d, c in costs))


async def drain_only(n: int, folder: Path, profiler: Any = None) -> float:
    """Queued MeterValues delivered per second: from the outbox's first delivered message
    to its n-th, seen by an observer of the outbox actor (called after each event it
    handles; `profiler`: enabled over that time)."""
    csms = CentralSystem(CsmsSettings(heartbeat_interval=86400))
    drained = trio.Event()
    marks: list[float] = []

    def observe(actor, outcome) -> None:
        delivered = actor.delivered
        if delivered == 1 and not marks:
            marks.append(time.perf_counter())
            if profiler is not None:
                profiler.enable()
        elif delivered == n and len(marks) == 1:
            marks.append(time.perf_counter())
            if profiler is not None:
                profiler.disable()
            drained.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        data = folder / "data"
        prefill(data, n)
        cfg = loopback_config(folder, csms.port)
        async with open_charge_point(cfg, Host(evse=Evse()), data_dir=data) as cp:
            cp.station.outbox.observers.append(observe)
            with trio.fail_after(600):
                await drained.wait()
        nursery.cancel_scope.cancel()
    return (n - 1) / (marks[1] - marks[0])


def profile(n: int) -> None:
    """cProfile of a link run and a drain run of n messages; per message, what the drain
    calls beyond the link."""
    import cProfile
    import pstats

    def stats(measure) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            trio.run(measure, 200, Path(tmp))  # imports and first-time costs
        profiler = cProfile.Profile()
        with tempfile.TemporaryDirectory() as tmp:
            trio.run(measure, n, Path(tmp), profiler)
        return pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    link, drain = stats(link_rate), stats(drain_only)
    rows = []
    for key, value in drain.items():
        calls = (value[0] - link.get(key, (0,))[0]) / n
        own = (value[2] - link.get(key, (0, 0, 0))[2]) / n * 1e6
        if abs(calls) >= 0.5:
            rows.append((own, calls, f"{Path(key[0]).name}:{key[1]}({key[2]})"))
    rows.sort(key=lambda row: -abs(row[0]))
    total = sum(v[2] for v in drain.values()) - sum(v[2] for v in link.values())
    print(f"drain beyond link, per message: {total / n * 1e6:.1f} us of own time (profiled)")
    print(f"{'own us':>7} {'calls':>6}  function")
    for own, calls, name in rows[:50]:
        print(f"{own:>7.2f} {calls:>6.2f}  {name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--restart", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile(args.messages)
    else:
        trio.run(main, args.messages, args.restart, args.rounds)
