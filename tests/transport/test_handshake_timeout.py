"""A Central System that accepts the TCP connection but never answers the websocket handshake."""

from __future__ import annotations

from functools import partial

import trio

from chargebox import transport
from chargebox.transport import ConnectError, FailureKind


async def test_a_silent_server_is_a_timeout_named_with_the_url(nursery, autojump_clock):
    held: list[trio.SocketStream] = []

    async def hold(stream: trio.SocketStream) -> None:
        held.append(stream)  # accepted, never read, never answered
        await trio.sleep_forever()

    listeners = await nursery.start(partial(trio.serve_tcp, hold, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/ocpp/CP-1"
    error = None
    async with trio.open_nursery() as inner:
        try:
            await transport.connect(inner, url, profile=0, charge_point_id="CP-1", timeout=7)
        except ConnectError as e:
            error = e
    assert error is not None and error.kind is FailureKind.TIMEOUT
    assert str(error) == (
        f"the Central System at {url} did not complete the websocket handshake within 7 s"
    )
    assert held  # the TCP connection was made: it is the handshake that never came
