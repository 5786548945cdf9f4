"""Whole text frames read and written directly, beside wsproto.

Every OCPP message is one websocket text message, and in practice one frame:
FIN set, no reserved bit, the text opcode, the whole payload in one read. wsproto
parses each frame through a buffer, a header object, a masker, a frame decoder
and an incremental UTF-8 decoder, and frames each message the same general way:
about 12 us to read a masked frame of a MeterValues and 6 us to write one, on
every end of every round trip.

`read_directly(ws)` gives a trio-websocket connection's wsproto connection a
class of its own, `DirectFrames`, which takes that common case itself and leaves
everything else to wsproto, byte for byte:

- Reading: while wsproto holds no bytes and is in no frame or message (so that
  nothing it holds comes before), the whole text frames at the start of what was
  received become TextMessage events at once, as wsproto would make them. The
  first byte that is anything else (a control frame, a fragment, a binary frame,
  a reserved bit, a mask that the side does not expect, a length not written in
  its shortest form, a payload that is not UTF-8, a frame not yet complete)
  and everything after it go to wsproto, which reads them as it always does and
  raises the same errors. The events come out of wsproto's own `events()`, in the
  order of the bytes.
- Writing: a whole text message on an open connection with no extension and no
  fragmented message under way is framed directly (masked with a fresh random
  key on the client's side, RFC 6455 5.3). The keys are read from the system's
  random source 64 at a time; a forked child forgets those its parent read ahead.

A connection with an extension negotiated (trio-websocket offers none) keeps
wsproto's class. One order differs from wsproto's, on a call trio-websocket never
makes: after `receive_data(None)` (the transport lost), wsproto reports the loss
before the frames it had not parsed yet, where the frames already read here come
first, in the order of the wire.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from wsproto.connection import Connection, ConnectionState
from wsproto.events import Event, TextMessage

__all__ = ["DirectFrames", "frame_text", "read_directly"]

_OPEN = ConnectionState.OPEN
#: FIN and the text opcode, no reserved bit: the first byte of a whole text frame
_WHOLE_TEXT = 0x81
_MASKED = 0x80

#: masking keys read ahead at a time
_KEY_BATCH = 64
_keys: list[bytes] = []


def _masking_key() -> bytes:
    # one list.pop, atomic under the GIL: a check before it could see a key that another
    # thread takes first (masking is on the trio thread today; this keeps it right anywhere)
    try:
        return _keys.pop()
    except IndexError:
        block = os.urandom(4 * _KEY_BATCH)
        _keys.extend(block[i : i + 4] for i in range(4, 4 * _KEY_BATCH, 4))
        return block[:4]


def _forget_keys() -> None:
    # a forked child with keys read ahead would mask with the same keys as its parent
    _keys.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_keys)


#: from this many bytes on, a payload is masked a key byte at a time (bytes.translate over
#: every fourth byte); below it, as one integer XOR (faster for short payloads)
_TRANSLATE_FROM = 768
#: for each key byte, the table that XORs a byte with it (made when first needed)
_xor_tables: dict[int, bytes] = {}


def _xor_table(byte: int) -> bytes:
    table = _xor_tables.get(byte)
    if table is None:
        table = _xor_tables[byte] = bytes(i ^ byte for i in range(256))
    return table


def _mask(payload: bytes, key: bytes) -> bytes:
    """`payload` XOR the repeated 4-byte `key` (masking and unmasking alike)."""
    n = len(payload)
    if not n:
        return b""
    if n < _TRANSLATE_FROM:
        keys = (key * ((n + 3) >> 2))[:n]
        return (int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")).to_bytes(
            n, "little"
        )
    out = bytearray(payload)
    for i in range(4):
        out[i::4] = out[i::4].translate(_xor_table(key[i]))
    return bytes(out)


def frame_text(text: str, masked: bool) -> bytes:
    """One whole text frame of `text` (masked with a fresh key for a client to send)."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", _WHOLE_TEXT, n | _MASKED if masked else n)
    elif n < 65536:
        header = struct.pack("!BBH", _WHOLE_TEXT, 126 | _MASKED if masked else 126, n)
    else:
        header = struct.pack("!BBQ", _WHOLE_TEXT, 127 | _MASKED if masked else 127, n)
    if not masked:
        return header + payload
    key = _masking_key()
    return header + key + _mask(payload, key)


def _whole_text_frames(data: bytes, client: bool, events: Any) -> int:
    """Append a TextMessage to `events` for each whole, valid text frame at the start of
    `data`; returns how many bytes they took (the rest is wsproto's to read)."""
    end = len(data)
    at = 0
    while end - at >= 2:
        if data[at] != _WHOLE_TEXT:
            break
        second = data[at + 1]
        masked = second & _MASKED
        if client if masked else not client:
            break  # a client reads unmasked frames, a server masked ones
        length = second & 0x7F
        p = at + 2
        if length == 126:
            if end - p < 2:
                break
            length = (data[p] << 8) | data[p + 1]
            if length < 126:
                break  # not the shortest form: wsproto refuses it
            p += 2
        elif length == 127:
            if end - p < 8:
                break
            length = int.from_bytes(data[p : p + 8], "big")
            if length < 65536 or length >> 63:
                break
            p += 8
        if masked:
            if end - p < 4:
                break
            key = data[p : p + 4]
            p += 4
        if end - p < length:
            break  # not whole yet
        payload = data[p : p + length]
        if masked:
            payload = _mask(payload, key)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            break  # wsproto closes with 1007
        events.append(TextMessage(data=text, frame_finished=True, message_finished=True))
        at = p + length
    return at


class DirectFrames(Connection):
    """A wsproto connection that reads and writes whole text frames itself (the module's
    docstring); set as the class of an open wsproto `Connection` by `read_directly`."""

    def receive_data(self, data: bytes | None) -> None:
        if data and self._state is _OPEN:
            proto = self._proto
            decoder = proto._frame_decoder
            if (
                not decoder.buffer.buffer
                and decoder.header is None
                and proto._message_decoder.opcode is None
                and not proto.extensions
                and proto._parse_more.gi_frame is not None  # (ended by an error, or a close)
            ):
                taken = _whole_text_frames(data, self.client, self._events)
                if taken == len(data):
                    return
                if taken:
                    data = data[taken:]
        super().receive_data(data)

    def send(self, event: Event) -> bytes:
        if (
            type(event) is TextMessage
            and event.message_finished
            and self._state is _OPEN
            and self._proto._outbound_opcode is None
            and not self._proto.extensions
        ):
            return frame_text(event.data, self.client)
        return super().send(event)


def _has_shape(connection: object) -> bool:
    """Whether `connection` has the wsproto internals DirectFrames reads."""
    proto = getattr(connection, "_proto", None)
    decoder = getattr(proto, "_frame_decoder", None)
    return (
        hasattr(connection, "_events")
        and hasattr(connection, "_state")
        and hasattr(proto, "_message_decoder")
        and hasattr(proto, "_outbound_opcode")
        and hasattr(proto, "extensions")
        and hasattr(getattr(proto, "_parse_more", None), "gi_frame")
        and hasattr(decoder, "header")
        and isinstance(getattr(getattr(decoder, "buffer", None), "buffer", None), bytearray)
    )


def read_directly(ws: object) -> bool:
    """Give the open wsproto connection of trio-websocket connection `ws` the class
    `DirectFrames`; True when it has it. A connection not yet open, one with an
    extension, or one of another shape (another wsproto, a stand-in) is left as it is."""
    connection = getattr(getattr(ws, "_wsproto", None), "connection", None)
    if type(connection) is DirectFrames:
        return True
    if type(connection) is not Connection or not _has_shape(connection):
        return False
    if connection._proto.extensions:  # type: ignore[attr-defined]
        return False
    connection.__class__ = DirectFrames
    return True
