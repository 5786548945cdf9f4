"""An in-process network: charge points reach Central Systems without sockets.

For thousands of simulated stations in one process, and for tests that run
on trio's mock clock: a clock that jumps whenever every task waits cannot
tell a wait for loopback data from idleness, but it can with in-memory
streams, which makes such tests exact. The bytes are the real ones: the
websocket handshake and frames, and TLS when the Central System has it.

    net = Network()
    net.listen("csms.test", 80, csms)          # a chargebox.csms.CentralSystem
    options = Options(open_stream=net.open_stream)

A connection is a pair of `Pipe` ends over two byte buffers. A send puts its
bytes in the peer's buffer and wakes the peer's receive at once; each call is
one scheduling point (trio's checkpoint), not the several that
trio.testing's memory streams take to detect misuse, because a simulated day
or fleet passes every frame through it.
"""

from __future__ import annotations

from typing import Any

import trio


class Unreachable(OSError):
    """Nothing listens at that address on the in-process network."""


class Network:
    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], Any] = {}
        self._nursery: trio.Nursery | None = None
        #: connections opened so far, per address
        self.connections: dict[tuple[str, int], int] = {}
        self._open: dict[tuple[str, int], list[Valve]] = {}
        #: every connection attempt: (host, port, trio time)
        self.attempts: list[tuple[str, int, float]] = []

    def listen(self, host: str, port: int, server: Any) -> None:
        """Make `server.accept(stream)` answer connections to host:port."""
        self._servers[(host, port)] = server

    def unlisten(self, host: str, port: int) -> None:
        self._servers.pop((host, port), None)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Host the servers' connection tasks until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        server = self._servers.get((host, port))
        if server is None or self._nursery is None:
            self.attempts.append((host, port, trio.current_time()))
            raise Unreachable(111, f"connection refused ({host}:{port} on the in-process network)")
        client, served = pipe_pair()
        self.connections[(host, port)] = self.connections.get((host, port), 0) + 1
        self.attempts.append((host, port, trio.current_time()))
        valve = Valve(client)
        self._open.setdefault((host, port), []).append(valve)
        self._nursery.start_soon(server.accept, served)
        return valve

    async def cut(self, host: str, port: int) -> int:
        """Break every open connection to host:port (as a network failure would)."""
        streams = self._open.pop((host, port), [])
        for stream in streams:
            await trio.aclose_forcefully(stream)
        return len(streams)

    def freeze(self, host: str, port: int) -> None:
        """Open connections to host:port go silent: nothing passes, nothing closes."""
        for valve in self._open.get((host, port), []):
            valve.freeze()


class Valve(trio.abc.Stream):
    """A stream that can stop passing bytes without closing, like a network that went silent."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.open = trio.Event()
        self.open.set()

    def freeze(self) -> None:
        self.open = trio.Event()

    def thaw(self) -> None:
        self.open.set()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self.open.is_set():
            return  # lost on the way
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        while True:
            if not self.open.is_set():  # (an Event's wait is a checkpoint even when set)
                await self.open.wait()
            data = await self.inner.receive_some(max_bytes)
            if self.open.is_set():
                return data
            # arrived while frozen: lost

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Buffer:
    """The bytes on their way in one direction, and the receive that waits for them.

    One receive at a time (as on any trio stream): the waiting task is kept itself
    and rescheduled by a send, rather than through a parking lot, a frame's cost on
    both ends of every connection."""

    __slots__ = ("data", "eof", "reader_closed", "waiter")

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False  # the sending end closed: once empty, a receive returns b""
        self.reader_closed = False  # the receiving end closed: a send is broken
        self.waiter: trio.lowlevel.Task | None = None

    async def wait(self) -> None:
        """Wait until `wake` (the receive of this direction; one at a time)."""
        if self.waiter is not None:
            raise trio.BusyResourceError("another task is already receiving on this end")
        self.waiter = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)

    def _abort(self, raise_cancel: Any) -> trio.lowlevel.Abort:
        self.waiter = None  # cancelled: a send finds nobody to wake
        return trio.lowlevel.Abort.SUCCEEDED

    def wake(self) -> None:
        """The receive waiting, if any, looks again."""
        task = self.waiter
        if task is not None:
            self.waiter = None
            trio.lowlevel.reschedule(task)


class Pipe(trio.abc.Stream):
    """One end of an in-process connection: sends go to the peer's buffer, receives take
    from its own; unbounded, so a send never waits for the peer."""

    __slots__ = ("_closed", "_incoming", "_outgoing")

    def __init__(self, incoming: _Buffer, outgoing: _Buffer) -> None:
        self._incoming = incoming
        self._outgoing = outgoing
        self._closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise trio.ClosedResourceError("this end of the connection is closed")
        outgoing = self._outgoing
        if outgoing.reader_closed:
            raise trio.BrokenResourceError("the peer closed the connection")
        if data:
            outgoing.data += data
            outgoing.wake()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("this end of the connection is closed")
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise trio.ClosedResourceError("this end of the connection is closed")
        incoming = self._incoming
        waited = False
        while not self._closed and not incoming.data and not incoming.eof:
            await incoming.wait()  # woken by a send, the peer's close or our own
            waited = True
        if self._closed:  # closed while it waited
            raise trio.ClosedResourceError("this end of the connection is closed")
        if not waited:
            await trio.lowlevel.cancel_shielded_checkpoint()
        data = incoming.data
        if max_bytes is None or max_bytes >= len(data):
            incoming.data = bytearray()
            return data
        chunk = data[:max_bytes]
        del data[:max_bytes]
        return chunk

    def close(self) -> None:
        """Close this end: the peer's receives end (b""), its sends are broken."""
        if self._closed:
            return
        self._closed = True
        self._outgoing.eof = True
        self._outgoing.wake()
        self._incoming.reader_closed = True
        self._incoming.data = bytearray()
        self._incoming.wake()  # a receive waiting on this end learns it is closed

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()


def pipe_pair() -> tuple[Pipe, Pipe]:
    """The two ends of a new in-process connection."""
    there, back = _Buffer(), _Buffer()
    return Pipe(back, there), Pipe(there, back)
