"""Fleet: how many stations one process holds, how fast they are all Accepted, what each costs.

The development CSMS runs in a process of its own (`chargebox csms --load`); each
measurement runs in a fresh process of this script, so that its memory is its own:

  engine   N x open_charge_point in one nursery, as an embedder would write it: a
           configuration file loaded per station, the SQLite store in memory
           (N = 1 is the single-station baseline)
  fleet    chargebox.fleet: one shared configuration template, a MemoryStore per
           station, no message log, the idle profile
  shared   the fleet with every station's store in one SQLite file (--shared-db)

Measured: seconds from the first start until every station is Accepted, the
process's RSS (after all are Accepted, and its peak) and the part of it each
station adds, trio tasks per station, seconds to shut down (transactions
stopped, queues drained, websockets closed), and the CSMS process's RSS and
tasks per connection.

Run: python bench/bench_fleet.py [--sizes 100,1000] [--big] [--ramp 1000] [--connectors 2]
     (--big adds 10,000 stations of the fleet; it takes a few minutes)
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trio

# imported before anything is measured: their memory is no station's
from chargebox.config import ChargePointConfig
from chargebox.fleet import Fleet, FleetSpec
from chargebox.station import Host, open_charge_point

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "config" / "ocpp-config.json"
PATH = "/steve/websocket/CentralSystemService/"


def status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def template(folder: Path, connectors: int, port: int) -> Path:
    document = json.loads(SEED.read_text())
    document["Internal"]["CentralSystemURI"] = f"127.0.0.1:{port}{PATH}"
    document["Security"]["SecurityProfile"] = 0
    document["Core"]["NumberOfConnectors"] = connectors
    document["Core"]["WebSocketPingInterval"] = document["Core"].pop("WebsocketPingInterval", 0)
    document["Core"]["ConnectorPhaseRotation"] = ",".join(f"{c}.RST" for c in range(connectors + 1))
    path = folder / "template.json"
    path.write_text(json.dumps(document, indent=2))
    return path


# -- the CSMS process ----------------------------------------------------------------------


class Csms:
    """`chargebox csms --port 0 --load --report 1`, its count lines read by a thread.

    With `load` False: `chargebox csms --port 0 --quiet`, a line per message (kept in
    memory by the thread, as a terminal's scrollback would) and every exchange recorded."""

    def __init__(self, load: bool = True) -> None:
        mode = ["--load", "--report", "1"] if load else ["--quiet"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chargebox", "csms", "--port", "0", *mode],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        first = self.proc.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"listening on ws://127\.0\.0\.1:(\d+)", first)
        if match is None:
            raise RuntimeError(f"the CSMS did not start: {first}")
        self.port = int(match.group(1))
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    def peak(self) -> tuple[int, int]:
        """(charge points connected, tasks) of the count line with the most connections."""
        best = (0, 0)
        for line in self.lines:
            match = re.search(r"([\d,]+) charge points connected.* ([\d,]+) tasks", line)
            if match:
                seen = tuple(int(g.replace(",", "")) for g in match.groups())
                best = max(best, seen)  # type: ignore[assignment]
        return best

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- one measurement (in a process of its own) ----------------------------------------------


async def measure(variant: str, n: int, port: int, csms_pid: int, ramp: float, connectors: int):
    folder = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    path = template(folder, connectors, port)
    files = []
    if variant == "engine":
        document = json.loads(path.read_text())
        for i in range(1, n + 1):
            document["Internal"]["ChargePointId"] = f"cp{i:05d}"
            each = folder / f"cp{i:05d}.json"
            each.write_text(json.dumps(document))
            files.append(each)
    gc.collect()
    before = status()
    csms_before = status(csms_pid)
    tasks_before = trio.lowlevel.current_statistics().tasks_living
    result: dict[str, Any] = {"variant": variant, "n": n}
    t0 = time.monotonic()
    async with trio.open_nursery() as nursery:
        if variant == "engine":
            registered = await engine_stations(nursery, files, ramp)
            wait = registered.wait
            stop = nursery.cancel_scope.cancel
        else:
            fleet, done = await fleet_stations(nursery, variant, path, n, ramp, folder)
            accepted = trio.Event()

            async def watch() -> None:
                while fleet.stats.ever_accepted < n:
                    await trio.sleep(0.05)
                accepted.set()

            nursery.start_soon(watch)
            wait = accepted.wait
            stop = fleet.stop
        with trio.move_on_after(600) as scope:
            await wait()
        result["accepted_s"] = None if scope.cancelled_caught else time.monotonic() - t0
        gc.collect()
        after = status()
        result["tasks"] = trio.lowlevel.current_statistics().tasks_living - tasks_before
        result["rss_mb"] = after["VmRSS"] / 1024
        result["per_station_kb"] = (after["VmRSS"] - before["VmRSS"]) / n
        csms_after = status(csms_pid)
        result["csms_per_connection_kb"] = (csms_after["VmRSS"] - csms_before["VmRSS"]) / n
        result["csms_rss_mb"] = csms_after["VmRSS"] / 1024
        t1 = time.monotonic()
        stop()
        if variant != "engine":
            await done.wait()
    result["shutdown_s"] = time.monotonic() - t1
    result["peak_mb"] = status()["VmHWM"] / 1024
    if variant != "engine":
        result["errors"] = fleet.summary.errors if fleet.summary else {}
        result["websockets_closed_s"] = fleet.summary.websockets_closed_s
    print(json.dumps(result), flush=True)


async def engine_stations(nursery: trio.Nursery, files: list[Path], ramp: float) -> trio.Event:
    class Evse:
        async def authorize(self, connector_id: int, id_tag: str) -> None:
            pass

    registered = trio.Event()
    count = [0]

    async def one(path: Path) -> None:
        config = ChargePointConfig.load(path)
        async with open_charge_point(config, Host(evse=Evse())) as cp:
            await cp.wait_until(lambda: cp.registered)
            count[0] += 1
            if count[0] == len(files):
                registered.set()
            await trio.sleep_forever()

    start = trio.current_time()
    for i, path in enumerate(files):
        if ramp:
            await trio.sleep_until(start + i / ramp)
        nursery.start_soon(one, path)
    return registered


async def fleet_stations(
    nursery: trio.Nursery, variant: str, path: Path, n: int, ramp: float, folder: Path
) -> tuple[Any, trio.Event]:
    spec = FleetSpec(
        config=path,
        count=n,
        ramp=ramp,
        shared_db=folder / "fleet.db" if variant == "shared" else None,
        tune_gc=os.environ.get("BENCH_GC_DEFAULT") is None,
    )
    fleet = Fleet(spec)
    fleet.summary = None  # type: ignore[attr-defined]
    done = trio.Event()

    async def run() -> None:
        fleet.summary = await fleet.run()  # type: ignore[attr-defined]
        done.set()

    nursery.start_soon(run)
    return fleet, done


# -- the table -----------------------------------------------------------------------------


def run_one(
    variant: str, n: int, ramp: float, connectors: int, load: bool = True
) -> dict[str, Any]:
    csms = Csms(load)
    try:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                variant,
                str(n),
                str(csms.port),
                str(csms.proc.pid),
                str(ramp),
                str(connectors),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        time.sleep(1.2)  # the CSMS's next count line
        lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
        if child.returncode or not lines:
            raise RuntimeError(f"{variant} {n}: {child.stderr[-2000:]}")
        result = json.loads(lines[-1])
        connected, tasks = csms.peak()
        result["csms_tasks_per_connection"] = tasks / connected if connected else None
        if not load:
            result["variant"] += " (csms --quiet)"
        return result
    finally:
        csms.stop()


def show(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'variant':<22} {'stations':>8} {'all Accepted':>12} {'RSS':>9} {'peak':>9} "
        f"{'per station':>11} {'tasks/st.':>9} {'shutdown':>8} {'CSMS/conn.':>10} "
        f"{'CSMS tasks/conn.':>16}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        accepted = f"{r['accepted_s']:.1f} s" if r["accepted_s"] is not None else "no"
        csms_tasks = r.get("csms_tasks_per_connection")
        print(
            f"{r['variant']:<22} {r['n']:>8,} {accepted:>12} {r['rss_mb']:>6.0f} MB "
            f"{r['peak_mb']:>6.0f} MB {r['per_station_kb']:>8.0f} KB {r['tasks'] / r['n']:>9.1f} "
            f"{r['shutdown_s']:>6.1f} s {r['csms_per_connection_kb']:>7.1f} KB "
            f"{csms_tasks if csms_tasks is None else round(csms_tasks, 1)!s:>16}"
        )
    baseline = next((r for r in rows if r["variant"] == "engine" and r["n"] == 1), None)
    if baseline is not None:
        print(
            f"\nsingle station (engine, N = 1): {baseline['per_station_kb']:.0f} KB, "
            f"{baseline['tasks']} tasks, Accepted in {baseline['accepted_s']:.2f} s"
        )
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["n"] > 1:
            by_variant.setdefault(r["variant"], []).append(r)
    for variant, runs in by_variant.items():
        runs.sort(key=lambda r: r["n"])
        for small, large in itertools.pairwise(runs):
            marginal = (large["rss_mb"] - small["rss_mb"]) * 1024 / (large["n"] - small["n"])
            print(
                f"{variant}: each station more from {small['n']:,} to {large['n']:,}: "
                f"{marginal:.0f} KB"
            )
    for r in rows:
        if r.get("websockets_closed_s") is not None:
            closed = r["websockets_closed_s"]
            print(
                f"{r['variant']} {r['n']:,}: every websocket closed {closed:.1f} s into the "
                f"{r['shutdown_s']:.1f} s shutdown (the rest: the engines' tasks ending)"
            )
    for r in rows:
        if r.get("errors"):
            print(f"{r['variant']} {r['n']}: errors {r['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="fleet sizes (comma-separated)")
    parser.add_argument("--big", action="store_true", help="add 10,000 stations of the fleet")
    parser.add_argument("--ramp", type=float, default=1000.0, help="stations started per second")
    parser.add_argument("--connectors", type=int, default=2)
    parser.add_argument(
        "--variants", default="engine,fleet,shared", help="engine, fleet, shared (comma-separated)"
    )
    parser.add_argument(
        "--csms-quiet",
        action="store_true",
        help="also run the fleet at the largest size against `chargebox csms --quiet` (a line "
        "per message, every exchange kept) to compare with --load",
    )
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, n, port, pid, ramp, connectors = args.child
        trio.run(measure, variant, int(n), int(port), int(pid), float(ramp), int(connectors))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    rows = [run_one("engine", 1, args.ramp, args.connectors)]
    for n in sizes:
        for variant in variants:
            rows.append(run_one(variant, n, args.ramp, args.connectors))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.csms_quiet and sizes:
        rows.append(run_one("fleet", max(sizes), args.ramp, args.connectors, load=False))
    if args.big:
        rows.append(run_one("fleet", 10_000, args.ramp, args.connectors))
    show(rows)


if __name__ == "__main__":
    main()
