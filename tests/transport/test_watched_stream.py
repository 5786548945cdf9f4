"""The station's stream is watched for failures during the opening handshake only.

What the watch remembers is read only when the handshake fails; once the
websocket is open, trio-websocket calls the socket stream's own methods, with no
coroutine of the watch in between on every frame sent and every read.
"""

from __future__ import annotations

import json

import trio

from chargebox import transport
from chargebox.csms import CentralSystem, CsmsSettings


async def test_an_open_websocket_calls_the_socket_stream_directly(nursery):
    csms = CentralSystem(CsmsSettings())
    await nursery.start(csms.serve)
    async with trio.open_nursery() as inner:
        ws = await transport.connect(
            inner, f"ws://127.0.0.1:{csms.port}/ocpp/CP-1", profile=0, charge_point_id="CP-1"
        )
        watched = ws._stream
        assert isinstance(watched.inner, trio.SocketStream)
        for method in ("send_all", "receive_some", "wait_send_all_might_not_block"):
            assert getattr(watched, method).__self__ is watched.inner, method
        # and frames still go both ways through it
        await ws.send_message(json.dumps([2, "1", "Heartbeat", {}]))
        answer = json.loads(await ws.get_message())
        assert answer[:2] == [3, "1"] and "currentTime" in answer[2]
        await ws.aclose()
        inner.cancel_scope.cancel()
