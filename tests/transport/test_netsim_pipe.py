"""The in-process network's connections: a stream's behaviour, at one scheduling point a call."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from chargebox.netsim import Network, pipe_pair


class Steps(trio.abc.Instrument):
    """Counts the scheduler's steps of the tasks it is told to watch."""

    def __init__(self) -> None:
        self.watched: set[trio.lowlevel.Task] = set()
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task in self.watched:
            self.steps += 1


class EchoServer:
    async def accept(self, stream: trio.abc.Stream) -> None:
        while data := await stream.receive_some():
            await stream.send_all(data)


async def test_a_frame_there_and_back_costs_few_scheduling_steps() -> None:
    # a simulated day passes thousands of frames: each send and receive is one
    # checkpoint (trio.testing's memory streams take two or three each, the valve one more)
    net = Network()
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        net.listen("echo.test", 80, EchoServer())
        stream = await net.open_stream("echo.test", 80)
        await stream.send_all(b"warm-up")
        assert await stream.receive_some() == b"warm-up"
        steps = Steps()
        steps.watched.add(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(steps)
        try:
            for _ in range(10):
                await stream.send_all(b"frame")
                assert await stream.receive_some() == b"frame"
        finally:
            trio.lowlevel.remove_instrument(steps)
        # per frame: the send's checkpoint, the receive's wait and its wake-up
        assert steps.steps <= 10 * 2
        nursery.cancel_scope.cancel()


async def test_bytes_arrive_in_order_and_in_pieces_of_max_bytes() -> None:
    a, b = pipe_pair()
    await a.send_all(b"hello ")
    await a.send_all(memoryview(b"world"))
    assert await b.receive_some(3) == b"hel"
    assert await b.receive_some() == b"lo world"
    with pytest.raises(ValueError, match="max_bytes"):
        await b.receive_some(0)


async def test_a_receive_waits_for_the_peers_send() -> None:
    a, b = pipe_pair()
    got: list[bytes] = []

    async def receive() -> None:
        got.append(bytes(await b.receive_some()))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        await a.send_all(b"late")
    assert got == [b"late"]


async def test_the_peers_close_is_end_of_file_and_breaks_sends() -> None:
    a, b = pipe_pair()
    await a.send_all(b"last")
    await a.aclose()
    assert await b.receive_some() == b"last"
    assert await b.receive_some() == b""
    with pytest.raises(trio.BrokenResourceError):
        await b.send_all(b"to nobody")
    with pytest.raises(trio.ClosedResourceError):
        await a.send_all(b"after close")
    with pytest.raises(trio.ClosedResourceError):
        await a.receive_some()


async def test_closing_an_end_ends_its_waiting_receive() -> None:
    # as trio's memory streams do: the receive under way learns its end was closed
    _a, b = pipe_pair()
    errors: list[BaseException] = []

    async def receive() -> None:
        try:
            await b.receive_some()
        except trio.ClosedResourceError as error:
            errors.append(error)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive)
        await trio.testing.wait_all_tasks_blocked()
        await b.aclose()
    assert len(errors) == 1
    with pytest.raises(trio.ClosedResourceError):
        await b.receive_some()


async def test_a_waiting_receive_can_be_cancelled_and_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a, b = pipe_pair()
    with trio.move_on_after(1) as scope:
        await b.receive_some()
    assert scope.cancelled_caught
    await a.send_all(b"kept")
    assert await b.receive_some() == b"kept"


async def test_a_second_receive_while_one_waits_is_refused_as_by_trio_streams(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a, b = pipe_pair()
    received: list[bytes | bytearray] = []
    with trio.fail_after(5):  # (a second receive left waiting would stop here)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: _receive_into(b, received))
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError, match="already receiving"):
                await b.receive_some()
            await a.send_all(b"for the first")
    assert received == [b"for the first"]


async def _receive_into(stream: trio.abc.ReceiveStream, into: list[bytes | bytearray]) -> None:
    into.append(await stream.receive_some())


async def test_a_send_in_a_cancelled_scope_is_cancelled_and_sends_nothing() -> None:
    a, b = pipe_pair()
    with trio.CancelScope() as scope:
        scope.cancel()
        await a.send_all(b"lost")
    assert scope.cancelled_caught
    await a.send_all(b"sent")
    assert await b.receive_some() == b"sent"


async def test_a_send_is_a_checkpoint_as_trio_streams_promise() -> None:
    # a loop that only sends must still let other tasks run (trio's rule for every
    # stream's send_all), even though a websocket's send lock above it yields too
    a, b = pipe_pair()
    with trio.testing.assert_checkpoints():
        await a.send_all(b"frame")
    assert await b.receive_some() == b"frame"
