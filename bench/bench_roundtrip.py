"""CALL round trips: sequential Heartbeat CALLs from a station to the development CSMS,
side by side with a raw trio-websocket echo and with the `ocpp` package, over
loopback TCP in one process.

Measured in one run, alternating so that all see the same machine load:
  websocket echo   the client sends a Heartbeat CALL's text, the server sends
                   a Heartbeat CALLRESULT's text back: the floor of a round trip
  Heartbeat CALL   `cp.call(HeartbeatRequest())` on a registered station: the
                   OCPP-J rules (a place in line, one CALL in flight, the
                   answer correlated and decoded), the dev CSMS decoding and
                   answering it, and keeping a record of each frame (its
                   default, which tests and the console read back: the
                   session's history grows by two records a CALL)
  ... CSMS as under load
                   the same with the dev CSMS keeping no history
                   (`keep_exchanges=0`, as `chargebox csms --load`, the fleet's
                   CSMS and bench_day run it): what the station's round trip
                   costs against a CSMS that keeps what it is sent elsewhere.
                   The difference between the two rows is the CSMS's growing
                   history, mostly the cyclic garbage collector walking it
  ocpp package     the same CALL from the `ocpp` package's ChargePoint to a
                   Central System of the same package (asyncio, `websockets`)
  endpoint alone   the same CALL on an endpoint whose websocket is an
                   in-memory stand-in that answers at once: what the endpoint
                   itself costs per CALL (encoding, the calls chart, decoding);
                   the stand-in has no reader task, so its answers come through
                   the endpoint's own loop (a task step more than on a websocket)
Each figure is the median of the rounds; the ratios are against the echo and
against the `ocpp` package. "task steps" counts trio's task steps per round
trip (both ends, one process), read with a trio instrument.

Run: python bench/bench_roundtrip.py [--calls N] [--rounds R] [--profile]

--profile samples the stacks of the Heartbeat CALLs (a CPU-time timer signal
every few milliseconds, both ends in one process) instead of timing them, and
prints the share of the samples each function was running (its own time) and
was on the stack (its cumulative time). Where an engine function's time goes
on the path of a round trip, caches cold between the two ends' work: a
function takes several times longer there than alone in a loop, and cProfile's
own cost per call would hide that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import trio
from _station import Evse, loopback_config
from trio_websocket import CloseReason, ConnectionClosed, open_websocket_url, serve_websocket

from chargebox.actors.endpoint import Endpoint
from chargebox.actors.timers import TimerService
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.ocpp.v16 import HeartbeatRequest
from chargebox.station import Host, open_charge_point

try:  # the `ocpp` package and `websockets` come with the test extra
    import websockets
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint as OcppChargePoint
    from ocpp.v16 import call as ocpp_call
    from ocpp.v16 import call_result as ocpp_result
except ImportError:  # pragma: no cover - measured only when installed
    websockets = None

REPO = Path(__file__).resolve().parent.parent

CALL_TEXT = json.dumps([2, "0" * 36, "Heartbeat", {}])
RESULT_TEXT = json.dumps([3, "0" * 36, {"currentTime": "2025-03-14T09:58:20.000Z"}])


class TaskSteps(trio.abc.Instrument):
    """Counts trio's task steps (one task running until its next checkpoint)."""

    def __init__(self) -> None:
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1


async def measured(calls: int, one: object, steps: list[float]) -> float:
    """Run `calls` awaits of `one()`; the rate, and the task steps per call into `steps`
    (counted on 100 more calls: an instrument costs time on every step)."""
    start = time.perf_counter()
    for _ in range(calls):
        await one()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    counter = TaskSteps()
    trio.lowlevel.add_instrument(counter)
    for _ in range(100):
        await one()  # type: ignore[operator]
    trio.lowlevel.remove_instrument(counter)
    steps.append(counter.steps / 100)
    return calls / elapsed


async def echo_rate(calls: int, steps: list[float]) -> float:
    """Round trips per second of a bare trio-websocket client and server."""

    async def answer(request):
        ws = await request.accept()
        while True:
            await ws.get_message()
            await ws.send_message(RESULT_TEXT)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, answer, "127.0.0.1", 0, None)
        async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:

            async def one() -> None:
                await ws.send_message(CALL_TEXT)
                await ws.get_message()

            rate = await measured(calls, one, steps)
        nursery.cancel_scope.cancel()
    return rate


async def call_rate(
    calls: int, folder: Path, steps: list[float], keep_exchanges: int | None = None
) -> float:
    """Heartbeat CALLs per second from a registered station to the development CSMS
    (keeping `keep_exchanges` records a session: None, its default, every one)."""
    csms = CentralSystem(CsmsSettings(heartbeat_interval=86400, keep_exchanges=keep_exchanges))
    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        async with open_charge_point(
            loopback_config(folder, csms.port), Host(evse=Evse()), data_dir=folder / "data"
        ) as cp:
            await cp.wait_until(lambda: cp.registered)
            # the statuses and the security event of the registration go first
            await cp.drain(30)
            request = HeartbeatRequest()
            rate = await measured(calls, lambda: cp.call(request), steps)
        nursery.cancel_scope.cancel()
    return rate


class StackSampler:
    """Counts, at each CPU-time timer signal, the function running and those on its stack."""

    def __init__(self) -> None:
        self.samples = 0
        self.own: Counter[str] = Counter()
        self.cumulative: Counter[str] = Counter()

    @staticmethod
    def _name(frame: object) -> str:
        code = frame.f_code  # type: ignore[attr-defined]
        where = code.co_filename.split("site-packages/")[-1].split("/src/")[-1]
        return f"{where}:{code.co_name}"

    def _sample(self, _signal: int, frame: object) -> None:
        self.samples += 1
        self.own[self._name(frame)] += 1
        seen = set()
        while frame is not None:
            name = self._name(frame)
            if name not in seen:
                seen.add(name)
                self.cumulative[name] += 1
            frame = frame.f_back  # type: ignore[attr-defined]

    async def measure(self, calls: int, one: object, _steps: list[float]) -> float:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
        try:
            for _ in range(calls):
                await one()  # type: ignore[operator]
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
        return 1.0

    def report(self) -> None:
        total = self.samples or 1
        print(f"{self.samples} samples; own time (the function running):")
        for name, count in self.own.most_common(25):
            print(f"  {100 * count / total:5.1f}%  {name}")
        print("cumulative (on the stack), chargebox's functions:")
        for name, count in self.cumulative.most_common():
            if name.startswith("chargebox/") and count / total >= 0.01:
                print(f"  {100 * count / total:5.1f}%  {name}")


def profile(calls: int) -> None:
    """Sample the stacks of `calls` Heartbeat CALLs through `cp.call` (see --profile)."""
    global measured
    sampler = StackSampler()
    measured = sampler.measure
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(call_rate, calls, Path(tmp), [])
    sampler.report()


async def ocpp_rate(calls: int) -> float:
    """Heartbeat CALLs per second between the `ocpp` package's two ends (asyncio)."""

    class Csms(OcppChargePoint):
        @on("Heartbeat")
        async def on_heartbeat(self) -> object:
            return ocpp_result.Heartbeat(current_time="2025-03-14T09:58:20.000Z")

    async def serve(connection: object) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await Csms("BENCH", connection).start()

    async with websockets.serve(serve, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/BENCH", subprotocols=["ocpp1.6"]
        ) as connection:
            station = OcppChargePoint("BENCH", connection)
            reader = asyncio.create_task(station.start())
            start = time.perf_counter()
            for _ in range(calls):
                await station.call(ocpp_call.Heartbeat())
            rate = calls / (time.perf_counter() - start)
            reader.cancel()
    return rate


class AnsweringSocket:
    """The endpoint's side of a websocket whose peer answers every CALL at once."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[str](math.inf)

    async def get_message(self) -> str:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            raise ConnectionClosed(CloseReason(1000, "done")) from None

    async def send_message(self, text: str) -> None:
        unique_id = json.loads(text)[1]
        self._send.send_nowait(RESULT_TEXT.replace("0" * 36, unique_id))

    def close(self) -> None:
        self._send.close()


async def endpoint_rate(calls: int) -> float:
    """Heartbeat CALLs per second through an Endpoint alone (no network, no CSMS)."""

    async def router(_spec: object, _request: object) -> None:
        return None

    endpoint = Endpoint(router)
    ws = AnsweringSocket()
    endpoint.attach(ws)  # type: ignore[arg-type]
    endpoint.set_accepted(True)
    request = HeartbeatRequest()
    async with trio.open_nursery() as nursery:
        # the answer timers in a timer service, as in a station
        endpoint.timers = TimerService(nursery)
        nursery.start_soon(endpoint.serve, ws)
        start = time.perf_counter()
        for _ in range(calls):
            await endpoint.call(request)
        rate = calls / (time.perf_counter() - start)
        ws.close()
    return rate


async def chargebox_round(calls: int, figures: dict[str, list[float]]) -> None:
    figures["echo"].append(await echo_rate(calls, figures["echo steps"]))
    with tempfile.TemporaryDirectory() as tmp:
        figures["call"].append(await call_rate(calls, Path(tmp), figures["call steps"]))
    with tempfile.TemporaryDirectory() as tmp:
        lean = await call_rate(calls, Path(tmp), figures["lean steps"], keep_exchanges=0)
        figures["lean"].append(lean)
    figures["alone"].append(await endpoint_rate(calls))


def main(calls: int, rounds: int) -> None:
    figures: dict[str, list[float]] = {
        name: []
        for name in (
            *("echo", "echo steps", "call", "call steps", "lean", "lean steps"),
            *("alone", "ocpp"),
        )
    }
    for _ in range(rounds):
        trio.run(chargebox_round, calls, figures)
        if websockets is not None:
            figures["ocpp"].append(asyncio.run(ocpp_rate(calls)))
    echo, call, own = (statistics.median(figures[k]) for k in ("echo", "call", "alone"))
    print(
        f"{calls} sequential round trips x {rounds} rounds (median), loopback TCP; "
        f"python {sys.version.split()[0]}"
    )
    print(f"{'path':<30} {'round trips/s':>13} {'us each':>8} {'vs echo':>8} {'steps':>6}")
    rows = [
        ("websocket echo (floor)", echo, statistics.median(figures["echo steps"])),
        ("Heartbeat CALL (cp.call)", call, statistics.median(figures["call steps"])),
        (
            "... CSMS as under load",
            statistics.median(figures["lean"]),
            statistics.median(figures["lean steps"]),
        ),
    ]
    if figures["ocpp"]:
        rows.append(("ocpp package (asyncio)", statistics.median(figures["ocpp"]), None))
    for name, rate, steps in rows:
        shown = f"{steps:>6.1f}" if steps is not None else f"{'':>6}"
        print(f"{name:<30} {rate:>13.0f} {1e6 / rate:>8.1f} {rate / echo:>7.2f}x {shown}")
    print(f"{'endpoint alone (no network)':<30} {own:>13.0f} {1e6 / own:>8.1f}")
    if figures["ocpp"]:
        print(f"Heartbeat CALL / ocpp package: {call / statistics.median(figures['ocpp']):.2f}x")
    else:
        print("the `ocpp` package is not installed: pip install -e '.[test]' to compare")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="sample the CALLs' stacks")
    args = parser.parse_args()
    if args.profile:
        profile(args.calls)
    else:
        main(args.calls, args.rounds)
