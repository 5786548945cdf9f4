"""One line of the message log: a frame or a connection event, classified and redacted.

`FrameClassifier` turns a websocket text into an `Entry`: its message type, the
action (for a CALLRESULT or CALLERROR the action of the CALL it answers, looked
up by message id), and the text redacted, both as received and pretty-printed.
Every sink formats entries; none of them sees the unredacted text.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import attrs
import orjson

from chargebox.ocpp import frames
from chargebox.ocpp.errors import FrameError

from .redact import may_hold_secret, redact_json, redact_text


class Direction(StrEnum):
    """Who sent it. The log is the charge point's: "out" is what it sent."""

    OUT = "out"  # charge point -> CSMS
    IN = "in"  # CSMS -> charge point
    SYS = "sys"  # not a frame: a connection event or a note of the log itself

    @property
    def arrow(self) -> str:
        """ASCII label for text logs: CP->CSMS, CSMS->CP, SYS."""
        return _ARROWS[self]

    @property
    def label(self) -> str:
        """Label for the HTML page: CP→CSMS, CSMS→CP, connection."""
        return _LABELS[self]


_ARROWS = {Direction.OUT: "CP->CSMS", Direction.IN: "CSMS->CP", Direction.SYS: "SYS"}
_LABELS = {Direction.OUT: "CP→CSMS", Direction.IN: "CSMS→CP", Direction.SYS: "connection"}


class MessageType(StrEnum):
    CALL = "CALL"
    CALLRESULT = "CALLRESULT"
    CALLERROR = "CALLERROR"
    INVALID = "invalid"  # a text that is not an OCPP-J frame
    EVENT = "event"  # a connection event or a note (log opened, session started)


class ConnectionEvent(StrEnum):
    """The connection events the link reports with `MessageLog.connection`.

    The list documents the usual kinds; `connection` logs any other kind as given.
    """

    CONNECTING = "connecting"
    CONNECTED = "connected"
    TLS_FAILURE = "tls_failure"  # the TLS handshake failed (certificate, protocol, cipher)
    HTTP_FAILURE = "http_failure"  # the handshake was answered with an HTTP error (401, 404)
    REFUSED_FAILURE = "refused_failure"  # no TCP connection (nothing listens, DNS)
    SUBPROTOCOL_FAILURE = "subprotocol_failure"  # the server did not select ocpp1.6
    TIMEOUT_FAILURE = "timeout_failure"  # no answer in time
    CONNECT_FAILURE = "connect_failure"  # any other failure to connect
    FAILURE = "failure"  # settings that cannot work (no key, unreadable certificate)
    PONG_TIMEOUT = "pong_timeout"  # no pong to a ping in time: the link is closed
    CLOSING = "closing"  # we are closing it (shutdown, security profile switch, reconnect)
    CLOSED = "closed"  # we closed it
    DISCONNECTED = "disconnected"  # the connection ended (close code and reason)


@attrs.frozen(slots=True)
class Entry:
    """A frame or an event as every sink sees it: already redacted.

    - `action`: the CALL's action; for an answer, the action of the CALL it answers
      ("" when no such CALL was seen); for an event, its kind.
    - `body`: a frame as JSON indented by 2; an invalid text as received; an event's
      reason.
    - `raw`: the text as received (re-serialised compactly only when a secret had to be
      taken out of it); "" for events.
    - `detail`: for a CALLERROR its code and description, for an invalid text what is
      wrong with it.
    """

    time: datetime
    direction: Direction
    message_type: MessageType
    action: str
    message_id: str
    body: str
    raw: str = ""
    detail: str = ""


def event(time: datetime, kind: str, reason: str) -> Entry:
    """An EVENT entry (direction SYS) with its reason redacted."""
    return Entry(time, Direction.SYS, MessageType.EVENT, kind, "", redact_text(as_text(reason)))


def as_text(text: Any) -> str:
    """`text` as a str that can be encoded as UTF-8, whatever it was."""
    if isinstance(text, bytes | bytearray | memoryview):
        # invalid UTF-8 shown byte by byte (\xff), so the log keeps what was received
        return bytes(text).decode("utf-8", "backslashreplace")
    if not isinstance(text, str):
        return repr(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # lone surrogates (a bad decode upstream): shown escaped, as \udc80
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class FrameClassifier:
    """Classifies frames and remembers, per direction, the action of each CALL not yet answered.

    A CALL sent "out" is answered "in" and the other way round. At most
    `max_pending` CALLs are remembered per direction (the oldest forgotten first),
    so a peer that never answers cannot grow this without bound.
    """

    def __init__(self, max_pending: int = 1024) -> None:
        self._max_pending = max_pending
        self._pending: dict[Direction, OrderedDict[str, str]] = {
            Direction.OUT: OrderedDict(),
            Direction.IN: OrderedDict(),
        }

    def classify(self, direction: Direction, text: str | bytes, time: datetime) -> Entry:
        """The entry of one websocket message; never raises for any text.

        Bytes are a binary websocket message: logged (as UTF-8, invalid bytes shown
        as `\\xff`), type invalid, never read as a frame: OCPP-J messages are text.
        """
        binary = isinstance(text, bytes | bytearray | memoryview)
        shown = as_text(text)
        data, raw, body = _redacted_forms(shown)
        try:
            if binary:
                raise frames.refuse_binary(text)  # type: ignore[arg-type]
            frame = frames.parse(shown)
        except FrameError as e:
            message_id = redact_text(e.message_id) if e.message_id is not None else ""
            return Entry(
                time,
                direction,
                MessageType.INVALID,
                "",
                message_id,
                body,
                raw,
                redact_text(e.description),
            )
        # `data` is the redacted array of a well-formed frame: show its strings, not the
        # frame's own (which still hold any secret). Without it (a frame too deeply
        # nested to walk) the frame's strings are redacted one by one.
        if isinstance(data, list):
            strings = data[: 4 if isinstance(frame, frames.CallError) else 3]
        else:
            strings = [
                redact_text(item) if isinstance(item, str) else item for item in _head(frame)
            ]
        message_id = strings[1]
        if isinstance(frame, frames.Call):
            self._remember(direction, frame.unique_id, strings[2])
            return Entry(time, direction, MessageType.CALL, strings[2], message_id, body, raw)
        answered = Direction.IN if direction is Direction.OUT else Direction.OUT
        action = self._pending[answered].pop(frame.unique_id, "")
        if isinstance(frame, frames.CallResult):
            return Entry(time, direction, MessageType.CALLRESULT, action, message_id, body, raw)
        detail = f"{strings[2]}: {strings[3]}" if strings[3] else strings[2]
        return Entry(time, direction, MessageType.CALLERROR, action, message_id, body, raw, detail)

    def _remember(self, direction: Direction, message_id: str, action: str) -> None:
        pending = self._pending[direction]
        pending[message_id] = action
        pending.move_to_end(message_id)
        while len(pending) > self._max_pending:
            pending.popitem(last=False)


def _head(frame: frames.Frame) -> list[Any]:
    """The array elements of a frame before its payload (its errorCode and description)."""
    if isinstance(frame, frames.Call):
        return [frames.CALL, frame.unique_id, frame.action]
    if isinstance(frame, frames.CallResult):
        return [frames.CALLRESULT, frame.unique_id]
    return [frames.CALLERROR, frame.unique_id, frame.error_code, frame.error_description]


# \uXXXX in JSON text: unescaped before pattern redaction, so that an escaped name
# (\u0070assword) cannot slip past the patterns.
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _redacted_forms(text: str) -> tuple[Any, str, str]:
    """(decoded JSON redacted or None, raw text redacted, body to show) of a text.

    JSON is redacted member by member and shown indented by 2. A text nested deeper
    than that can go (orjson writes at most 255 levels; a walk in Python stops near
    1000) is shown on one line, as received: re-serialised when a secret was taken
    out, redacted by pattern when it could not even be walked.
    """
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        shown = redact_text(text)
        return None, shown, shown
    try:
        redacted, changed = redact_json(data) if may_hold_secret(text) else (data, False)
    except RecursionError:
        if may_hold_secret(text):
            text = _JSON_ESCAPE.sub(lambda m: as_text(chr(int(m.group(1), 16))), text)
        shown = redact_text(text)
        return None, shown, shown
    try:
        raw = orjson.dumps(redacted).decode() if changed else text
        body = orjson.dumps(redacted, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        if changed:
            try:
                raw = json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
            except RecursionError:
                raw = redact_text(text)
        return redacted, raw, raw
    return redacted, raw, body


def utc(time: datetime) -> datetime:
    """`time` in UTC; a naive datetime is taken to be UTC already."""
    if time.tzinfo is None or time.utcoffset() is None:
        return time.replace(tzinfo=UTC)
    return time.astimezone(UTC)
