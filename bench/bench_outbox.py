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

Run: python bench/bench_outbox.py [--messages N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import trio
from trio_websocket import open_websocket_url, serve_websocket

from chargebox.config import ChargePointConfig
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


def config(folder: Path, port: int) -> ChargePointConfig:
    document = json.loads((REPO / "config" / "ocpp-config.json").read_text())
    document["Internal"]["CentralSystemURI"] = f"127.0.0.1:{port}/ocpp/"
    document["Internal"]["ChargePointId"] = "BENCH"
    document["Internal"]["LogMessages"] = False
    document["Security"]["SecurityProfile"] = 0
    document["Core"]["MeterValueSampleInterval"] = 0
    document["Core"]["ClockAlignedDataInterval"] = 0
    path = folder / "ocpp-config.json"
    path.write_text(json.dumps(document))
    return ChargePointConfig.load(path)


class Evse:
    async def authorize(self, connector_id: int, id_tag: str) -> None:
        pass


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
            config(folder, csms.port), Host(evse=Evse()), data_dir=folder / "data"
        ) as cp:
            await cp.wait_until(lambda: cp.registered)
            request = meter_values(1)
            start = time.perf_counter()
            for _ in range(rounds):
                await cp.call(request)
            rate = rounds / (time.perf_counter() - start)
        nursery.cancel_scope.cancel()
    return rate


async def main(n: int) -> None:
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
        async with open_charge_point(config(folder, csms.port), Host(evse=Evse()), data_dir=data):
            with trio.fail_after(600):
                await counted.wait()
        nursery.cancel_scope.cancel()
    return (n - 1) / (first[1] - first[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    trio.run(main, parser.parse_args().messages)
