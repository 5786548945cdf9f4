"""`chargebox demo`: a whole charging session in seconds, nothing to install or configure.

The development CSMS listens on an ephemeral loopback port, a simulated
one-connector station connects to it, and a session runs from boot to unplug
with an hour of charging in accelerated time (chargebox.sim.demo). It ends
with a summary and the path of the HTML message log; exit status 0 when the
session completed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import trio
import trio.testing

from chargebox.cli._checks import OptionError, usable_folder
from chargebox.sim.demo import DemoSettings, run_demo, summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a charging session between a simulated station and the development CSMS",
        description="Run the development CSMS and a simulated station in one process and show "
        "a whole charging session (boot, plug, RFID, an hour of charging in accelerated time, "
        "stop, unplug), then a summary and the path of the HTML message log.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the station keeps its state and message logs "
        "(default: a new folder under the system's temporary directory)",
    )
    parser.add_argument(
        "--hours", type=float, default=1.0, help="simulated hours of charging (default 1)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1200.0,
        help="how many times faster than real time the charging runs (default 1200)",
    )
    parser.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if not (args.hours > 0 and args.rate > 0):
        print("chargebox demo: --hours and --rate must be greater than 0", file=sys.stderr)
        return 2
    if args.data_dir is not None:
        try:
            usable_folder(args.data_dir, "--data-dir")
        except OptionError as e:
            print(f"chargebox demo: {e}", file=sys.stderr)
            return 2
    settings = DemoSettings(data_dir=args.data_dir, charging=args.hours * 3600, rate=args.rate)
    print("chargebox demo: the development CSMS and a simulated station, one charging session")
    print()

    def say(text: str) -> None:
        print(text, flush=True)

    result = trio.run(run_demo, settings, say, clock=trio.testing.MockClock(rate=1.0))
    summary(result, sys.stdout)
    return 0 if result.ok else 1
