"""The command language of `chargebox csms`: send any CSMS-initiated 1.6 operation by typing it.

    <Action> [<charge point id>] [<JSON object> | key=value ...]

`Action` is any operation the Central System initiates (case-insensitive:
`remotestarttransaction` will do); the id may be left out while one charge
point is connected; the payload is a JSON object, or `key=value` pairs with
the wire's camelCase names, where a value is read as JSON when it is JSON
(`connectorId=1`, `key=["HeartbeatInterval"]`) and as text otherwise
(`idTag=TAG-1`), and a dotted key builds a nested object
(`csChargingProfiles.chargingProfileId=1`). For example:

    RemoteStartTransaction cp001 idTag=TAG-1 connectorId=1
    ChangeConfiguration key=HeartbeatInterval value=60
    TriggerMessage {"requestedMessage": "StatusNotification", "connectorId": 1}

Also: `list` (connected charge points), `help`, `quit`. The request is checked
against the 1.6 schema before it is sent; a bad line gets a one-line error.

`pnc <Action> ...` sends a Plug&Charge operation (OCPP 2.0.1, checked against
its 2.0.1 schema) in a DataTransfer, for example
`pnc InstallCertificate cp001 certificateType=V2GRootCertificate certificate=@v2g-root`
(`@v2g-root` and `@mo-root` stand for the development CSMS's test roots).

The answer is printed once: as the CALLRESULT line of the exchange printer,
or, when that line leaves payloads out (`--quiet`), as a line of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Callable, Iterable
from datetime import datetime
from typing import Any, TextIO

import attrs
import orjson

from chargebox.csms.pnc import PncRefused
from chargebox.csms.server import CallErrorReceived, CentralSystem, Exchange, NoAnswer, Session
from chargebox.messagelog import redact, redact_json
from chargebox.ocpp import codec, pnc, v16
from chargebox.ocpp.errors import OcppError

#: the operations a Central System sends (DataTransfer goes both ways)
OPERATIONS = {
    action.lower(): action
    for action, spec in v16.ACTIONS.items()
    if spec.initiator in (v16.Initiator.CentralSystem, v16.Initiator.Both)
}
KEYWORDS = ("list", "help", "quit")


class ConsoleError(ValueError):
    """A line that cannot be sent; the message says why, in one line."""


@attrs.frozen
class Request:
    """A parsed console line: an operation for a charge point (None: the only one connected)."""

    action: str
    charge_point_id: str | None
    message: Any


def parse(line: str) -> Request | str | None:
    """A Request, a keyword (`list`, `help`, `quit`), or None for a blank line."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    word, _, rest = text.partition(" ")
    if word.lower() in KEYWORDS:
        return word.lower()
    if word.lower() == "pnc":
        return _pnc_request(rest.strip())
    action = OPERATIONS.get(word.lower())
    if action is None:
        if word.lower() in {a.lower() for a in v16.ACTIONS}:
            raise ConsoleError(f"{word} is sent by a charge point, not by the Central System")
        raise ConsoleError(f"unknown operation {word!r} (try: help)")
    charge_point_id, payload = _target_and_payload(rest.strip())
    spec = v16.ACTIONS[action]
    try:
        message = codec.decode(spec.request, payload)
    except OcppError as e:
        raise ConsoleError(e.description) from None
    return Request(action, charge_point_id, message)


def _target_and_payload(rest: str) -> tuple[str | None, dict[str, Any]]:
    """The charge point id (when the line names one) and the payload after it."""
    charge_point_id = None
    if rest and not rest.startswith("{"):
        first, _, after = rest.partition(" ")
        if "=" not in first:
            charge_point_id, rest = first, after.strip()
    return charge_point_id, _payload(rest)


def _payload(text: str) -> dict[str, Any]:
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as e:
            raise ConsoleError(f"the payload is not valid JSON: {e}") from None
        if not isinstance(value, dict):
            raise ConsoleError("the payload must be a JSON object")
        return value
    payload: dict[str, Any] = {}
    for pair in text.split():
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConsoleError(f"{pair!r} is not key=value")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        target = payload
        *path, last = key.split(".")
        for part in path:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise ConsoleError(f"{key}: {part} is not an object")
            target = nested
        target[last] = value
    return payload


def help_text() -> str:
    return (
        "<Action> [<charge point id>] [<JSON object> | key=value ...]; list; help; quit\n"
        "operations: " + ", ".join(sorted(OPERATIONS.values())) + "\n"
        "pnc <Action> [<charge point id>] [<JSON object> | key=value ...]: Plug&Charge in "
        "DataTransfer: " + ", ".join(sorted(PNC_OPERATIONS.values())) + " "
        "(InstallCertificate certificate=@v2g-root or @mo-root: the CSMS's test roots)"
    )


def choose_session(csms: CentralSystem, charge_point_id: str | None) -> Session:
    """The open session the request goes to; ConsoleError when there is none or it is ambiguous."""
    open_sessions = {k: s for k, s in csms.sessions.items() if not s.closed.is_set()}
    if charge_point_id is not None:
        session = open_sessions.get(charge_point_id)
        if session is None:
            raise ConsoleError(f"{charge_point_id} is not connected")
        return session
    if len(open_sessions) == 1:
        return next(iter(open_sessions.values()))
    if not open_sessions:
        raise ConsoleError("no charge point is connected")
    raise ConsoleError(
        "several charge points are connected; name one: " + ", ".join(sorted(open_sessions))
    )


async def execute(csms: CentralSystem, request: Request, timeout: float = 30.0) -> Any:
    """Send the request; return the charge point's response (ConsoleError on failure)."""
    session = choose_session(csms, request.charge_point_id)
    try:
        if type(request.message) in pnc.ACTION_OF:
            return await csms.pnc.call(session, csms.pnc.expand(request.message), timeout)
        return await session.call(request.message, timeout=timeout)
    except CallErrorReceived as e:
        raise ConsoleError(f"{session.charge_point_id} answered with a CALLERROR: {e}") from None
    except (NoAnswer, PncRefused) as e:
        raise ConsoleError(str(e)) from None
    except OcppError as e:  # a PnC answer whose data breaks its 2.0.1 schema
        raise ConsoleError(f"{session.charge_point_id} answered: {e.description}") from None


# -- Plug&Charge: `pnc <Action> ...`, the 2.0.1 message sent in a DataTransfer -------------------

#: the Plug&Charge operations a Central System sends
PNC_OPERATIONS = {
    action.lower(): action
    for action, spec in pnc.PNC_ACTIONS.items()
    if spec.initiator is v16.Initiator.CentralSystem
}


def _pnc_request(rest: str) -> Request:
    word, _, rest = rest.partition(" ")
    if not word:
        raise ConsoleError("pnc needs an operation: " + ", ".join(sorted(PNC_OPERATIONS.values())))
    action = PNC_OPERATIONS.get(word.lower())
    if action is None:
        if word.lower() in {a.lower() for a in pnc.PNC_ACTIONS}:
            raise ConsoleError(f"{word} is sent by a charge point, not by the Central System")
        raise ConsoleError(f"unknown Plug&Charge operation {word!r} (try: help)")
    charge_point_id, payload = _target_and_payload(rest.strip())
    try:
        message = codec.decode(pnc.PNC_ACTIONS[action].request, payload)
    except OcppError as e:
        raise ConsoleError(e.description) from None
    return Request(f"pnc {action}", charge_point_id, message)


async def run_commands(
    csms: CentralSystem,
    printer: ExchangePrinter,
    lines: AsyncIterable[str] | Iterable[str],
    *,
    timeout: float = 30.0,
) -> bool:
    """Run console lines until they end (False) or until `quit` (True).

    A bad line, or a call that fails, gets one `error: ...` line; the next line runs.
    """

    async def each() -> Any:
        if isinstance(lines, AsyncIterable):
            async for line in lines:
                yield line
        else:
            for line in lines:
                yield line

    async for line in each():
        try:
            parsed = parse(line)
            if parsed is None:
                continue
            if parsed == "quit":
                return True
            if parsed == "help":
                printer.line(help_text())
            elif parsed == "list":
                ids = sorted(k for k, s in csms.sessions.items() if not s.closed.is_set())
                printer.line("connected: " + (", ".join(ids) or "none"))
            else:
                assert isinstance(parsed, Request)
                session = choose_session(csms, parsed.charge_point_id)
                response = await execute(csms, parsed, timeout)
                printer.answer(session, parsed.action, response)
        except ConsoleError as e:
            printer.line(f"error: {e}")
    return False


class ExchangePrinter:
    """Prints every frame the CSMS sends or receives, one line each, and connections.

    Payloads are redacted as the message log redacts them (chargebox.messagelog):
    an AuthorizationKey sent with ChangeConfiguration never reaches the terminal.
    """

    def __init__(self, out: TextIO, clock: Callable[[], datetime], *, payloads: bool = True):
        self.out = out
        self.clock = clock
        self.payloads = payloads
        self._seen: set[int] = set()

    def __call__(self, session: Session, exchange: Exchange) -> None:
        if id(session) not in self._seen:
            self._seen.add(id(session))
            self.line(f"{session.charge_point_id} connected")
        arrow = "->" if exchange.direction == "in" else "<-"
        action = exchange.action or "?"
        shown = ""
        if self.payloads:
            shown = " " + _shown(exchange)
        self.line(f"{session.charge_point_id} {arrow} {exchange.kind} {action}{shown}")

    def answer(self, session: Session, action: str, response: Any) -> None:
        """The answer to an operation typed at the console, unless it was printed already."""
        if self.payloads:
            return  # the CALLRESULT line, with its payload, is the answer
        shown = orjson.dumps(redact_json(codec.encode(response))[0]).decode()
        self.line(f"{session.charge_point_id} answered {action}: {shown}")

    def disconnected(self, session: Session) -> None:
        self.line(f"{session.charge_point_id} disconnected")

    def line(self, text: str) -> None:
        stamp = self.clock().strftime("%H:%M:%S.%f")[:-3]
        print(f"{stamp} {text}", file=self.out, flush=True)


def _shown(exchange: Exchange) -> str:
    """The payload of a frame as printed, its secrets replaced."""
    body = exchange.payload
    if body is None:  # a frame that did not parse: its text, as received
        return redact(exchange.text)
    if isinstance(body, str):  # the error code of a CALLERROR
        return redact(body)
    return orjson.dumps(redact_json(body)[0]).decode()
