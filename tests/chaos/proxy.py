"""A TCP proxy on loopback whose connections can be cut, as a flaky network would."""

from __future__ import annotations

import trio


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port: int | None = None
        self._pairs: list[tuple[trio.SocketStream, trio.SocketStream]] = []
        self.cuts = 0

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._connection, listeners)
            task_status.started(self.port)

    async def _connection(self, client: trio.SocketStream) -> None:
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        except OSError:
            await client.aclose()
            return
        pair = (client, upstream)
        self._pairs.append(pair)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, client, upstream, nursery.cancel_scope)
                nursery.start_soon(self._pump, upstream, client, nursery.cancel_scope)
        finally:
            if pair in self._pairs:
                self._pairs.remove(pair)
            for stream in pair:
                await trio.aclose_forcefully(stream)

    @staticmethod
    async def _pump(
        source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope
    ) -> None:
        try:
            while data := await source.receive_some(65536):
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()

    async def cut(self) -> int:
        """Close every connection at once."""
        pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for stream in pair:
                await trio.aclose_forcefully(stream)
        if pairs:
            self.cuts += 1
        return len(pairs)
