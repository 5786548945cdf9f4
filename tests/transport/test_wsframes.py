"""wsframes: whole text frames read and written directly give what wsproto gives, event for
event and error for error, whatever the bytes and however they are cut."""

from __future__ import annotations

import itertools
import os
import struct

import pytest
import trio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import MessageDecoder
from wsproto.utilities import LocalProtocolError

from chargebox import wsframes
from chargebox.ocpp import v16
from chargebox.wsframes import DirectFrames, frame_text, read_directly
from tests.support import running
from tests.transport.test_send_text import open_pair

# -- frames as a peer could write them, right or wrong --------------------------------------


def frame(
    first: int,
    payload: bytes,
    *,
    masked: bool,
    long_form: int = 0,
    key: bytes = b"\x01\x02\x03\x04",
) -> bytes:
    """A frame's bytes: `first` (FIN, RSV, opcode), the payload's length in its shortest
    form or, with `long_form` 2 or 8, in that many bytes whatever the length."""
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if long_form == 8 or (not long_form and n >= 65536):
        head = struct.pack("!BBQ", first, 127 | mask_bit, n)
    elif long_form == 2 or (not long_form and n >= 126):
        head = struct.pack("!BBH", first, 126 | mask_bit, n)
    else:
        head = struct.pack("!BB", first, n | mask_bit)
    if not masked:
        return head + payload
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


texts = st.text(max_size=40) | st.text(min_size=120, max_size=300)
keys = st.binary(min_size=4, max_size=4)


@st.composite
def frames(draw, reader_is_client: bool) -> bytes:
    """One frame, mostly a whole text frame as a peer sends it, otherwise one of what the
    fast path must leave to wsproto."""
    proper_mask = not reader_is_client
    masked = proper_mask if draw(st.integers(0, 9)) else not proper_mask
    key = draw(keys)
    kind = draw(
        st.sampled_from(
            ["text"] * 6
            + ["long form", "bad utf-8", "binary", "ping", "pong", "fragments", "rsv"]
            + ["bad opcode", "close", "bad close", "continuation", "first fragment"]
        )
    )
    if kind == "text":
        return frame(0x81, draw(texts).encode(), masked=masked, key=key)
    if kind == "long form":
        return frame(
            0x81,
            draw(texts).encode(),
            masked=masked,
            key=key,
            long_form=draw(st.sampled_from([2, 8])),
        )
    if kind == "bad utf-8":
        good = draw(st.text(max_size=10)).encode()
        return frame(
            0x81,
            good + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])),
            masked=masked,
            key=key,
        )
    if kind == "binary":
        return frame(0x82, draw(st.binary(max_size=30)), masked=masked, key=key)
    if kind in ("ping", "pong"):
        return frame(
            0x89 if kind == "ping" else 0x8A, draw(st.binary(max_size=20)), masked=masked, key=key
        )
    if kind == "fragments":
        text = draw(st.text(min_size=2, max_size=30)).encode()
        cut = draw(st.integers(0, len(text)))
        return frame(0x01, text[:cut], masked=masked, key=key) + frame(
            0x80, text[cut:], masked=masked, key=key
        )
    if kind == "first fragment":  # a message left unfinished: what follows must continue it
        return frame(0x01, draw(st.text(max_size=10)).encode(), masked=masked, key=key)
    if kind == "rsv":
        return frame(0x81 | draw(st.sampled_from([0x40, 0x20, 0x10])), b"x", masked=masked, key=key)
    if kind == "bad opcode":
        return frame(0x80 | draw(st.sampled_from([3, 7, 0xB])), b"x", masked=masked, key=key)
    if kind == "close":
        return frame(0x88, struct.pack("!H", 1000) + b"bye", masked=masked, key=key)
    if kind == "bad close":
        return frame(0x88, struct.pack("!H", 999), masked=masked, key=key)
    return frame(0x80, b"lost", masked=masked, key=key)  # a continuation of nothing


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a] or [data]


def seen_of(event: object) -> tuple:
    """An event as compared: its type, then each field with its exact type."""
    return (type(event).__name__, *((type(v).__name__, v) for v in vars(event).values()))


def read(connection: Connection, chunks: list[bytes], steps: list[str] | None = None) -> list:
    """What `connection` makes of `chunks`, fed one by one: every event with its fields,
    and an error where one is raised. `steps[i]` says what follows chunk i: "drain" (the
    events read, as trio-websocket's reader does after every read), "later" (more bytes
    first), "half" (one event read), or "send" / "close" (a text message, a close sent from
    this end)."""
    seen: list = []
    for i, chunk in enumerate(chunks):
        try:
            connection.receive_data(chunk)
        except LocalProtocolError as e:
            seen.append(("refused", str(e)))
            break
        step = steps[i] if steps else "drain"
        if step == "half":
            seen.extend(seen_of(e) for e in itertools.islice(connection.events(), 1))
        elif step in ("send", "close"):
            event = TextMessage(data="ours") if step == "send" else CloseConnection(code=1000)
            try:
                data = bytes(connection.send(event))
                # a client's frame is masked with a random key: its head and length compare
                seen.append(("wrote", (data[:2], len(data)) if connection.client else data))
            except LocalProtocolError as e:
                seen.append(("refused", str(e)))
        if step != "later":
            seen.extend(seen_of(e) for e in connection.events())
    seen.extend(seen_of(e) for e in connection.events())
    seen.append(("state", connection.state))
    return seen


def pair_of(client: bool) -> tuple[Connection, Connection]:
    kind = ConnectionType.CLIENT if client else ConnectionType.SERVER
    direct = Connection(kind)
    assert read_directly(_Ws(direct))
    return Connection(kind), direct


class _Ws:
    """What read_directly reads of a trio-websocket connection: its `_wsproto.connection`."""

    def __init__(self, connection: object) -> None:
        self._wsproto = type("WS", (), {"connection": connection})()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data(), reader_is_client=st.booleans())
def test_any_bytes_cut_anywhere_read_as_wsproto_reads_them(data, reader_is_client):
    stream = b"".join(data.draw(st.lists(frames(reader_is_client), min_size=1, max_size=8)))
    chunks = cut(stream, data.draw(st.lists(st.integers(0, 10**6), max_size=6)))
    steps = data.draw(
        st.lists(
            st.sampled_from(["drain"] * 4 + ["later", "half", "send", "close"]),
            min_size=len(chunks),
            max_size=len(chunks),
        )
    )
    plain, direct = pair_of(reader_is_client)
    assert type(direct) is DirectFrames
    assert read(direct, chunks, steps) == read(plain, chunks, steps)


@pytest.mark.parametrize("reader_is_client", [True, False])
@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 70000])
def test_long_frames_whole_or_cut_read_as_wsproto_reads_them(reader_is_client, size):
    text = ("é" + "a" * 9) * (size // 10) + "b" * (size % 10)
    stream = frame(0x81, text.encode(), masked=not reader_is_client) * 2
    for chunks in ([stream], cut(stream, [3, 70001, 140003]), cut(stream, [size // 2])):
        plain, direct = pair_of(reader_is_client)
        assert read(direct, chunks) == read(plain, chunks)
        parts = [e[1][1] for e in read(plain, chunks) if e[0] == "TextMessage"]
        assert "".join(parts) == text * 2


def test_a_lost_transport_is_heard_after_the_whole_frames_read_before_it():
    """The one difference from wsproto, on a call trio-websocket never makes
    (receive_data(None), the transport gone): wsproto reports the loss before the bytes it
    had not parsed yet; here the frames already read come first, in the order of the wire."""
    plain, direct = pair_of(True)
    hello = frame(0x81, b"hello", masked=False)
    for connection in (plain, direct):
        connection.receive_data(hello)
        connection.receive_data(None)
    assert [seen_of(e)[0] for e in plain.events()] == ["CloseConnection", "TextMessage"]
    assert [seen_of(e)[0] for e in direct.events()] == ["TextMessage", "CloseConnection"]
    assert plain.state == direct.state
    for connection in (plain, direct):  # nothing is read once the transport is gone
        with pytest.raises(LocalProtocolError, match="already closed"):
            connection.receive_data(hello)


@pytest.mark.parametrize("reader_is_client", [True, False])
def test_whole_text_frames_are_read_without_wsproto_and_the_rest_by_it(
    reader_is_client, monkeypatch
):
    """The fast path is taken: with wsproto's frame parsing made to fail, whole text frames
    are still read; a binary frame after them goes to wsproto (and fails there)."""
    masked = not reader_is_client
    texts = ['[2,"1","Heartbeat",{}]', "é" * 200, ""]
    stream = b"".join(frame(0x81, t.encode(), masked=masked) for t in texts)
    _, direct = pair_of(reader_is_client)

    def no_parsing(self, parsed):
        raise AssertionError("wsproto parsed a frame")

    monkeypatch.setattr(MessageDecoder, "process_frame", no_parsing)
    direct.receive_data(stream)
    assert [e.data for e in direct.events() if isinstance(e, TextMessage)] == texts
    direct.receive_data(frame(0x82, b"b", masked=masked))
    with pytest.raises(AssertionError, match="wsproto parsed"):
        list(direct.events())


@pytest.mark.parametrize(
    "after",
    [
        frame(0x88, struct.pack("!H", 999), masked=True),  # a close with an invalid code
        frame(0x88, struct.pack("!H", 1000), masked=True),  # a close
        frame(0x81, b"\xff", masked=True),  # not UTF-8
        frame(0x01, b"first", masked=True),  # a fragment: a continuation must follow
    ],
)
def test_nothing_is_read_after_wsproto_stopped_reading(after):
    """(Nor is a whole text frame read while a fragmented message is under way.)"""
    plain, direct = pair_of(False)
    later = frame(0x81, b"after", masked=True)
    assert read(direct, [after, later]) == read(plain, [after, later])
    assert not any(e[0] == "TextMessage" and e[1][1] == "after" for e in read(direct, [later]))


@pytest.mark.parametrize("client", [True, False])
@pytest.mark.parametrize(
    "text",
    ["", "x", "a" * 125, "a" * 126, "a" * 65535, "a" * 65536, '[3,"a",{}]' * 20, "ü" * 40000],
)
def test_a_written_text_frame_reads_back_as_sent(client, text):
    writer = Connection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
    direct = Connection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
    read_directly(_Ws(direct))
    reader = Connection(ConnectionType.SERVER if client else ConnectionType.CLIENT)
    data = direct.send(TextMessage(data=text))
    if not client:  # unmasked: the very bytes wsproto writes
        assert data == bytes(writer.send(TextMessage(data=text)))
    reader.receive_data(data)
    events = list(reader.events())
    assert "".join(e.data for e in events) == text
    assert events[-1].message_finished


def test_fragments_pings_and_close_are_written_by_wsproto():
    direct = Connection(ConnectionType.SERVER)
    read_directly(_Ws(direct))
    plain = Connection(ConnectionType.SERVER)
    for event in (
        TextMessage(data="a", message_finished=False),
        TextMessage(data="b"),
        BytesMessage(data=b"c"),
        Ping(payload=b"p"),
        CloseConnection(code=1000),
    ):
        assert bytes(direct.send(event)) == bytes(plain.send(event))
    with pytest.raises(LocalProtocolError):
        direct.send(TextMessage(data="late"))


def test_each_client_frame_has_its_own_key_and_a_forked_child_forgets_those_read_ahead():
    keys = set()
    for _ in range(200):
        data = frame_text("x", masked=True)
        keys.add(data[2:6])
    assert len(keys) > 190  # 32 random bits each: a repeat in 200 is very unlikely
    frame_text("x", masked=True)
    assert wsframes._keys  # read ahead
    if not hasattr(os, "fork"):
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, b"1" if not wsframes._keys else b"0")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_a_connection_of_another_shape_is_left_as_it_is():
    assert not read_directly(object())
    assert not read_directly(_Ws(None))  # the handshake not done

    class Other(Connection):
        pass

    other = Other(ConnectionType.CLIENT)
    assert not read_directly(_Ws(other))
    assert type(other) is Other


async def test_trio_websocket_connections_carry_messages_both_ways_once_read_directly():
    got: dict[str, list[str]] = {"client": [], "server": []}
    messages = ['[2,"1","Heartbeat",{}]', "ä" * 70000, "", '[3,"1",{}]']
    async with trio.open_nursery() as nursery:
        client, server = await open_pair(nursery)
        assert read_directly(client) and read_directly(server)
        for text in messages:
            await client.send_message(text)
            got["server"].append(await server.get_message())
            await server.send_message(text)
            got["client"].append(await client.get_message())
        assert await client.ping(b"ping") is None  # a control frame, through wsproto
        await client.aclose()
        nursery.cancel_scope.cancel()
    assert got == {"client": messages, "server": messages}


async def test_the_station_and_the_dev_csms_read_and_write_directly(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        (session,) = rig.csms.sessions.values()
        station_ws = rig.cp.station.endpoint._ws
        assert type(station_ws._wsproto.connection) is DirectFrames
        assert type(session.ws._wsproto.connection) is DirectFrames
        response = await rig.cp.call(v16.HeartbeatRequest())
        assert isinstance(response, v16.HeartbeatResponse)


def deflate() -> PerMessageDeflate:
    extension = PerMessageDeflate()
    extension.finalize("permessage-deflate")  # as negotiated in a handshake
    return extension


def test_a_connection_with_an_extension_is_left_to_wsproto():
    assert not read_directly(_Ws(Connection(ConnectionType.SERVER, extensions=[deflate()])))
    # the class set all the same: what it writes and reads is wsproto's (compressed)
    direct = DirectFrames(ConnectionType.SERVER, extensions=[deflate()])
    plain = Connection(ConnectionType.SERVER, extensions=[deflate()])
    text = '[2,"1","Heartbeat",{}]' * 10
    assert bytes(direct.send(TextMessage(data=text))) == bytes(plain.send(TextMessage(data=text)))
    writer = Connection(ConnectionType.CLIENT, extensions=[deflate()])
    data = bytes(writer.send(TextMessage(data=text)))
    assert read(direct, [data]) == read(plain, [data])
    assert read(plain, [data])[0][:2] == ("TextMessage", ("str", text))


@given(payload=st.binary(max_size=3000), key=keys)
@example(payload=bytes(range(256)) * 3, key=b"\x00\xff\x0f\xf0")  # 768: a byte at a time
@example(payload=bytes(range(256)) * 3 + b"x", key=b"\x81\x02\x43\xf4")
@example(payload=b"x" * 767, key=b"\x81\x02\x43\xf4")  # one integer XOR
def test_masking_xors_every_byte_with_the_key_byte_of_its_place(payload, key):
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert wsframes._mask(payload, key) == expected
    assert wsframes._mask(expected, key) == payload


class _TakenMeanwhile(list):
    """A key cache whose last key another thread takes between a look at it and the pop."""

    def __len__(self) -> int:
        return 1  # what the look saw


def test_a_key_cache_emptied_by_another_thread_still_gives_a_key(monkeypatch):
    monkeypatch.setattr(wsframes, "_keys", _TakenMeanwhile())
    first = frame_text("x", masked=True)
    second = frame_text("x", masked=True)
    assert first[2:6] != second[2:6]  # a fresh batch: its first key, then the next one
    # the batch's other keys wait in the cache
    assert list.__len__(wsframes._keys) == wsframes._KEY_BATCH - 2
    server = Connection(ConnectionType.SERVER)
    server.receive_data(first + second)
    assert [e.data for e in server.events()] == ["x", "x"]  # each masked with its own key
