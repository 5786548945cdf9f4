"""transport.send_text: a message written without the task switch of trio-websocket's send
lock when nobody else sends, in the order of the framing when others do."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, wrap_client_stream, wrap_server_stream

from chargebox.actors.endpoint import Endpoint
from chargebox.ocpp import v16
from chargebox.transport import send_text


class StepsOfTask(trio.abc.Instrument):
    """Counts the task steps of one task."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1


async def open_pair(nursery: trio.Nursery, pair=trio.testing.memory_stream_pair):
    """A client and a server trio-websocket connection over in-memory streams."""
    client_stream, server_stream = pair()
    accepted: list = []

    async def server(task_status=trio.TASK_STATUS_IGNORED) -> None:
        request = await wrap_server_stream(nursery, server_stream)
        accepted.append(await request.accept())

    nursery.start_soon(server)
    client = await wrap_client_stream(nursery, client_stream, "test", "/")
    while not accepted:
        await trio.sleep(0)
    return client, accepted[0]


async def test_a_message_sent_alone_takes_one_step_less_than_with_send_message():
    async with trio.open_nursery() as nursery:
        client, server = await open_pair(nursery)
        received: list[str] = []

        async def read() -> None:
            while True:
                received.append(await server.get_message())

        nursery.start_soon(read)

        async def steps_of(send) -> int:
            counted = StepsOfTask(trio.lowlevel.current_task())
            trio.lowlevel.add_instrument(counted)
            try:
                for n in range(10):
                    await send(f"message {n}")
            finally:
                trio.lowlevel.remove_instrument(counted)
            return counted.steps

        with_lock = await steps_of(client.send_message)
        alone = await steps_of(lambda text: send_text(client, text))
        await trio.testing.wait_all_tasks_blocked()
        assert received == [f"message {n}" for n in range(10)] * 2
        # send_message takes its free lock at a scheduling point of its own, before the
        # write's; send_text only has the write's
        assert alone == with_lock - 10
        nursery.cancel_scope.cancel()


async def test_messages_sent_at_once_go_out_in_the_order_they_were_framed():
    """A sender that finds the lock held (another's write waits for the peer) goes behind it."""
    async with trio.open_nursery() as nursery:
        client, server = await open_pair(nursery, trio.testing.lockstep_stream_pair)

        async def send(text: str, how: str) -> None:
            if how == "send_text":
                await send_text(client, text)
            else:
                await client.send_message(text)

        # each starts while the one before waits in its write (lockstep: until read)
        hows = ["send_text", "send_text", "send_message", "send_text", "send_message"]
        for n, how in enumerate(hows):
            nursery.start_soon(send, f"message {n}", how)
            await trio.testing.wait_all_tasks_blocked()
        received = [await server.get_message() for _ in hows]
        assert received == [f"message {n}" for n in range(len(hows))]
        nursery.cancel_scope.cancel()


async def test_a_broken_stream_closes_the_connection_as_send_message_does():
    async with trio.open_nursery() as nursery:
        client, _server = await open_pair(nursery)
        await client._stream.aclose()  # the stream broken under the connection
        with pytest.raises(ConnectionClosed):
            await send_text(client, "lost")
        assert client.closed is not None
        # the lock is free again, and a closed connection refuses at once
        assert not client._stream_lock.locked()
        with pytest.raises(ConnectionClosed):
            await send_text(client, "after")
        nursery.cancel_scope.cancel()


async def test_a_websocket_of_another_shape_gets_send_message():
    class StandIn:
        def __init__(self) -> None:
            self.sent: list[str] = []

        async def send_message(self, text: str) -> None:
            self.sent.append(text)

    ws = StandIn()
    await send_text(ws, "hello")
    assert ws.sent == ["hello"]


async def test_a_call_of_the_endpoint_takes_one_step_for_its_send(autojump_clock):
    """The endpoint's CALL over a real connection: its send's step and the answer's wake."""

    async def central_system(server) -> None:
        while True:
            call = json.loads(await server.get_message())
            result = [3, call[1], {"currentTime": "2024-01-01T00:00:00Z"}]
            await server.send_message(json.dumps(result))

    async def router(spec, request):  # (the Central System sends no CALL here)
        raise AssertionError(request)

    async with trio.open_nursery() as nursery:
        client, server = await open_pair(nursery)
        nursery.start_soon(central_system, server)
        endpoint = Endpoint(router, call_timeout=30)
        endpoint.attach(client)
        endpoint.set_accepted(True)
        nursery.start_soon(endpoint.serve, client)
        await endpoint.call(v16.HeartbeatRequest())
        counted = StepsOfTask(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(counted)
        try:
            for _ in range(10):
                await endpoint.call(v16.HeartbeatRequest())
        finally:
            trio.lowlevel.remove_instrument(counted)
        # per CALL: the memory stream's write (two scheduling points) and the answer's
        # wake; trio-websocket's send lock took one more
        assert counted.steps == 30
        nursery.cancel_scope.cancel()
