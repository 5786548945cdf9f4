"""The `chargebox` command line: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines `register(subparsers)`, which adds its subcommand and sets
# `func` on the parser; `func(args)` returns the exit status.
SUBCOMMANDS = ("diagram", "config", "sim", "csms", "demo", "fleet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chargebox",
        description="chargebox: an OCPP 1.6J charge-point engine, simulator and development CSMS",
    )
    from chargebox import __version__

    parser.add_argument("--version", action="version", version=f"chargebox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"chargebox.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
