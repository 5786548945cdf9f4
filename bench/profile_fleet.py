"""Where a fleet's start-up and shutdown spend their time: CPU, garbage collection, a profile.

The development CSMS runs in a process of its own (`chargebox csms --load`, as in
bench_fleet.py); the fleet runs here, the idle profile, stations with 2 connectors
started at 1,000 per second. Printed for the boot (first start to every station
Accepted) and the shutdown (`Fleet.stop()` to the end of the run): wall seconds,
the fleet's CPU seconds, the garbage collector's collections and seconds by
generation, and the CSMS process's CPU seconds. With `--profile boot|shutdown` that
phase runs under cProfile and its statistics go to a file (read them with
`python -m pstats FILE`); the profiler slows the phase two to three times.

Run: python bench/profile_fleet.py [--count 5000] [--python-gc] [--profile shutdown]
     (--python-gc: Python's own collector thresholds instead of FleetSpec.tune_gc's)
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fleet import Csms, template

from chargebox.fleet import Fleet, FleetSpec


class Collections:
    """The collector's passes (generation, seconds), through gc.callbacks."""

    def __init__(self) -> None:
        self.passes: list[tuple[int, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.passes.append((info["generation"], time.perf_counter() - self._start))

    def take(self) -> str:
        by_generation = {g: [s for gen, s in self.passes if gen == g] for g in (0, 1, 2)}
        self.passes = []
        return ", ".join(
            f"gen{g} {len(times)} in {sum(times):.2f} s" for g, times in by_generation.items()
        )


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    count: int, port: int, csms_pid: int, tune_gc: bool, phase: str | None, out: Path
) -> None:
    path = template(Path(tempfile.mkdtemp(prefix="profile-fleet-")), 2, port)
    fleet = Fleet(FleetSpec(config=path, count=count, ramp=1000, tune_gc=tune_gc))
    collections = Collections()
    gc.callbacks.append(collections)
    profile = cProfile.Profile()
    summary: list[Any] = []

    async def run() -> None:
        summary.append(await fleet.run())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        wall, cpu, csms = time.monotonic(), time.process_time(), cpu_of(csms_pid)
        if phase == "boot":
            profile.enable()
        while fleet.stats.ever_accepted < count:
            await trio.sleep(0.05)
        if phase == "boot":
            profile.disable()
        print(
            f"boot      {count:,} Accepted in {time.monotonic() - wall:.1f} s; fleet CPU "
            f"{time.process_time() - cpu:.1f} s (collector: {collections.take()}); CSMS CPU "
            f"{cpu_of(csms_pid) - csms:.1f} s; {len(gc.get_objects()):,} objects tracked"
        )
        wall, cpu, csms = time.monotonic(), time.process_time(), cpu_of(csms_pid)
        if phase == "shutdown":
            profile.enable()
        fleet.stop()
    if phase == "shutdown":
        profile.disable()
    closed = summary[0].websockets_closed_s
    print(
        f"shutdown  {time.monotonic() - wall:.1f} s (every websocket closed after {closed:.1f} s); "
        f"fleet CPU {time.process_time() - cpu:.1f} s (collector: {collections.take()}); "
        f"CSMS CPU {cpu_of(csms_pid) - csms:.1f} s; errors {summary[0].errors or 'none'}"
    )
    gc.callbacks.remove(collections)
    if phase is not None:
        profile.dump_stats(out)
        print(f"profile of the {phase}: {out} (python -m pstats {out})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="stations (5000)")
    parser.add_argument(
        "--python-gc", action="store_true", help="Python's collector thresholds (no tune_gc)"
    )
    parser.add_argument("--profile", choices=("boot", "shutdown"), help="profile this phase")
    parser.add_argument("--out", type=Path, help="the profile's file (fleet-PHASE-COUNT.prof)")
    args = parser.parse_args()
    out = args.out or Path(f"fleet-{args.profile}-{args.count}.prof")
    csms = Csms(load=True)
    try:
        trio.run(
            measure, args.count, csms.port, csms.proc.pid, not args.python_gc, args.profile, out
        )
    finally:
        csms.stop()


if __name__ == "__main__":
    main()
