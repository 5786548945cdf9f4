"""OCPP-J frames: CALL, CALLRESULT and CALLERROR, parsed from and serialised to text.

    CALL        [2, "<id>", "<Action>", {payload}]
    CALLRESULT  [3, "<id>", {payload}]
    CALLERROR   [4, "<id>", "<errorCode>", "<errorDescription>", {errorDetails}]

Parsing checks the frame only; payloads are checked by `codec` against the
schema of their action. A text that is not JSON, or a binary websocket message
(OCPP-J messages are UTF-8 text), is a FrameError that still carries the
message id when the text begins like a frame (`recover_head`), so that the
receiver can answer it with a CALLERROR.
"""

from __future__ import annotations

import os
import re
from typing import Any

import attrs
import orjson

from ._check import writable
from .errors import ErrorCode, FrameError

CALL = 2
CALLRESULT = 3
CALLERROR = 4

MAX_ID_LENGTH = 36  # OCPP-J 4.1.4


@attrs.frozen
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]


@attrs.frozen
class CallResult:
    unique_id: str
    payload: dict[str, Any]


@attrs.frozen
class CallError:
    unique_id: str
    error_code: str  # as received; ErrorCode.parse() tells whether it is a known code
    error_description: str
    error_details: dict[str, Any] = attrs.field(factory=dict)

    @property
    def code(self) -> ErrorCode | None:
        return ErrorCode.parse(self.error_code)


Frame = Call | CallResult | CallError

# Frames are built on every message both ways; the parser and the codec hand over
# values that are already right, so they are set without attrs' __init__ (a third
# of its time; see `_check.writable`).
_WritableCall = writable(Call)
_WritableCallResult = writable(CallResult)


def call_frame(unique_id: str, action: str, payload: dict[str, Any]) -> Call:
    """`Call(unique_id, action, payload)`, built faster."""
    frame = _WritableCall()
    frame.unique_id = unique_id
    frame.action = action
    frame.payload = payload
    frame.__class__ = Call
    return frame  # type: ignore[return-value]


def call_result_frame(unique_id: str, payload: dict[str, Any]) -> CallResult:
    """`CallResult(unique_id, payload)`, built faster."""
    frame = _WritableCallResult()
    frame.unique_id = unique_id
    frame.payload = payload
    frame.__class__ = CallResult
    return frame  # type: ignore[return-value]


def new_message_id() -> str:
    """A unique message id: a random (version 4) UUID, 36 characters.

    The same text as str(uuid.uuid4()), from the system's random source like it,
    for every CALL sent. The ids are written ahead, a batch from one read of random
    bytes (`_ID_BATCH`): a system call and the formatting's overhead for many ids
    rather than for each one.
    """
    try:
        return _ids.pop()
    except IndexError:
        _ids.extend(_write_ids(_ID_BATCH))
        return _ids.pop()


#: ids written ahead at a time, from one read of 16 random bytes each
_ID_BATCH = 64
#: ids written ahead and not handed out yet
_ids: list[str] = []
#: the RFC 4122 variant digit (8, 9, a or b) for each random hex digit: its two low bits
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _write_ids(count: int) -> list[str]:
    """`count` random version 4 UUIDs in their canonical text."""
    h = os.urandom(16 * count).hex()
    v = _VARIANT
    # version 4 in the 13th digit, the variant in the 17th
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{v[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def _forget_ids() -> None:
    # a process forked with ids written ahead would hand out the same ones as its parent
    _ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids)


# `[<integer>, "<string>"` at the start of a text, with JSON's whitespace (an integer of
# at most 9 digits: a message type id is 2, 3 or 4). The string
# is matched up to its closing quote (escapes included) and decoded afterwards, so an
# invalid escape sequence recovers nothing.
_WS = "[ \t\n\r]*"
_HEAD = re.compile(
    rf'{_WS}\[{_WS}(-?(?:0|[1-9][0-9]{{0,8}})){_WS},{_WS}"((?:[^"\\\x00-\x1f]|\\[^\x00-\x1f])*)"'
)


def recover_head(text: str) -> tuple[int, str] | None:
    """The message type id and message id at the start of `text`, whatever follows them.

    For a text that does not parse as a whole (cut short, broken later on): when it
    begins with `[<integer>, "<message id>"`, the id is still known and the message
    can be answered. None when it does not begin so.
    """
    match = _HEAD.match(text)
    if match is None:
        return None
    try:
        unique_id = orjson.loads(f'"{match.group(2)}"')
    except orjson.JSONDecodeError:
        return None  # an invalid escape sequence: the id cannot be told
    return int(match.group(1)), unique_id


def _unreadable(text: str, description: str, code: ErrorCode) -> FrameError:
    """The FrameError of a text that is no JSON frame, with the id `recover_head` finds."""
    head = recover_head(text)
    if head is None:
        return FrameError(description, code=code)
    type_id, unique_id = head
    # a CALLERROR, even a broken one, is never answered: two peers must not loop
    return FrameError(description, unique_id, type_id != CALLERROR, code=code)


def refuse_binary(data: bytes | bytearray | memoryview) -> FrameError:
    """The FrameError for a binary websocket message: OCPP-J messages are text messages.

    Its content is not processed, whatever it holds; the message id is recovered from
    its start (read as UTF-8) so that a CALL sent this way gets a CALLERROR.
    """
    raw = bytes(data)
    return _unreadable(
        raw.decode("utf-8", "replace"),
        f"a binary websocket message ({len(raw)} bytes): OCPP-J messages are UTF-8 text messages",
        ErrorCode.FormationViolation,
    )


def parse(text: str | bytes) -> Frame:
    """The frame in a websocket text message, or FrameError saying what is wrong with it.

    Text that is not JSON is a FormationViolation; text cut short (valid JSON up to its
    end, but not complete) a ProtocolError, "payload incomplete" in OCPP-J 1.6's
    table. Either carries the message id when the text begins like a frame.
    """
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            shown = bytes(text).decode("utf-8", "replace")
            raise _unreadable(
                shown, f"not UTF-8 text: {e.reason} at byte {e.start}", ErrorCode.FormationViolation
            ) from None
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        # the parser stopped at the end of the text: what is there is JSON, but cut short
        if e.pos >= len(text.rstrip(" \t\n\r")):
            raise _unreadable(
                text, f"incomplete JSON, the text ends too early: {e}", ErrorCode.ProtocolError
            ) from None
        raise _unreadable(text, f"not JSON: {e}", ErrorCode.FormationViolation) from None
    if type(msg) is list:
        # a CALL or a CALLRESULT with everything right is built at once; anything else
        # is judged by _frame_of, which says what is wrong
        n = len(msg)
        if n == 4:
            type_id, unique_id, action, payload = msg
            if (
                type_id == CALL
                and type(type_id) is int
                and type(unique_id) is str
                and len(unique_id) <= MAX_ID_LENGTH
                and type(action) is str
                and type(payload) is dict
            ):
                return call_frame(unique_id, action, payload)
        elif n == 3:
            type_id, unique_id, payload = msg
            if (
                type_id == CALLRESULT
                and type(type_id) is int
                and type(unique_id) is str
                and len(unique_id) <= MAX_ID_LENGTH
                and type(payload) is dict
            ):
                return call_result_frame(unique_id, payload)
    return _frame_of(msg)


def _frame_of(msg: Any) -> Frame:
    """The frame of a decoded JSON message, or FrameError saying what is wrong with it."""
    if type(msg) is not list:
        raise FrameError(f"not a JSON array but {_json_type(msg)}")
    if len(msg) < 2:
        raise FrameError(f"an array of {len(msg)} element(s) is not an OCPP-J message")
    type_id, unique_id = msg[0], msg[1]
    mid = unique_id if type(unique_id) is str else None
    answerable = type_id != CALLERROR
    if type(type_id) is not int:
        raise FrameError(f"message type id {type_id!r} is not an integer", mid, answerable)
    if mid is None:
        raise FrameError(f"message id {unique_id!r} is not a string")
    if len(mid) > MAX_ID_LENGTH:
        raise FrameError(f"message id is longer than {MAX_ID_LENGTH} characters", mid, answerable)
    if type_id == CALL:
        if len(msg) != 4:
            raise FrameError(f"a CALL has 4 elements, this one {len(msg)}", mid)
        action, payload = msg[2], msg[3]
        if type(action) is not str:
            raise FrameError(f"CALL action {action!r} is not a string", mid)
        return call_frame(mid, action, _payload(payload, mid, "CALL"))
    if type_id == CALLRESULT:
        if len(msg) != 3:
            raise FrameError(f"a CALLRESULT has 3 elements, this one {len(msg)}", mid)
        return call_result_frame(mid, _payload(msg[2], mid, "CALLRESULT"))
    if type_id == CALLERROR:
        if len(msg) != 5:
            raise FrameError(f"a CALLERROR has 5 elements, this one {len(msg)}", mid, False)
        code, description, details = msg[2], msg[3], msg[4]
        if type(code) is not str or type(description) is not str:
            raise FrameError("CALLERROR errorCode and errorDescription must be strings", mid, False)
        if details is None:
            details = {}
        if type(details) is not dict:
            raise FrameError("CALLERROR errorDetails must be an object", mid, False)
        return CallError(mid, code, description, details)
    raise FrameError(f"unknown message type id {type_id} (expected 2, 3 or 4)", mid)


def _payload(payload: Any, mid: str, kind: str) -> dict[str, Any]:
    # OCPP-J 4.2.1: "no payload" may be written null or {}; both mean {}.
    if payload is None:
        return {}
    if type(payload) is not dict:
        raise FrameError(f"{kind} payload must be a JSON object, not {_json_type(payload)}", mid)
    return payload


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def serialize(frame: Frame) -> str:
    """The websocket text message of a frame."""
    if type(frame) is Call:
        msg: list[Any] = [CALL, frame.unique_id, frame.action, frame.payload]
    elif type(frame) is CallResult:
        msg = [CALLRESULT, frame.unique_id, frame.payload]
    elif type(frame) is CallError:
        msg = [
            CALLERROR,
            frame.unique_id,
            frame.error_code,
            frame.error_description,
            frame.error_details,
        ]
    else:
        raise TypeError(f"not a frame: {frame!r}")
    return orjson.dumps(msg).decode()
