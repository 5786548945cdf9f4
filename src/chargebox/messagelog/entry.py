"""One line of the message log: a frame or a connection event, classified and redacted.

`FrameClassifier` turns a websocket text into an `Entry`: its message type, the
action (for a CALLRESULT or CALLERROR the action of the CALL it answers, looked
up by message id), and the text redacted, both as received and pretty-printed.
Every sink formats entries; none of them sees the unredacted text.
"""

from __future__ import annotations

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
        return bytes(text).decode("utf-8", "replace")
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
        """The entry of one websocket message; never raises for any text."""
        text = as_text(text)
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = None
            raw = body = redact_text(text)
        else:
            redacted, changed = redact_json(data) if may_hold_secret(text) else (data, False)
            raw = orjson.dumps(redacted).decode() if changed else text
            body = orjson.dumps(redacted, option=orjson.OPT_INDENT_2).decode()
            data = redacted
        try:
            frame = frames.parse(text)
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
        # frame's own (which still hold any secret).
        assert isinstance(data, list)
        message_id = data[1]
        if isinstance(frame, frames.Call):
            self._remember(direction, frame.unique_id, data[2])
            return Entry(time, direction, MessageType.CALL, data[2], message_id, body, raw)
        answered = Direction.IN if direction is Direction.OUT else Direction.OUT
        action = self._pending[answered].pop(frame.unique_id, "")
        if isinstance(frame, frames.CallResult):
            return Entry(time, direction, MessageType.CALLRESULT, action, message_id, body, raw)
        detail = f"{data[2]}: {data[3]}" if data[3] else data[2]
        return Entry(time, direction, MessageType.CALLERROR, action, message_id, body, raw, detail)

    def _remember(self, direction: Direction, message_id: str, action: str) -> None:
        pending = self._pending[direction]
        pending[message_id] = action
        pending.move_to_end(message_id)
        while len(pending) > self._max_pending:
            pending.popitem(last=False)


def utc(time: datetime) -> datetime:
    """`time` in UTC; a naive datetime is taken to be UTC already."""
    if time.tzinfo is None or time.utcoffset() is None:
        return time.replace(tzinfo=UTC)
    return time.astimezone(UTC)
