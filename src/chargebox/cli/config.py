"""`chargebox config check FILE [--overlay FILE]`: validate a configuration, list every problem."""

from __future__ import annotations

import argparse
from pathlib import Path

from chargebox.config import ChargePointConfig, ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="work with OCPP configuration files",
        description="Work with libocpp-style OCPP 1.6 configuration files.",
    )
    parser.set_defaults(func=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate a configuration file (and its overlay)",
        description="Validate FILE merged with its overlay. Exit status 0 when it loads, "
        "1 with every problem listed when it does not.",
    )
    check.add_argument("file", type=Path, metavar="FILE", help="the base configuration (JSON)")
    check.add_argument(
        "--overlay", type=Path, metavar="FILE", help="the overlay of accepted changes (JSON)"
    )
    check.set_defaults(func=check_command)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def check_command(args: argparse.Namespace) -> int:
    """Load FILE (+ overlay); print the problems, or a summary of what would run."""
    try:
        cfg = ChargePointConfig.load(args.file, args.overlay)
    except ConfigError as error:
        count = len(error.problems)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}")
        for problem in error.problems:
            print(f"  {problem}")
        return 1
    for warning in cfg.warnings:
        print(f"warning: {warning}")
    shown = cfg.get_configuration().configuration_key
    profiles = ",".join(sorted(cfg.supported_feature_profiles))
    print(
        f"{args.file}: OK: {len(shown)} keys visible to the CSMS; profiles {profiles}; "
        f"SecurityProfile {cfg.security_profile}; connects to {cfg.central_system_url}"
    )
    return 0
