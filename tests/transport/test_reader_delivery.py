"""transport.ReaderDelivery: each message handled in trio-websocket's reader task.

The websockets are trio-websocket's own, over trio's in-memory streams, on the
MockClock: every wait is exact, and `wait_all_tasks_blocked` says when the
messages sent so far have been read.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    wrap_client_stream,
    wrap_server_stream,
)

from chargebox.transport import ReaderDelivery


async def websocket_pair(nursery: trio.Nursery) -> tuple[WebSocketConnection, WebSocketConnection]:
    """(server, client): the two ends of one websocket."""
    client_stream, server_stream = trio.testing.memory_stream_pair()
    accepted: list[WebSocketConnection] = []

    async def serve() -> None:
        request = await wrap_server_stream(nursery, server_stream)
        accepted.append(await request.accept())

    nursery.start_soon(serve)
    client = await wrap_client_stream(nursery, client_stream, "test", "/")
    await trio.testing.wait_all_tasks_blocked()
    return accepted[0], client


async def test_messages_keep_their_order_across_the_switch_to_the_reader(autojump_clock):
    got: list[tuple[str, str | bytes]] = []

    async def handle(message: str | bytes) -> None:
        got.append(("reader", message))

    async with trio.open_nursery() as nursery:
        server, client = await websocket_pair(nursery)
        for text in ("m1", "m2"):
            await server.send_message(text)
        await trio.testing.wait_all_tasks_blocked()
        delivery = ReaderDelivery(client, handle)
        # m1 waits in the channel, m2 behind it: they go first, through get_message()
        assert not delivery.install()

        async def read() -> None:
            try:
                while True:
                    delivery.install()
                    got.append(("channel", await client.get_message()))
            except ConnectionClosed:
                got.append(("closed", ""))

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        assert delivery.installed
        for text in ("m3", "m4"):
            await server.send_message(text)
        await trio.testing.wait_all_tasks_blocked()
        assert got == [("channel", "m1"), ("channel", "m2"), ("reader", "m3"), ("reader", "m4")]

        # closing still ends get_message()
        await server.aclose()
        await trio.testing.wait_all_tasks_blocked()
        assert got[-1] == ("closed", "")


async def test_once_removed_the_messages_wait_for_get_message_again(autojump_clock):
    got: list[str | bytes] = []

    async def handle(message: str | bytes) -> None:
        got.append(message)

    async with trio.open_nursery() as nursery:
        server, client = await websocket_pair(nursery)
        delivery = ReaderDelivery(client, handle)
        assert delivery.install()
        await server.send_message("handled")
        await trio.testing.wait_all_tasks_blocked()
        delivery.remove()
        await server.send_message("waits")
        await trio.testing.wait_all_tasks_blocked()
        assert got == ["handled"]
        with trio.fail_after(1):
            assert await client.get_message() == "waits"
        nursery.cancel_scope.cancel()


async def test_a_closed_connection_is_not_taken_over(autojump_clock):
    async def handle(message: str | bytes) -> None:
        raise AssertionError("nothing comes")

    async with trio.open_nursery() as nursery:
        server, client = await websocket_pair(nursery)
        await server.aclose()
        await trio.testing.wait_all_tasks_blocked()
        delivery = ReaderDelivery(client, handle)
        assert not delivery.install()
        with pytest.raises(ConnectionClosed):
            await client.get_message()
        nursery.cancel_scope.cancel()


class StandIn:
    """A websocket stand-in without trio-websocket's reader task."""

    async def get_message(self) -> str:
        return "x"


def test_a_stand_in_keeps_its_own_get_message():
    async def handle(message: str | bytes) -> None:
        raise AssertionError("never called")

    delivery = ReaderDelivery(StandIn(), handle)
    assert not delivery.install()
    assert not delivery.installed
    delivery.remove()  # nothing to take out
