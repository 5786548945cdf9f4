"""`chargebox sim --config FILE ...`: a simulated station against any Central System.

Commands come one per line from `--script FILE` (or `-` for standard input) or,
without a script, from standard input; the simulator runs until `quit`,
Ctrl-C or SIGTERM, whether or not the commands have ended. The exit status is
0, or 1 when a command failed (a bad line, a `wait` that timed out), or 2 for
a configuration that does not load, a store that cannot be used, or an option
that cannot be used (each problem named in one line). Every command is shown as
it runs (`> plug 1`) when it comes from a script or is typed on a terminal.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import trio
import trio.testing

from chargebox.cli._checks import OptionError, usable_folder
from chargebox.cli._input import stdin_lines
from chargebox.config import ConfigError
from chargebox.sim import SimSettings, Simulator
from chargebox.sim.console import LineOutput, TerminalOutput
from chargebox.station import Options, StoreError, TlsSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run a simulated charging station against a Central System",
        description="Run a simulated OCPP 1.6J charging station (EVSE, EV, meter, RFID reader) "
        "built on the chargebox engine. Commands, one per line: plug <c>, unplug <c>, "
        "rfid <idTag> [<c>], pnc <c>, draw <c> <amps> [<phases>], ev-pause <c>, ev-resume <c>, "
        "fault <c> <ChargePointErrorCode>, clear-fault <c>, sleep <s>, "
        "wait <c> <Status> [<timeout_s>], wait-online [<timeout_s>], help, quit.",
    )
    parser.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="OCPP configuration (JSON)"
    )
    parser.add_argument(
        "--csms",
        metavar="URL",
        help="the Central System's URL (overrides CentralSystemURI; the charge point id is "
        "appended when the URL does not end with it)",
    )
    parser.add_argument("--id", metavar="ID", help="the charge point id (overrides ChargePointId)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the station's state here (SQLite store, accepted configuration changes, "
        "message logs, meter registers): a restart resumes",
    )
    parser.add_argument(
        "--message-log",
        type=Path,
        metavar="DIR",
        help="where the OCPP message logs go (MessageLogPath; default: <data-dir>/message-log; "
        "the formats are the configuration's LogMessagesFormat)",
    )
    parser.add_argument("--connectors", type=int, metavar="N", help="overrides NumberOfConnectors")
    parser.add_argument(
        "--script",
        metavar="FILE|-",
        help="run the commands of FILE (- : standard input) instead of reading standard input",
    )
    parser.add_argument(
        "--auto",
        action="store_true",
        help="an authorization without an EV (RemoteStartTransaction) makes the EV plug in "
        "and charge by itself; it leaves after the transaction",
    )
    parser.add_argument(
        "--resume-after-power-loss",
        action="store_true",
        help="a transaction that was running when the simulator went down (killed, quit) goes "
        "on at the next start with the same --data-dir, when the EV is still plugged in "
        "(default: the station stops it with reason PowerLoss, as a 1.6 station does)",
    )
    parser.add_argument(
        "--pnc",
        action="store_true",
        help="Plug&Charge: every EV that plugs in presents its ISO 15118 contract (asking the "
        "Central System for one first when it has none); the station's certificate store "
        "gets the V2G and MO roots of the test PKI the development CSMS uses",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="run the clock X times faster than real time (heartbeats, meter values, the EV)",
    )
    parser.add_argument(
        "--soc", type=float, default=30.0, metavar="PERCENT", help="the EV's state of charge"
    )
    parser.add_argument(
        "--ca",
        type=Path,
        metavar="FILE",
        help="PEM bundle of the Central System's root certificates (security profiles 2 and 3; "
        "default: the system's store)",
    )
    parser.add_argument(
        "--client-cert", type=Path, metavar="FILE", help="the station's certificate (profile 3)"
    )
    parser.add_argument(
        "--client-key", type=Path, metavar="FILE", help="the station's private key (profile 3)"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v: info, -vv: debug)"
    )
    parser.set_defaults(func=sim_command)


def sim_command(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.speed > 0:
        print("chargebox sim: --speed must be greater than 0", file=sys.stderr)
        return 2
    if args.connectors is not None and args.connectors < 1:
        print("chargebox sim: --connectors must be at least 1", file=sys.stderr)
        return 2
    if not 0 <= args.soc <= 100:
        print("chargebox sim: --soc must be between 0 and 100", file=sys.stderr)
        return 2
    if (args.client_cert is None) != (args.client_key is None):
        print("chargebox sim: --client-cert and --client-key go together", file=sys.stderr)
        return 2
    try:
        if args.data_dir is not None:
            usable_folder(args.data_dir, "--data-dir")
        if args.message_log is not None:
            usable_folder(args.message_log, "--message-log")
    except OptionError as e:
        print(f"chargebox sim: {e}", file=sys.stderr)
        return 2
    tls = TlsSettings(
        ca_file=args.ca,
        client_cert=args.client_cert,
        client_key=args.client_key,
        use_default_verify_paths=args.ca is None,
    )
    settings = SimSettings(
        options=Options(tls=tls, message_log_path=args.message_log),
        config=args.config,
        csms_url=args.csms,
        charge_point_id=args.id,
        data_dir=args.data_dir,
        connectors=args.connectors,
        auto=args.auto,
        speed=args.speed,
        resume_after_power_loss=args.resume_after_power_loss,
        pnc=args.pnc,
    )
    settings.ev.soc = args.soc
    script: list[str] | None = None
    if args.script is not None and args.script != "-":
        try:
            script = Path(args.script).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            print(f"chargebox sim: cannot read the script {args.script}: {e}", file=sys.stderr)
            return 2
    try:
        sim = Simulator(settings)
    except ConfigError as error:
        # each problem names the file or the option its value came from
        print("chargebox sim: the station's configuration does not load:")
        for problem in error.problems:
            print(f"  {problem}")
        return 2
    except OSError as e:
        print(f"chargebox sim: cannot use {e.filename or args.config}: {e.strerror or e}")
        return 2
    clock = trio.testing.MockClock(rate=args.speed) if args.speed != 1.0 else None
    try:
        return trio.run(_main, sim, script, args.script is not None, clock=clock)
    except (StoreError, BaseExceptionGroup) as error:
        problem = _store_error(error)
        if problem is None:
            raise
        print(f"chargebox sim: {problem}", file=sys.stderr)
        return 2


def _store_error(error: BaseException) -> StoreError | None:
    """The store's error (a damaged file, a full disk) among the ones the run ended with."""
    if isinstance(error, StoreError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if (found := _store_error(inner)) is not None:
                return found
    return None


async def _main(sim: Simulator, script: list[str] | None, scripted: bool) -> int:
    terminal = sys.stdout.isatty()
    output = TerminalOutput() if terminal else LineOutput()
    sim.output = output
    if terminal:
        # log lines go above the live block, not through it
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.addHandler(_LogToOutput(output))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_signals, sim)
        await nursery.start(sim.run)
        lines: list[str] | AsyncIterator[str] = script if script is not None else stdin_lines()
        # a command typed on a terminal is shown as it ran, like a script's (--script FILE|-)
        typed = script is None and sys.stdin.isatty()
        if typed and isinstance(output, TerminalOutput):
            lines = _typed_lines(lines, output)  # type: ignore[arg-type]
        nursery.start_soon(_commands, sim, lines, scripted or typed)
        await sim.finished.wait()
        nursery.cancel_scope.cancel()
    if isinstance(output, TerminalOutput):
        output.close()
    return 1 if sim.errors else 0


async def _typed_lines(lines: AsyncIterator[str], output: TerminalOutput) -> AsyncIterator[str]:
    """Lines typed under the live block: the output learns that each took a line of the
    screen (the terminal echoed it there), so the next redraw erases it too."""
    async for line in lines:
        output.typed_line()
        yield line


async def _commands(sim: Simulator, lines: list[str] | AsyncIterator[str], echo: bool) -> None:
    await sim.run_lines(lines, echo=echo)
    # the end of the commands is not the end of the station: it serves the CSMS until quit


async def _signals(sim: Simulator) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            sim.quit()
            return


class _LogToOutput(logging.Handler):
    """Log records as event lines of the terminal output."""

    def __init__(self, output: TerminalOutput) -> None:
        super().__init__()
        self.output = output
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.output.event(self.format(record))
