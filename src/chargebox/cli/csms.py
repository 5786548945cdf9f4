"""`chargebox csms [--host 127.0.0.1] [--port 8180]`: the development Central System.

It accepts charge points at SteVe's path `/steve/websocket/CentralSystemService/<id>`
and at any path ending in the id, prints every message, and sends the
operations typed on standard input (chargebox.csms.console). The first line it
prints says where it listens:

    chargebox csms: listening on ws://127.0.0.1:8180 (charge points: ws://127.0.0.1:8180/steve/websocket/CentralSystemService/<id>)

With `--port 0` the system picks a free port, and that line names it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import UTC, datetime

import trio

from chargebox.cli._checks import OptionError, port_number
from chargebox.cli._input import stdin_lines
from chargebox.csms import STEVE_PATH, CentralSystem, CsmsSettings, console, server_tls_context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "csms",
        help="run the development Central System",
        description="A development OCPP 1.6J Central System: answers every charge-point message, "
        "prints each one, and sends the operations typed on standard input "
        "(<Action> [<id>] [<JSON> | key=value ...]; help lists them).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", default="8180", help="port to listen on, 0..65535 (0: any free port)"
    )
    parser.add_argument(
        "--boot",
        choices=("Accepted", "Pending", "Rejected"),
        default="Accepted",
        help="the answer to BootNotification",
    )
    parser.add_argument(
        "--pending-boots",
        type=int,
        default=0,
        metavar="N",
        help="answer Pending to the first N BootNotifications of each charge point, then --boot",
    )
    parser.add_argument(
        "--interval",
        type=int,
        default=300,
        metavar="SECONDS",
        help="the heartbeat (or boot retry) interval given in BootNotification.conf",
    )
    parser.add_argument(
        "--id-tags",
        metavar="TAG,...",
        help="accept only these idTags (default: accept every idTag)",
    )
    parser.add_argument("--blocked", metavar="TAG,...", help="idTags answered Blocked")
    parser.add_argument(
        "--known",
        action="append",
        metavar="ID[:KEY]",
        help="accept only these charge points (repeat the option); with :KEY the charge point "
        "must send HTTP Basic authentication with that AuthorizationKey (profiles 1 and 2)",
    )
    parser.add_argument(
        "--first-transaction-id", type=int, default=1, metavar="N", help="the first transactionId"
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve wss:// with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    parser.add_argument(
        "--client-ca",
        metavar="FILE",
        help="require client certificates signed by this CA (security profile 3)",
    )
    parser.add_argument("--quiet", action="store_true", help="print actions without their payloads")
    parser.add_argument(
        "--load",
        action="store_true",
        help="for load tests (chargebox fleet): no line per message or connection, no message "
        "history kept; a line of counts every --report seconds instead",
    )
    parser.add_argument(
        "--report",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="with --load: seconds between two lines of counts (default 10)",
    )
    parser.set_defaults(func=csms_command)


def settings_from(args: argparse.Namespace) -> CsmsSettings:
    def tags(text: str | None) -> frozenset[str]:
        return frozenset(t.strip() for t in (text or "").split(",") if t.strip())

    known: dict[str, str | None] | None = None
    if args.known:
        known = {}
        for entry in args.known:
            cp_id, sep, key = entry.partition(":")
            known[cp_id] = key if sep else None
    return CsmsSettings(
        keep_exchanges=0 if getattr(args, "load", False) else None,
        boot_status=args.boot,
        heartbeat_interval=args.interval,
        pending_boots=args.pending_boots,
        authorize_all=args.id_tags is None,
        accepted_id_tags=tags(args.id_tags),
        blocked_id_tags=tags(args.blocked),
        known_ids=known,
        first_transaction_id=args.first_transaction_id,
    )


def csms_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.port = port_number(str(args.port))
    except OptionError as e:
        print(f"chargebox csms: {e}", file=sys.stderr)
        return 2
    if not args.report > 0:
        print(f"chargebox csms: --report {args.report}: allowed is more than 0", file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print("chargebox csms: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    ssl_context = None
    if args.tls_cert is not None:
        try:
            ssl_context = server_tls_context(args.tls_cert, args.tls_key, args.client_ca)
        except (OSError, ValueError) as e:
            print(f"chargebox csms: the TLS material does not load: {e}", file=sys.stderr)
            return 2
    return trio.run(_main, args, settings_from(args), ssl_context)


async def _main(args: argparse.Namespace, settings: CsmsSettings, ssl_context: object) -> int:
    printer = console.ExchangePrinter(
        sys.stdout, lambda: datetime.now(UTC), payloads=not args.quiet
    )
    csms = CentralSystem(
        settings,
        ssl_context=ssl_context,
        on_exchange=None if args.load else printer,  # type: ignore[arg-type]
    )
    if not args.load:
        csms.on_close = printer.disconnected
    async with trio.open_nursery() as nursery:
        try:
            port = await nursery.start(csms.serve, args.host, args.port)
        except OSError as e:  # the port is taken, the address is not this machine's, ...
            print(
                f"chargebox csms: cannot listen on {args.host}:{args.port}: {e.strerror or e}",
                file=sys.stderr,
            )
            return 1
        scheme = "wss" if ssl_context is not None else "ws"
        base = f"{scheme}://{args.host}:{port}"
        print(
            f"chargebox csms: listening on {base} (charge points: {base}{STEVE_PATH}<id>)",
            flush=True,
        )
        if args.load:
            nursery.start_soon(_counts, csms, printer, args.report)
        nursery.start_soon(_commands, csms, printer, nursery.cancel_scope)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        nursery.cancel_scope.cancel()
    return 0


async def _counts(csms: CentralSystem, printer: console.ExchangePrinter, every: float) -> None:
    """With --load: a line of counts every `every` seconds, when something changed."""
    last = None
    while True:
        await trio.sleep(every)
        c = csms.counts
        now = (c.open, c.connections, c.received, c.sent, c.accepted, c.started, c.stopped)
        if now == last:
            continue
        rate = (c.received + c.sent - (last[2] + last[3] if last else 0)) / every
        last = now
        tasks = trio.lowlevel.current_statistics().tasks_living
        printer.line(
            f"{c.open:,} charge points connected ({c.connections:,} connections in all), "
            f"{c.accepted:,} BootNotifications Accepted, {c.started:,} transactions started, "
            f"{c.stopped:,} stopped, {c.received:,} messages in, {c.sent:,} out, "
            f"{rate:,.0f} messages/s, {tasks:,} tasks"
        )


async def _commands(
    csms: CentralSystem, printer: console.ExchangePrinter, scope: trio.CancelScope
) -> None:
    """Operations typed on standard input; at their end the CSMS goes on serving."""
    if await console.run_commands(csms, printer, stdin_lines()):
        scope.cancel()  # quit
