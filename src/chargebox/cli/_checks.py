"""Checks of command-line values: a bad one gets one line naming the option, the value and
what is allowed."""

from __future__ import annotations

from pathlib import Path


class OptionError(ValueError):
    """A command-line value that cannot be used; the message is the line to print."""


def port_number(text: str, option: str = "--port", *, any_free: bool = True) -> int:
    """The TCP port `text` names: 1..65535, and 0 (any free port) when `any_free`."""
    low = 0 if any_free else 1
    allowed = f"{low}..65535" + ("; 0: any free port" if any_free else "")
    try:
        port = int(text)
    except ValueError:
        raise OptionError(f"{option} {text!r} is not a port number (allowed: {allowed})") from None
    if not low <= port <= 65535:
        raise OptionError(f"{option} {port} is not a port number (allowed: {allowed})")
    return port


def usable_folder(path: Path, option: str) -> Path:
    """`path` as a directory to write in, created when missing; OptionError when it cannot be."""
    if path.exists() and not path.is_dir():
        raise OptionError(f"{option} {path}: this is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OptionError(f"{option} {path}: cannot create this directory ({e.strerror})") from None
    return path
