"""The simulator's command language: one command per line, parsed into checked values.

    plug <c>                      unplug <c>
    rfid <idTag> [<c>]            pnc <c>
    draw <c> <amps> [<phases>]
    ev-pause <c>                  ev-resume <c>
    fault <c> <ChargePointErrorCode>    clear-fault <c>
    sleep <seconds>               wait <c> <Status> [<timeout_s>]
    wait-online [<timeout_s>]     help
    quit

Blank lines and everything after `#` are ignored. Parsing is pure: a bad line
raises CommandError with a one-line reason, and the simulator goes on.
"""

from __future__ import annotations

import math

import attrs

from chargebox.ocpp.v16 import ChargePointErrorCode, ChargePointStatus

#: the fault codes a connector can be given (NoError is not an error)
ERROR_CODES = {c.value.lower(): c.value for c in ChargePointErrorCode if c.value != "NoError"}
STATUSES = {s.value.lower(): s.value for s in ChargePointStatus}
DEFAULT_WAIT = 60.0
MAX_AMPS = 80.0

USAGE = {
    "plug": "plug <c>: the EV's cable goes into connector c",
    "unplug": "unplug <c>: the cable is pulled out",
    "rfid": "rfid <idTag> [<c>]: a card is presented (at connector c)",
    "pnc": "pnc <c>: the EV at connector c does Plug&Charge (gets a contract if it has none, "
    "presents it)",
    "draw": "draw <c> <amps> [<phases>]: the EV asks for this current (on 1-3 phases)",
    "ev-pause": "ev-pause <c>: the EV stops taking energy",
    "ev-resume": "ev-resume <c>: the EV takes energy again",
    "fault": "fault <c> <ChargePointErrorCode>: an error on connector c (0: the station)",
    "clear-fault": "clear-fault <c>: every error of connector c is gone",
    "sleep": "sleep <seconds>: wait (simulated seconds)",
    "wait": "wait <c> <Status> [<timeout_s>]: wait until connector c has this status",
    "wait-online": "wait-online [<timeout_s>]: wait until the Central System accepted the boot",
    "help": "help: list the commands",
    "quit": "quit: stop the simulator",
}


class CommandError(ValueError):
    """A line that is not a valid command; the message says why, in one line."""


@attrs.frozen
class Command:
    """One parsed command; only the fields its name uses are set."""

    name: str
    connector: int | None = None
    id_tag: str | None = None
    amps: float | None = None
    phases: int | None = None
    error_code: str | None = None
    seconds: float | None = None
    status: str | None = None
    text: str = ""


def parse(line: str, connectors: int) -> Command | None:
    """The command on `line`, or None for a blank or comment line.

    `connectors` is NumberOfConnectors: connector numbers outside 1..connectors
    are refused (0 too, except for `fault`, `clear-fault` and `wait`, where it is
    the station as a whole).
    """
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    words = text.split()
    name, args = words[0].lower(), words[1:]
    if name not in USAGE:
        raise CommandError(f"unknown command {words[0]!r} (try: help)")

    def arity(low: int, high: int) -> None:
        if not low <= len(args) <= high:
            raise CommandError(f"usage: {USAGE[name]}")

    def connector(word: str, *, station: bool = False) -> int:
        try:
            c = int(word)
        except ValueError:
            raise CommandError(f"{name}: connector {word!r} is not a number") from None
        low = 0 if station else 1
        if not low <= c <= connectors:
            allowed = f"{low}..{connectors}"
            raise CommandError(f"{name}: connector {c} does not exist (allowed: {allowed})")
        return c

    def number(word: str, what: str, low: float, high: float) -> float:
        try:
            value = float(word)
        except ValueError:
            raise CommandError(f"{name}: {what} {word!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise CommandError(f"{name}: {what} {word} is outside {low:g}..{high:g}")
        return value

    if name in ("plug", "unplug", "ev-pause", "ev-resume", "pnc"):
        arity(1, 1)
        return Command(name, connector=connector(args[0]), text=text)
    if name == "clear-fault":
        arity(1, 1)
        return Command(name, connector=connector(args[0], station=True), text=text)
    if name == "rfid":
        arity(1, 2)
        if len(args[0]) > 20:
            raise CommandError(f"rfid: idTag {args[0]!r} is longer than 20 characters")
        c = connector(args[1]) if len(args) == 2 else None
        return Command(name, id_tag=args[0], connector=c, text=text)
    if name == "draw":
        arity(2, 3)
        if len(args) == 3 and args[2] not in ("1", "2", "3"):
            raise CommandError(f"draw: phases must be 1, 2 or 3 (got {args[2]!r})")
        phases = int(args[2]) if len(args) == 3 else None
        return Command(
            name,
            connector=connector(args[0]),
            amps=number(args[1], "current", 0, MAX_AMPS),
            phases=phases,
            text=text,
        )
    if name == "fault":
        arity(2, 2)
        code = ERROR_CODES.get(args[1].lower())
        if code is None:
            raise CommandError(
                f"fault: {args[1]!r} is not a ChargePointErrorCode "
                f"(one of {', '.join(sorted(ERROR_CODES.values()))})"
            )
        return Command(name, connector=connector(args[0], station=True), error_code=code, text=text)
    if name == "sleep":
        arity(1, 1)
        return Command(name, seconds=number(args[0], "seconds", 0, 10**7), text=text)
    if name == "wait":
        arity(2, 3)
        status = STATUSES.get(args[1].lower())
        if status is None:
            raise CommandError(
                f"wait: {args[1]!r} is not a ChargePointStatus "
                f"(one of {', '.join(STATUSES.values())})"
            )
        timeout = number(args[2], "timeout", 0, 10**7) if len(args) == 3 else DEFAULT_WAIT
        return Command(
            name,
            connector=connector(args[0], station=True),
            status=status,
            seconds=timeout,
            text=text,
        )
    if name == "wait-online":
        arity(0, 1)
        timeout = number(args[0], "timeout", 0, 10**7) if args else DEFAULT_WAIT
        return Command(name, seconds=timeout, text=text)
    arity(0, 0)  # help, quit
    return Command(name, text=text)


def help_text() -> str:
    return "\n".join(USAGE.values())
