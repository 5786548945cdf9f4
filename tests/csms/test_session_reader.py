"""The development CSMS answers in its websocket's reader task, and keeps the order.

A charge point's message is handled in the task that read it; a handler that has
to wait is awaited beside it, so the reader keeps answering pings meanwhile, and
what arrives while it waits is handled after its answer, in order. A bare
trio-websocket client on the in-process network plays the charge point (MockClock).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import trio
import trio.testing
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection, wrap_client_stream

from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.csms.server import STEVE_PATH, Session, _drop_unfinished
from chargebox.netsim import Network
from chargebox.ocpp import v16
from chargebox.ocpp.frames import Call

HEARTBEAT = [2, "hb-1", "Heartbeat", {}]
AUTHORIZE = [2, "auth-1", "Authorize", {"idTag": "TAG"}]


async def connect(nursery: trio.Nursery, csms: CentralSystem) -> WebSocketConnection:
    net = Network()
    await nursery.start(net.run)
    net.listen("csms.test", 80, csms)
    stream = await net.open_stream("csms.test", 80)
    return await wrap_client_stream(
        nursery, stream, "csms.test", STEVE_PATH + "CP-1", subprotocols=["ocpp1.6"]
    )


def waiting_heartbeat(csms: CentralSystem, release: trio.Event) -> None:
    async def heartbeat(session, request):
        await release.wait()
        return v16.HeartbeatResponse(current_time=csms.clock())

    csms.on("Heartbeat", heartbeat)


async def test_pings_are_answered_while_a_handler_waits(autojump_clock):
    csms = CentralSystem(CsmsSettings())
    release = trio.Event()
    waiting_heartbeat(csms, release)
    async with trio.open_nursery() as nursery:
        ws = await connect(nursery, csms)
        await ws.send_message(json.dumps(HEARTBEAT))
        await trio.testing.wait_all_tasks_blocked()
        with trio.fail_after(5):
            await ws.ping(b"still there?")  # returns once its pong came
        release.set()
        with trio.fail_after(5):
            answer = json.loads(await ws.get_message())
        assert answer[:2] == [3, "hb-1"]
        nursery.cancel_scope.cancel()


async def test_what_comes_while_a_handler_waits_is_handled_after_its_answer(autojump_clock):
    csms = CentralSystem(CsmsSettings())
    release = trio.Event()
    waiting_heartbeat(csms, release)
    async with trio.open_nursery() as nursery:
        ws = await connect(nursery, csms)
        await ws.send_message(json.dumps(HEARTBEAT))
        await ws.send_message(json.dumps(AUTHORIZE))
        await trio.testing.wait_all_tasks_blocked()
        session = await csms.session("CP-1")
        assert [(ex.direction, ex.unique_id) for ex in session.exchanges] == [("in", "hb-1")]
        release.set()
        with trio.fail_after(5):
            answers = [json.loads(await ws.get_message())[1] for _ in range(2)]
        assert answers == ["hb-1", "auth-1"]
        assert [(ex.direction, ex.unique_id) for ex in session.exchanges] == [
            ("in", "hb-1"),
            ("out", "hb-1"),
            ("in", "auth-1"),
            ("out", "auth-1"),
        ]
        # and when nothing waits any more, the reader answers at once again
        await ws.send_message(json.dumps([2, "hb-2", "Heartbeat", {}]))
        with trio.fail_after(5):
            assert json.loads(await ws.get_message())[1] == "hb-2"
        nursery.cancel_scope.cancel()


async def test_an_answer_never_awaited_is_closed_when_the_session_ends():
    async def handler() -> None:
        await trio.sleep_forever()

    send, receive = trio.open_memory_channel(4)
    pending = handler()
    send.send_nowait((Call("x", "Heartbeat", {}), pending))
    send.send_nowait("a message not handled")
    _drop_unfinished(receive)
    assert pending.cr_frame is None  # closed: no warning of a coroutine never awaited


class ClosedWebSocket:
    """A websocket that the charge point closed while a handler's answer was awaited."""

    async def send_message(self, text: str) -> None:
        raise ConnectionClosed(CloseReason(1000, "gone"))


async def test_an_answer_awaited_after_the_websocket_closed_ends_the_catch_up_quietly():
    csms = CentralSystem(CsmsSettings())
    session = Session(csms, "CP-1", ClosedWebSocket())  # type: ignore[arg-type]

    async def late_answer() -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=csms.clock())

    send, receive = trio.open_memory_channel(4)
    send.send_nowait((Call("hb-1", "Heartbeat", {}), late_answer()))
    send.send_nowait(json.dumps(HEARTBEAT))
    send.close()
    await session._catch_up(receive)  # returns: no ConnectionClosed out of the session's task
    assert [(ex.direction, ex.unique_id) for ex in session.exchanges] == [("out", "hb-1")]


async def test_a_call_answered_at_once_is_recorded_and_told_both_ways(autojump_clock):
    # both frames of the CALL, recorded in wire order, announced, counted; with
    # keep_exchanges=0 nothing is kept but the listener is still told
    for keep in (None, 0):
        told: list[tuple[str, str, str | None, str | None]] = []
        csms = CentralSystem(
            CsmsSettings(keep_exchanges=keep),
            on_exchange=lambda s, ex, told=told: told.append(
                (ex.direction, ex.kind, ex.action, ex.unique_id)
            ),
        )
        async with trio.open_nursery() as nursery:
            ws = await connect(nursery, csms)
            session = await csms.session("CP-1")
            changed = trio.Event()
            nursery.start_soon(_set_on_change, csms, changed)
            await trio.testing.wait_all_tasks_blocked()
            await ws.send_message(json.dumps(HEARTBEAT))
            with trio.fail_after(5):
                answer = await ws.get_message()
                await changed.wait()
            expected = [
                ("in", "CALL", "Heartbeat", "hb-1"),
                ("out", "CALLRESULT", "Heartbeat", "hb-1"),
            ]
            assert told == expected
            kept = [(ex.direction, ex.kind, ex.action, ex.unique_id) for ex in session.exchanges]
            assert kept == (expected if keep is None else [])
            if keep is None:
                assert session.exchanges[0].payload == {}
                assert session.exchanges[1].text == answer
                assert session.exchanges[0].time <= session.exchanges[1].time
            assert (csms.counts.received, csms.counts.sent) == (1, 1)
            nursery.cancel_scope.cancel()


async def _set_on_change(csms: CentralSystem, changed: trio.Event) -> None:
    # wait_until wakes on each change: the CALL's record is one
    await csms.wait_until(lambda: csms.counts.received == 1)
    changed.set()


async def test_a_heartbeat_is_answered_with_the_csms_clock(autojump_clock):
    csms = CentralSystem(CsmsSettings(), clock=lambda: datetime(2031, 2, 3, 4, 5, 6, 789999, UTC))
    async with trio.open_nursery() as nursery:
        ws = await connect(nursery, csms)
        await ws.send_message(json.dumps(HEARTBEAT))
        with trio.fail_after(5):
            answer = json.loads(await ws.get_message())
        # milliseconds cut, never rounded up
        assert answer == [3, "hb-1", {"currentTime": "2031-02-03T04:05:06.789Z"}]
        nursery.cancel_scope.cancel()
