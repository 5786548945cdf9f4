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

  restart          a station started on a store holding --restart queued
                   MeterValues (100,000 by default): the time from the call of
                   open_charge_point to each step, up to the first queued
                   message the Central System receives
  enqueue          the cost of queueing one more MeterValues (a synced commit)
                   and asking the queue's length, at 0, 10,000 and 100,000 queued

Run: python bench/bench_outbox.py [--messages N] [--restart N]
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


async def link_rate(rounds: int, folder: Path) -> float:
    """MeterValues CALLs per second through the engine's endpoint, one in flight."""
    csms = CentralSystem(CsmsSettings(heartbeat_interval=86400))
    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        async with open_charge_point(
            loopback_config(folder, csms.port), Host(evse=Evse()), data_dir=folder / "data"
        ) as cp:
            await cp.wait_until(lambda: cp.registered)
            request = meter_values(1)
            start = time.perf_counter()
            for _ in range(rounds):
                await cp.call(request)
            rate = rounds / (time.perf_counter() - start)
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


async def main(n: int, restart: int) -> None:
    echo = await echo_rate(min(n, 5000))
    with tempfile.TemporaryDirectory() as tmp:
        link = await link_rate(min(n, 5000), Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        drain = await drain_only(n, Path(tmp))
    print(f"{n} queued MeterValues, loopback TCP; python {sys.version.split()[0]}")
    print(f"{'path':<34} {'messages/s':>11} {'vs echo':>8}")
    for name, rate in (
        ("websocket echo (floor)", echo),
        ("link round trip (cp.call)", link),
        ("outbox drain (store + link)", drain),
    ):
        print(f"{name:<34} {rate:>11.0f} {rate / echo:>7.2f}x")
    print(f"drain / link round trip: {drain / link:.2f}")
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


async def drain_only(n: int, folder: Path) -> float:
    csms = CentralSystem(CsmsSettings(heartbeat_interval=86400))
    counted = trio.Event()
    received = 0
    first: list[float] = []

    def on_exchange(session, exchange) -> None:
        nonlocal received
        if (exchange.direction, exchange.action, exchange.kind) == ("in", "MeterValues", "CALL"):
            received += 1
            if received == 1:
                first.append(time.perf_counter())
            if received == n:
                first.append(time.perf_counter())
                counted.set()

    csms.on_exchange = on_exchange
    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        data = folder / "data"
        prefill(data, n)
        cfg = loopback_config(folder, csms.port)
        async with open_charge_point(cfg, Host(evse=Evse()), data_dir=data):
            with trio.fail_after(600):
                await counted.wait()
        nursery.cancel_scope.cancel()
    return (n - 1) / (first[1] - first[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--restart", type=int, default=100_000)
    args = parser.parse_args()
    trio.run(main, args.messages, args.restart)
