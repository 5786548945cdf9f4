"""`chargebox fleet --config TEMPLATE --count N --csms URL`: many simulated stations at once.

Every station is the engine with a light simulated host (chargebox.fleet), its
id from `--id-pattern`, its configuration the template's; they connect at the
`--ramp` rate and behave as `--profile` says until `--duration` passed or
Ctrl-C (SIGINT, SIGTERM): then their transactions stop, what they still have
to send goes out, their websockets close, and the summary is printed (and
written as JSON with `--json FILE`). A live progress line goes to standard
error.

`--shard i/n` runs one shard of the fleet (the stations whose number modulo n
is i); `--processes K` runs K shard processes on this machine and merges their
summaries. `--csms dev` runs the development CSMS inside the fleet's process
(on the in-process network), the only Central System `--virtual-time` can use.

Exit status: 0 when the fleet ran, 1 when it could not (no station could
connect, a store that cannot be used), 2 for an option that cannot be used
(one line naming it).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import attrs
import cattrs
import trio
import trio.testing

from chargebox.errors import StoreError
from chargebox.fleet import (
    PROFILES,
    Fleet,
    FleetError,
    FleetSpec,
    Profile,
    Progress,
    Shard,
    Summary,
    make_plan,
    merge,
    parse_shard,
    profile_named,
)
from chargebox.fleet.runner import Unreachable, first_fleet_error
from chargebox.station import Options
from chargebox.store import DURABILITIES

#: where `--csms dev` listens on the in-process network
DEV_ADDRESS = ("csms.dev", 80)
DEV_URL = f"{DEV_ADDRESS[0]}:{DEV_ADDRESS[1]}/steve/websocket/CentralSystemService/"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fleet",
        help="run many simulated stations against a Central System",
        description="Run N simulated OCPP 1.6J stations from one configuration template "
        "against a Central System, with sessions as a profile says; print a progress line and "
        "a summary (connections, registrations, transactions, messages, CALL latency, errors).",
    )
    parser.add_argument(
        "--config", type=Path, required=True, metavar="TEMPLATE", help="configuration template"
    )
    parser.add_argument("--count", type=int, required=True, metavar="N", help="stations in all")
    parser.add_argument(
        "--id-pattern",
        default="cp{:05d}",
        metavar="PATTERN",
        help="station ids: one placeholder for the station number (default cp{:05d})",
    )
    parser.add_argument(
        "--first", type=int, default=1, metavar="N", help="the first station's number (1)"
    )
    parser.add_argument(
        "--csms",
        metavar="URL",
        help="the Central System's URL (each station appends its id); 'dev': the development "
        "CSMS in this process; default: the template's CentralSystemURI",
    )
    parser.add_argument("--connectors", type=int, metavar="N", help="overrides NumberOfConnectors")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="a folder per station here (its SQLite store)"
    )
    where.add_argument(
        "--shared-db", type=Path, metavar="FILE", help="one SQLite file for every station's store"
    )
    parser.add_argument(
        "--durability",
        default="crash-safe",
        metavar="MODE",
        help="how --data-dir stores commit: crash-safe (default: a killed fleet loses nothing "
        "acknowledged) or power-safe (every commit synced, as in a station)",
    )
    parser.add_argument(
        "--profile",
        default="idle",
        metavar="NAME",
        help=f"behaviour: {', '.join(PROFILES)} (default idle); the options below change it",
    )
    parser.add_argument("--arrivals-per-hour", type=float, metavar="R", help="EVs/h per connector")
    parser.add_argument("--charge-minutes", type=float, metavar="M", help="mean charging time")
    parser.add_argument("--power-kw", type=float, metavar="KW", help="power while charging")
    parser.add_argument(
        "--meter-interval", type=float, metavar="S", help="seconds between meter readings"
    )
    parser.add_argument(
        "--id-tags", metavar="TAG,...", help="the idTags drivers present (default: unique ones)"
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=100.0,
        metavar="RATE",
        help="stations started per second (default 100; 0: all at once)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="how long the fleet runs, in the stations' seconds (default: until Ctrl-C)",
    )
    clock = parser.add_mutually_exclusive_group()
    clock.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="the stations' clock runs X times faster than real time (timeouts follow)",
    )
    clock.add_argument(
        "--virtual-time",
        action="store_true",
        help="purely virtual time, jumping ahead whenever every station waits (needs --csms dev)",
    )
    shards = parser.add_mutually_exclusive_group()
    shards.add_argument("--shard", metavar="I/N", help="run shard I of N (0 <= I < N)")
    shards.add_argument(
        "--processes", type=int, metavar="K", help="run K shard processes on this machine"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the random draws' seed")
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="write the summary as JSON (-: to standard output, the text summary then goes to "
        "standard error)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "lines", "jsonl", "none"),
        default="auto",
        help="the progress report: a line redrawn on a terminal, lines elsewhere (auto), "
        "JSON lines on standard output (jsonl), or none",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="print the engines' log (-v, -vv)"
    )
    parser.set_defaults(func=fleet_command)


# -- checking what was asked -------------------------------------------------------------


def _profile(args: argparse.Namespace) -> Profile:
    profile = profile_named(args.profile)
    changes: dict[str, Any] = {}
    for name in ("arrivals_per_hour", "charge_minutes", "power_kw", "meter_interval"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.id_tags is not None:
        tags = tuple(t.strip() for t in args.id_tags.split(",") if t.strip())
        if not tags or any(len(t) > 20 for t in tags):
            raise FleetError(
                f"--id-tags {args.id_tags!r}: give idTags of 1 to 20 characters, separated by "
                "commas"
            )
        changes["id_tags"] = tags
    if changes:
        profile = attrs.evolve(profile, name=f"{profile.name}+", **changes)
    return profile


def _spec(args: argparse.Namespace) -> FleetSpec:
    """The fleet the options describe; FleetError (one line) for one that cannot be."""
    if args.count is not None and args.count < 1:
        raise FleetError(f"--count {args.count}: a fleet needs at least 1 station")
    if args.virtual_time and args.csms != "dev":
        raise FleetError(
            "--virtual-time needs --csms dev: a Central System in another process runs on real "
            "time (use --speed X to run the stations' clock faster)"
        )
    if not args.speed > 0 or math.isinf(args.speed):
        raise FleetError(f"--speed {args.speed}: allowed is a number more than 0")
    if args.duration is not None and not args.duration > 0:
        raise FleetError(f"--duration {args.duration}: allowed is more than 0 seconds")
    if args.processes is not None and args.processes < 1:
        raise FleetError(f"--processes {args.processes}: allowed is 1 or more")
    if args.processes is not None and args.processes > 1 and args.shared_db is not None:
        raise FleetError(
            "--shared-db with --processes: processes cannot share one SQLite file; run each "
            "shard with --shard I/N and a file of its own, or use --data-dir"
        )
    shard = parse_shard(args.shard) if args.shard is not None else Shard()
    if args.durability not in DURABILITIES:
        raise FleetError(
            f"--durability {args.durability!r} is not a durability "
            f"(known: {', '.join(DURABILITIES)})"
        )
    options = Options(durability=args.durability)
    if args.virtual_time:
        options.blocking_inline = True  # a worker thread would let the virtual clock jump
    return FleetSpec(
        config=args.config,
        count=args.count,
        id_pattern=args.id_pattern,
        first=args.first,
        csms_url=DEV_URL if args.csms == "dev" else args.csms,
        connectors=args.connectors,
        data_dir=args.data_dir,
        shared_db=args.shared_db,
        profile=_profile(args),
        ramp=args.ramp,
        duration=args.duration,
        shard=shard,
        seed=args.seed,
        speed=args.speed,
        options=options,
    )


def fleet_command(args: argparse.Namespace) -> int:
    engine_log = logging.getLogger("chargebox")
    propagate = engine_log.propagate
    try:
        _logging(args.verbose)
        return _fleet(args)
    finally:
        engine_log.propagate = propagate


def _fleet(args: argparse.Namespace) -> int:
    try:
        spec = _spec(args)
        if args.processes is not None and args.processes > 1:
            # checked here once, so that a bad option is one line, not one per process
            make_plan(
                spec.config,
                count=spec.count,
                id_pattern=spec.id_pattern,
                first=spec.first,
                csms_url=spec.csms_url,
                connectors=spec.connectors,
            )
            return _run_processes(args)
        fleet = Fleet(spec)
    except FleetError as e:
        print(f"chargebox fleet: {e}", file=sys.stderr)
        return 2
    clock = None
    if args.virtual_time:
        clock = trio.testing.MockClock(autojump_threshold=0)
    elif args.speed != 1.0:
        clock = trio.testing.MockClock(rate=args.speed)
    try:
        summary = trio.run(_main, fleet, args, clock=clock)
    except (Unreachable, StoreError) as e:
        print(f"chargebox fleet: {e}", file=sys.stderr)
        return 1
    except FleetError as e:
        print(f"chargebox fleet: {e}", file=sys.stderr)
        return 2
    return _report(summary, args)


def _logging(verbose: int) -> None:
    if verbose:
        level = logging.INFO if verbose == 1 else logging.DEBUG
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    else:
        # the engines' warnings are counted in the summary, not printed ten thousand times
        logging.getLogger("chargebox").propagate = False


def _report(summary: Summary, args: argparse.Namespace) -> int:
    if args.json is not None:
        try:
            _write_json(args.json, summary)
        except OSError as e:
            print(f"chargebox fleet: cannot write {args.json}: {e.strerror or e}", file=sys.stderr)
            return 1
    if args.progress != "jsonl":
        # with --json - the JSON has standard output to itself
        out = sys.stderr if str(args.json) == "-" else sys.stdout
        print(summary.text(), file=out, flush=True)
    return 0


def _write_json(path: Path, summary: Summary) -> None:
    text = json.dumps(summary.to_json(), indent=2) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


# -- one process --------------------------------------------------------------------------


async def _main(fleet: Fleet, args: argparse.Namespace) -> Summary:
    show = _progress_writer(args.progress)
    async with first_fleet_error(), trio.open_nursery() as nursery:
        if args.csms == "dev":
            fleet.spec.options.open_stream = await nursery.start(_dev_csms)
        nursery.start_soon(_signals, fleet, nursery.cancel_scope)
        summary = await fleet.run(progress=show, progress_interval=_interval(args.progress))
        if show is not None:
            show(None)
        nursery.cancel_scope.cancel()
    return summary


def _interval(mode: str) -> float:
    if mode == "jsonl":
        return 1.0
    return 1.0 if mode == "auto" and sys.stderr.isatty() else 10.0


async def _dev_csms(*, task_status: trio.TaskStatus[Any]) -> None:
    """The development CSMS on the in-process network, for `--csms dev`."""
    from chargebox.actors.clock import StationClock
    from chargebox.csms import CentralSystem, CsmsSettings
    from chargebox.netsim import Network

    csms = CentralSystem(CsmsSettings(keep_exchanges=0))
    csms.clock = StationClock().now  # the stations' calendar, also on a virtual clock
    net = Network()
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        net.listen(*DEV_ADDRESS, csms)
        task_status.started(net.open_stream)
        await trio.sleep_forever()


async def _signals(fleet: Fleet, scope: trio.CancelScope) -> None:
    """The first Ctrl-C (or SIGTERM) winds the fleet down; a second one stops at once."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if fleet.closing:
                scope.cancel()
                return
            fleet.stop()


def _progress_writer(mode: str) -> Any:
    if mode == "none":
        return None
    if mode == "jsonl":
        return _JsonLines(sys.stdout)
    return _ProgressLine(sys.stderr, redraw=mode == "auto" and sys.stderr.isatty())


class _ProgressLine:
    """`1,000/1,000 started, 998 connected, 998 Accepted, tx 12/10, 250 msg/s, ...`"""

    def __init__(self, out: TextIO, *, redraw: bool) -> None:
        self.out = out
        self.redraw = redraw
        self._last: tuple[float, int] | None = None

    def __call__(self, progress: Progress | None) -> None:
        if progress is None:
            if self.redraw:
                print(file=self.out, flush=True)  # the summary starts on a line of its own
            return
        line = describe(progress, self._last)
        self._last = (progress.elapsed_s, progress.messages)
        if self.redraw:
            print(f"\r\x1b[K{line}", end="", file=self.out, flush=True)
        else:
            print(line, file=self.out, flush=True)


def describe(progress: Progress, last: tuple[float, int] | None = None) -> str:
    """One line: where the fleet is."""
    rate = 0.0
    if last is not None and progress.elapsed_s > last[0]:
        rate = (progress.messages - last[1]) / (progress.elapsed_s - last[0])
    parts = [
        f"{progress.started:,}/{progress.stations:,} started",
        f"{progress.connected:,} connected",
        f"{progress.accepted:,} Accepted",
        f"tx {progress.tx_started:,} started {progress.tx_stopped:,} stopped",
        f"{rate:,.0f} msg/s",
    ]
    if progress.p50_ms is not None and progress.p99_ms is not None:
        parts.append(f"p50 {progress.p50_ms:.1f} ms p99 {progress.p99_ms:.1f} ms")
    parts.append(f"{progress.errors:,} errors")
    clock = _clock(progress.elapsed_s)
    if abs(progress.station_s - progress.elapsed_s) > 1:
        clock += f" (station time {_clock(progress.station_s)})"
    if progress.closing:
        clock += ", winding down"
    parts.append(clock)
    return ", ".join(parts)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _JsonLines:
    """Each Progress as a JSON line (what the parent of `--processes` reads)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, progress: Progress | None) -> None:
        if progress is not None:
            self.out.write(json.dumps(cattrs.unstructure(progress)) + "\n")
            self.out.flush()


# -- several processes ----------------------------------------------------------------------


def _child_argv(args: argparse.Namespace, shard: str, json_path: Path) -> list[str]:
    """The command line of one shard process: this one's options, its shard, JSON out."""
    argv = [sys.executable, "-m", "chargebox", "fleet", "--config", str(args.config)]
    argv += ["--count", str(args.count), "--id-pattern", args.id_pattern]
    # the whole fleet ramps up at --ramp: each of the K processes at its share
    ramp = args.ramp / args.processes
    argv += ["--first", str(args.first), "--profile", args.profile, "--ramp", repr(ramp)]
    optional = {
        "--csms": args.csms,
        "--connectors": args.connectors,
        "--arrivals-per-hour": args.arrivals_per_hour,
        "--charge-minutes": args.charge_minutes,
        "--power-kw": args.power_kw,
        "--meter-interval": args.meter_interval,
        "--id-tags": args.id_tags,
        "--duration": args.duration,
        "--shared-db": args.shared_db,
        "--data-dir": args.data_dir,
        "--durability": args.durability,
    }
    for option, value in optional.items():
        if value is not None:
            argv += [option, str(value)]
    if args.virtual_time:
        argv.append("--virtual-time")
    elif args.speed != 1.0:
        argv += ["--speed", repr(args.speed)]
    argv += ["--seed", str(args.seed + int(shard.split("/")[0]))]
    argv += ["--shard", shard, "--json", str(json_path), "--progress", "jsonl"]
    return argv


def _run_processes(args: argparse.Namespace) -> int:
    return trio.run(_processes, args)


async def _processes(args: argparse.Namespace) -> int:
    """K shard processes side by side; their progress merged into one line, their summaries
    into one summary."""
    count = args.processes
    with tempfile.TemporaryDirectory(prefix="chargebox-fleet-") as folder:
        paths = [Path(folder) / f"shard-{i}.json" for i in range(count)]
        latest: dict[int, Progress] = {}
        errors: list[str] = []
        show = _progress_writer("lines" if args.progress == "jsonl" else args.progress)
        async with trio.open_nursery() as nursery:
            processes = []
            for i in range(count):
                argv = _child_argv(args, f"{i}/{count}", paths[i])
                process = await trio.lowlevel.open_process(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                processes.append(process)
                nursery.start_soon(_read_progress, process, i, latest)
                nursery.start_soon(_read_errors, process, f"{i}/{count}", errors)
            nursery.start_soon(_forward_signals, processes)
            if show is not None:
                nursery.start_soon(_merged_progress, latest, show, _interval(args.progress))
            for process in processes:
                await process.wait()
            nursery.cancel_scope.cancel()
        if show is not None:
            show(None)
        failed = [p.returncode for p in processes if p.returncode]
        if failed:
            shown = errors[0] if errors else f"a shard process ended with status {failed[0]}"
            print(f"chargebox fleet: {shown}", file=sys.stderr)
            return max(failed)
        summaries = [Summary.from_json(json.loads(p.read_text())) for p in paths]
    return _report(merge(summaries), args)


async def _read_progress(process: Any, index: int, latest: dict[int, Progress]) -> None:
    buffer = b""
    async for chunk in process.stdout:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                latest[index] = cattrs.structure(json.loads(line), Progress)
            except (ValueError, cattrs.BaseValidationError):
                continue


async def _read_errors(process: Any, shard: str, errors: list[str]) -> None:
    """The first line a shard process wrote to standard error (its one-line error)."""
    data = b""
    async for chunk in process.stderr:
        data += chunk
    for line in data.decode(errors="replace").splitlines():
        if line.strip():
            errors.append(f"shard {shard}: {line.removeprefix('chargebox fleet: ')}")
            return


async def _forward_signals(processes: list[Any]) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            for process in processes:
                if process.returncode is None:
                    os.kill(process.pid, signal.SIGTERM)


async def _merged_progress(latest: dict[int, Progress], show: Any, interval: float) -> None:
    while True:
        await trio.sleep(interval)
        if not latest:
            continue
        each = list(latest.values())
        p50s = [p.p50_ms for p in each if p.p50_ms is not None]
        p99s = [p.p99_ms for p in each if p.p99_ms is not None]
        merged = Progress(
            elapsed_s=max(p.elapsed_s for p in each),
            station_s=max(p.station_s for p in each),
            stations=sum(p.stations for p in each),
            started=sum(p.started for p in each),
            connected=sum(p.connected for p in each),
            accepted=sum(p.accepted for p in each),
            tx_started=sum(p.tx_started for p in each),
            tx_stopped=sum(p.tx_stopped for p in each),
            messages=sum(p.messages for p in each),
            calls=sum(p.calls for p in each),
            # the shards' medians and tails: the summary has the exact merged ones
            p50_ms=max(p50s) if p50s else None,
            p99_ms=max(p99s) if p99s else None,
            errors=sum(p.errors for p in each),
            closing=any(p.closing for p in each),
        )
        show(merged)
