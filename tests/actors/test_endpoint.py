"""The OCPP-J rules of the station's Endpoint: broken frames, answer before our next CALL,
the CALL timeout, and answers correlated by message id.

Most tests drive the Endpoint directly over a fake websocket, so that the test plays
the Central System frame by frame and sees the exact order of what the station
writes; one runs the whole station against the development CSMS.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import trio
import trio.testing
from trio_websocket import CloseReason, ConnectionClosed

from chargebox.actors.endpoint import CallTimeout, ConnectionLost, Endpoint, Offline
from chargebox.charts.effects import Reply
from chargebox.charts.models.calls import CallsModel
from chargebox.ocpp import v16
from chargebox.ocpp.frames import CALL, CALLERROR, CALLRESULT
from tests.messagelog.support import read_page
from tests.support import running

RPC_LOGGER = "chargebox.actors.endpoint"
CALL_TIMEOUT = 7.5  # not the default 30 s: the test sees that the endpoint's own value counts


class FakeWebSocket:
    """The station's end of a websocket; the test plays the Central System at the other."""

    def __init__(self) -> None:
        self._to_station, self._inbound = trio.open_memory_channel[str](math.inf)
        #: what the station wrote, with the (mock) time it was written
        self.sent: list[tuple[float, str]] = []
        self._changed = trio.Event()
        self._read = 0

    # the two methods the Endpoint uses
    async def get_message(self) -> str:
        try:
            return await self._inbound.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise ConnectionClosed(CloseReason(1000, "closed by the test")) from None

    async def send_message(self, text: str) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append((trio.current_time(), text))
        self._changed.set()
        self._changed = trio.Event()

    # the Central System's side
    def push(self, frame: Any) -> None:
        """Send a frame (a list, encoded here) or raw text to the station."""
        self._to_station.send_nowait(frame if isinstance(frame, str) else json.dumps(frame))

    async def next_frame(self) -> list[Any]:
        """The next frame the station wrote (waiting for it), decoded."""
        while len(self.sent) <= self._read:
            await self._changed.wait()
        self._read += 1
        return json.loads(self.sent[self._read - 1][1])

    def frames(self) -> list[list[Any]]:
        return [json.loads(text) for _, text in self.sent]

    def close(self) -> None:
        self._to_station.close()


async def clear_cache_router(spec: Any, request: Any) -> Any:
    """The station's handlers, as far as these tests need them."""
    assert isinstance(request, v16.ClearCacheRequest), request
    return v16.ClearCacheResponse(status=v16.ClearCacheStatus.Accepted)


@asynccontextmanager
async def serving(
    router: Any = clear_cache_router, **options: Any
) -> AsyncIterator[tuple[Endpoint, FakeWebSocket, trio.Nursery]]:
    """An Endpoint serving a fake websocket, registered (our CALLs may go)."""
    ws = FakeWebSocket()
    endpoint = Endpoint(router, call_timeout=CALL_TIMEOUT, **options)
    endpoint.attach(ws)  # type: ignore[arg-type]
    endpoint.set_accepted(True)
    # on the mock clock a test that waits for a frame that never comes fails, not hangs
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(endpoint.serve, ws)
            yield endpoint, ws, nursery
            ws.close()
            nursery.cancel_scope.cancel()


def heartbeat_result(unique_id: str, hour: int) -> list[Any]:
    return [CALLRESULT, unique_id, {"currentTime": f"2024-05-01T{hour:02d}:00:00.000Z"}]


def at(hour: int) -> datetime:
    return datetime(2024, 5, 1, hour, tzinfo=UTC)


class Outcome:
    """The result of `endpoint.call` run as a task: value or exception, once done."""

    def __init__(self) -> None:
        self.done = trio.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    async def run(self, endpoint: Endpoint, request: Any, **kw: Any) -> None:
        try:
            self.value = await endpoint.call(request, **kw)
        except Exception as e:
            self.error = e
        self.done.set()


def start_call(nursery: trio.Nursery, endpoint: Endpoint, request: Any, **kw: Any) -> Outcome:
    outcome = Outcome()
    nursery.start_soon(lambda: outcome.run(endpoint, request, **kw))
    return outcome


# -- broken frames ------------------------------------------------------------------------

ANSWERED = [
    # a CALL with a readable id but the wrong shape
    pytest.param('[2, "id-short", "ClearCache"]', "id-short", id="call-too-short"),
    pytest.param('[2, "id-long", "ClearCache", {}, {}]', "id-long", id="call-too-long"),
    pytest.param('[2, "id-action", 42, {}]', "id-action", id="call-action-not-string"),
    pytest.param('[2, "id-payload", "ClearCache", [1]]', "id-payload", id="call-payload-array"),
    pytest.param('[2, "id-payload2", "ClearCache", "x"]', "id-payload2", id="call-payload-str"),
    # a type id other than 2, 3, 4 or not an integer
    pytest.param('[7, "id-type", "ClearCache", {}]', "id-type", id="unknown-type-id"),
    pytest.param('["2", "id-type2", "ClearCache", {}]', "id-type2", id="type-id-not-int"),
    # a CALLRESULT of the wrong length
    pytest.param('[3, "id-result"]', "id-result", id="callresult-too-short"),
    # an id longer than 36 characters can still be read, and is answered
    pytest.param(f'[2, "{"x" * 37}", "ClearCache", {{}}]', "x" * 37, id="id-too-long"),
]

# Text that is not JSON, but begins like a frame: the message id is read from its start.
# A text cut short is "incomplete" (ProtocolError), any other is FormationViolation.
NOT_JSON_ANSWERED = [
    pytest.param('[2, "id-cut", "ClearCache", {', "id-cut", "ProtocolError", id="truncated-call"),
    pytest.param('[2,"abc","Heartbeat",{', "abc", "ProtocolError", id="truncated-heartbeat"),
    pytest.param('[2, "id-short-cut"', "id-short-cut", "ProtocolError", id="cut-after-the-id"),
    pytest.param('[3, "id-res", {"status": ', "id-res", "ProtocolError", id="truncated-result"),
    pytest.param('[2, "id-\\u0041", "ClearCache", {', "id-A", "ProtocolError", id="escaped-id"),
    pytest.param('[2, "id-syntax", "ClearCache", {]', "id-syntax", "FormationViolation", id="bad"),
    pytest.param('[2, "id-tail", "ClearCache", {}] x', "id-tail", "FormationViolation", id="tail"),
]

DROPPED = [
    pytest.param("this is not JSON", id="not-json"),
    # not JSON, and no message id can be told from its start
    pytest.param('[2, "id-op', id="cut-inside-the-id"),
    pytest.param('[2, "id-\\q", "ClearCache", {', id="bad-escape-in-the-id"),
    pytest.param('[2 "id-no-comma", "ClearCache", {}]', id="no-comma-after-the-type"),
    pytest.param('{"2": "ClearCache", ', id="truncated-object"),
    # a CALLERROR cut short is not answered either
    pytest.param('[4, "id-err-cut", "GenericError", "cut', id="truncated-callerror"),
    pytest.param('{"2": "ClearCache"}', id="not-an-array"),
    pytest.param('"a string"', id="a-json-string"),
    pytest.param("[]", id="empty-array"),
    pytest.param("[2]", id="no-id"),
    pytest.param('[2, 17, "ClearCache", {}]', id="id-not-a-string"),
    pytest.param('[2, null, "ClearCache", {}]', id="id-null"),
    # a broken CALLERROR is never answered with another one: two peers must not loop
    pytest.param('[4, "id-err", "GenericError"]', id="callerror-too-short"),
    pytest.param('[4, "id-err2", 5, "x", {}]', id="callerror-code-not-string"),
]


async def answered_next(ws: FakeWebSocket, unique_id: str) -> None:
    """A valid CALL now gets its CALLRESULT: the link is still up and serving."""
    ws.push([CALL, unique_id, "ClearCache", {}])
    assert await ws.next_frame() == [CALLRESULT, unique_id, {"status": "Accepted"}]


@pytest.mark.parametrize(("text", "unique_id"), ANSWERED)
async def test_a_broken_frame_with_a_readable_id_is_answered_with_a_callerror(
    text, unique_id, caplog, autojump_clock
):
    caplog.set_level(logging.WARNING, logger=RPC_LOGGER)
    async with serving() as (endpoint, ws, _):
        ws.push(text)
        answer = await ws.next_frame()
        assert answer[:3] == [CALLERROR, unique_id, "FormationViolation"]
        assert len(answer) == 5 and isinstance(answer[3], str) and answer[3]
        assert endpoint.stats["broken"] == 1
        assert any("broken frame" in r.getMessage() for r in caplog.records)
        await answered_next(ws, "ok-1")
        assert endpoint.connected
        assert len(ws.sent) == 2  # one CALLERROR, one CALLRESULT: nothing else


@pytest.mark.parametrize(("text", "unique_id", "code"), NOT_JSON_ANSWERED)
async def test_text_that_is_not_json_is_answered_when_its_id_can_be_read(
    text, unique_id, code, caplog, autojump_clock
):
    caplog.set_level(logging.WARNING, logger=RPC_LOGGER)
    async with serving() as (endpoint, ws, _):
        ws.push(text)
        answer = await ws.next_frame()
        assert answer[:3] == [CALLERROR, unique_id, code]
        assert "JSON" in answer[3] and answer[4] == {}
        assert endpoint.stats["broken"] == 1
        assert any("broken frame" in r.getMessage() for r in caplog.records)
        await answered_next(ws, "ok-1")
        assert len(ws.sent) == 2


@pytest.mark.parametrize("text", DROPPED)
async def test_a_broken_frame_without_a_readable_id_is_reported_and_dropped(
    text, caplog, autojump_clock
):
    caplog.set_level(logging.WARNING, logger=RPC_LOGGER)
    async with serving() as (endpoint, ws, _):
        ws.push(text)
        await trio.testing.wait_all_tasks_blocked()
        assert ws.sent == []
        assert endpoint.stats["broken"] == 1
        broken = [r for r in caplog.records if "broken frame" in r.getMessage()]
        assert len(broken) == 1 and broken[0].levelno == logging.WARNING
        # the first thing written after it is the answer to the next valid CALL
        await answered_next(ws, "ok-1")
        assert endpoint.connected
        assert len(ws.sent) == 1


@pytest.mark.parametrize(
    ("depth", "code"),
    [
        (1000, "TypeConstraintViolation"),  # deeper than Python's repr goes
        (2000, "FormationViolation"),  # deeper than the JSON parser goes: not JSON
    ],
)
async def test_a_deeply_nested_call_is_answered(depth, code, autojump_clock):
    async with serving() as (_endpoint, ws, _):
        deep = "[" * depth + "]" * depth
        ws.push(f'[2, "id-deep", "DataTransfer", {{"vendorId": "x", "data": {deep}}}]')
        answer = await ws.next_frame()
        assert answer[:3] == [CALLERROR, "id-deep", code]
        await answered_next(ws, "ok-1")


async def test_a_call_of_an_unknown_action_is_answered_not_implemented(autojump_clock):
    async with serving() as (endpoint, ws, _):
        ws.push([CALL, "id-unknown", "MakeCoffee", {}])
        answer = await ws.next_frame()
        assert answer[:3] == [CALLERROR, "id-unknown", "NotImplemented"]
        await answered_next(ws, "ok-1")
        assert endpoint.stats["broken"] == 0  # a well-formed frame: refused, not broken


async def test_the_station_answers_broken_frames_and_stays_connected(tmp_path, autojump_clock):
    """End to end: raw text from the development CSMS through the station's websocket."""
    async with running(tmp_path) as rig:
        session = await rig.session()
        stats = rig.cp.station.endpoint.stats
        broken_before = stats["broken"]
        for text in (
            "not JSON at all",
            '{"not": "an array"}',
            '[2, "e2e-short", "ClearCache"]',
            '[9, "e2e-type", "ClearCache", {}]',
            '[2, 5, "ClearCache", {}]',
        ):
            await session.ws.send_message(text)

        def callerrors() -> list[tuple[str | None, Any]]:
            return [
                (ex.unique_id, ex.payload)
                for ex in session.exchanges
                if ex.direction == "in" and ex.kind == "CALLERROR"
            ]

        await rig.csms.wait_until(lambda: len(callerrors()) >= 2)
        answer = await session.call(v16.ClearCacheRequest())
        assert isinstance(answer, v16.ClearCacheResponse)
        assert callerrors() == [
            ("e2e-short", "FormationViolation"),
            ("e2e-type", "FormationViolation"),
        ]
        assert stats["broken"] - broken_before == 5
        assert not session.closed.is_set()
        assert len(rig.csms.all_sessions) == 1  # no reconnect


# -- the answer to a received CALL goes out before our next CALL -----------------------


async def test_the_answer_to_a_csms_call_goes_out_before_our_next_call(autojump_clock):
    entered = trio.Event()
    release = trio.Event()

    async def slow_router(spec: Any, request: Any) -> Any:
        entered.set()
        await release.wait()
        return await clear_cache_router(spec, request)

    async with serving(slow_router) as (endpoint, ws, nursery):
        ws.push([CALL, "csms-1", "ClearCache", {}])
        await entered.wait()
        heartbeat = start_call(nursery, endpoint, v16.HeartbeatRequest())
        await trio.sleep(5)  # well within the CALL timeout: our CALL is ready, and waits
        assert ws.sent == []
        release.set()
        first, second = await ws.next_frame(), await ws.next_frame()
        assert first == [CALLRESULT, "csms-1", {"status": "Accepted"}]
        assert second[0] == CALL and second[2] == "Heartbeat"
        ws.push(heartbeat_result(second[1], 12))
        await heartbeat.done.wait()
        assert heartbeat.error is None and heartbeat.value.current_time == at(12)


# -- the CALL timeout -----------------------------------------------------------------


async def test_an_unanswered_call_times_out_after_exactly_the_call_timeout(autojump_clock):
    async with serving() as (endpoint, ws, _):
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await endpoint.call(v16.HeartbeatRequest())
        assert trio.current_time() - start == pytest.approx(CALL_TIMEOUT, abs=1e-9)
        assert [f[:1] + f[2:3] for f in ws.frames()] == [[CALL, "Heartbeat"]]
        # a timeout given with the call counts instead of the endpoint's
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await endpoint.call(v16.HeartbeatRequest(), timeout=2.0)
        assert trio.current_time() - start == pytest.approx(2.0, abs=1e-9)


async def test_a_shorter_timeout_after_an_answered_call_counts_exactly(autojump_clock):
    async with serving() as (endpoint, ws, nursery):
        first = start_call(nursery, endpoint, v16.HeartbeatRequest())
        frame = await ws.next_frame()
        ws.push(heartbeat_result(frame[1], 1))
        await first.done.wait()
        await trio.sleep(1)
        # the first CALL's deadline (30 s) is later than this one's: this one's counts
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await endpoint.call(v16.HeartbeatRequest(), timeout=2.0)
        assert trio.current_time() - start == pytest.approx(2.0, abs=1e-9)
        # and one after it, with the endpoint's own timeout again
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await endpoint.call(v16.HeartbeatRequest())
        assert trio.current_time() - start == pytest.approx(CALL_TIMEOUT, abs=1e-9)


class StepLimit(trio.abc.Instrument):
    """Cancels `scope` after `limit` task steps: a task that never waits for anything keeps
    the mock clock from moving, so a test bounded only by time would never end."""

    def __init__(self, scope: trio.CancelScope, limit: int) -> None:
        self.scope = scope
        self.limit = limit
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1
        if self.steps > self.limit:
            self.scope.cancel()


async def test_a_call_given_up_when_its_turn_came_leaves_the_answer_watch_at_rest(
    autojump_clock,
):
    async with serving() as (endpoint, ws, nursery):
        first = start_call(nursery, endpoint, v16.HeartbeatRequest())
        frame = await ws.next_frame()
        second = start_call(nursery, endpoint, v16.HeartbeatRequest())  # waits its turn
        await trio.testing.wait_all_tasks_blocked()
        endpoint.set_accepted(False)  # the registration gate closes meanwhile
        ws.push(heartbeat_result(frame[1], 1))
        await first.done.wait()
        await second.done.wait()  # its turn came, but it may not go any more
        assert isinstance(second.error, Offline) and len(ws.sent) == 1
        # past the deadline the chart gave it: nothing is overdue, the watch waits
        with trio.CancelScope() as bounded:
            limit = StepLimit(bounded, 10_000)
            trio.lowlevel.add_instrument(limit)
            try:
                await trio.sleep(3 * CALL_TIMEOUT)
            finally:
                trio.lowlevel.remove_instrument(limit)
        assert not bounded.cancelled_caught, "the answer watch kept waking"
        endpoint.set_accepted(True)
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await endpoint.call(v16.HeartbeatRequest(), timeout=2.0)
        assert trio.current_time() - start == pytest.approx(2.0, abs=1e-9)


async def test_a_call_on_a_websocket_not_yet_served_times_out_too(autojump_clock):
    endpoint = Endpoint(clear_cache_router, call_timeout=CALL_TIMEOUT)
    ws = FakeWebSocket()
    endpoint.attach(ws)  # type: ignore[arg-type]
    endpoint.set_accepted(True)
    start = trio.current_time()
    with trio.fail_after(600), pytest.raises(CallTimeout):
        await endpoint.call(v16.HeartbeatRequest(), timeout=3.0)
    assert trio.current_time() - start == pytest.approx(3.0, abs=1e-9)
    assert [f[:1] + f[2:3] for f in ws.frames()] == [[CALL, "Heartbeat"]]


async def test_a_timed_out_call_frees_the_slot_and_its_late_answer_is_dropped(
    caplog, autojump_clock
):
    caplog.set_level(logging.WARNING, logger=RPC_LOGGER)
    async with serving() as (endpoint, ws, nursery):
        start = trio.current_time()
        first = start_call(nursery, endpoint, v16.HeartbeatRequest())
        first_frame = await ws.next_frame()
        await trio.sleep(1)
        second = start_call(nursery, endpoint, v16.HeartbeatRequest())
        # one CALL in flight: the second waits for the first's answer or timeout
        second_frame = await ws.next_frame()
        assert isinstance(first.error, CallTimeout)
        sent_at = ws.sent[1][0]
        assert sent_at - start == pytest.approx(CALL_TIMEOUT, abs=1e-9)
        assert second_frame[0] == CALL and second_frame[1] != first_frame[1]
        # the late answer to the first is not taken for the second's
        ws.push(heartbeat_result(first_frame[1], 1))
        await trio.testing.wait_all_tasks_blocked()
        assert not second.done.is_set()
        assert endpoint.stats["late"] == 1
        assert any(
            first_frame[1] in r.getMessage() and "after its timeout" in r.getMessage()
            for r in caplog.records
        )
        ws.push(heartbeat_result(second_frame[1], 2))
        await second.done.wait()
        assert second.error is None and second.value.current_time == at(2)
        assert len(ws.sent) == 2  # the late answer got no answer of its own


# -- a new websocket ------------------------------------------------------------------


async def test_a_new_websocket_fails_the_call_on_the_old_one_and_not_its_own(autojump_clock):
    async with serving() as (endpoint, old, nursery):
        first = start_call(nursery, endpoint, v16.HeartbeatRequest())
        await old.next_frame()  # on the wire, on the old websocket
        new = FakeWebSocket()
        endpoint.attach(new)  # the link gave the old one up
        await first.done.wait()
        assert isinstance(first.error, ConnectionLost)
        nursery.start_soon(endpoint.serve, new)
        second = start_call(nursery, endpoint, v16.HeartbeatRequest())
        frame = await new.next_frame()
        old.close()  # the old websocket's end comes later: it is not the new one's
        await trio.testing.wait_all_tasks_blocked()
        assert not second.done.is_set()
        new.push(heartbeat_result(frame[1], 4))
        await second.done.wait()
        assert second.error is None and second.value.current_time == at(4)
        new.close()


async def test_an_answer_to_a_call_given_up_with_its_connection_is_no_warning(
    caplog, autojump_clock
):
    """A CALL given up because its connection was (closing, replaced) may be answered while
    that websocket ends: the answer is dropped quietly (a fleet closing thousands of
    connections warned for each), while an answer to no CALL of ours still warns."""
    caplog.set_level(logging.INFO, logger=RPC_LOGGER)
    async with serving() as (endpoint, old, nursery):
        first = start_call(nursery, endpoint, v16.HeartbeatRequest())
        frame = await old.next_frame()
        new = FakeWebSocket()
        endpoint.attach(new)  # the link gave the old one up
        await first.done.wait()
        assert isinstance(first.error, ConnectionLost)
        old.push(heartbeat_result(frame[1], 4))  # the old websocket's last words
        old.push(heartbeat_result("no-such-call", 4))
        await trio.testing.wait_all_tasks_blocked()
        assert endpoint.stats["late"] == 2
        about_first = [r for r in caplog.records if frame[1] in r.getMessage()]
        assert [(r.levelno, "Heartbeat" in r.getMessage()) for r in about_first] == [
            (logging.INFO, True)
        ]
        assert "connection was given up" in about_first[0].getMessage()
        strays = [r for r in caplog.records if "no-such-call" in r.getMessage()]
        assert [r.levelno for r in strays] == [logging.WARNING]
        old.close()
        new.close()


async def test_a_lost_connection_fails_the_calls_waiting_for_their_turn(autojump_clock):
    async with serving() as (endpoint, ws, nursery):
        first = start_call(nursery, endpoint, v16.HeartbeatRequest())
        await ws.next_frame()
        second = start_call(nursery, endpoint, v16.HeartbeatRequest())
        await trio.testing.wait_all_tasks_blocked()
        ws.close()
        await first.done.wait()
        await second.done.wait()
        assert isinstance(first.error, ConnectionLost) and isinstance(second.error, Offline)
        assert not endpoint.connected and endpoint.idle
        assert len(ws.sent) == 1


async def test_a_place_given_back_cannot_be_used_for_a_call(autojump_clock):
    async with serving() as (endpoint, ws, nursery):
        place = endpoint.reserve()
        endpoint.release(place)
        with pytest.raises(RuntimeError, match=f"place {place} is not in line"):
            await endpoint.call(v16.HeartbeatRequest(), ticket=place)
        assert ws.sent == [] and endpoint.idle
        # the line goes on
        heartbeat = start_call(nursery, endpoint, v16.HeartbeatRequest())
        frame = await ws.next_frame()
        ws.push(heartbeat_result(frame[1], 5))
        await heartbeat.done.wait()
        assert heartbeat.error is None


async def test_an_effect_the_endpoint_does_not_perform_is_an_error(monkeypatch, autojump_clock):
    """The calls chart's effects are performed by their type; any other is a programming
    error, named, rather than skipped."""

    def take_place(self: CallsModel, **_event: Any) -> None:
        self.next_place += 1
        self.record(Reply("stray"))

    async with serving() as (endpoint, _ws, _nursery):
        monkeypatch.setattr(CallsModel, "take_place", take_place)
        with pytest.raises(TypeError, match=r"the endpoint cannot perform Reply\(value='stray'"):
            endpoint.reserve()


# -- answers are correlated by id -------------------------------------------------------


@pytest.mark.parametrize(
    "stray",
    [
        pytest.param(heartbeat_result("no-such-call", 1), id="callresult"),
        pytest.param([CALLERROR, "no-such-call", "GenericError", "no", {}], id="callerror"),
    ],
)
async def test_an_answer_with_an_unknown_id_does_not_resolve_the_pending_call(
    stray, caplog, autojump_clock
):
    caplog.set_level(logging.WARNING, logger=RPC_LOGGER)
    async with serving() as (endpoint, ws, nursery):
        heartbeat = start_call(nursery, endpoint, v16.HeartbeatRequest())
        frame = await ws.next_frame()
        ws.push(stray)
        await trio.testing.wait_all_tasks_blocked()
        assert not heartbeat.done.is_set()
        assert endpoint.stats["late"] == 1
        assert any("no-such-call" in r.getMessage() for r in caplog.records)
        ws.push(heartbeat_result(frame[1], 3))
        await heartbeat.done.wait()
        assert heartbeat.error is None and heartbeat.value.current_time == at(3)
        assert len(ws.sent) == 1  # a stray answer is not answered


# -- a hostile Central System over a real websocket -------------------------------------


def _callerrors(session) -> list[tuple[str | None, Any, str]]:
    """The CALLERRORs the station sent: (message id, errorCode, errorDescription)."""
    return [
        (ex.unique_id, ex.payload, json.loads(ex.text)[3])
        for ex in session.exchanges
        if ex.direction == "in" and ex.kind == "CALLERROR"
    ]


async def test_text_that_is_not_json_gets_a_callerror_and_the_link_stays_up(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        session = await rig.session()
        for text in (
            '[2,"abc","Heartbeat",{',  # cut short: its id is still readable
            '[2, "e2e-bad", "ClearCache", {"a" 1}]',  # broken further on
            '[4, "e2e-error", "GenericError", "cut',  # a CALLERROR: never answered
            "no JSON and no id",  # nothing to answer
        ):
            await session.ws.send_message(text)
        await rig.csms.wait_until(lambda: len(_callerrors(session)) >= 2)
        # the next valid CALL is answered as usual, on the same connection
        answer = await session.call(v16.ClearCacheRequest())
        assert isinstance(answer, v16.ClearCacheResponse)
        errors = _callerrors(session)
        assert [(unique_id, code) for unique_id, code, _ in errors] == [
            ("abc", "ProtocolError"),
            ("e2e-bad", "FormationViolation"),
        ]
        assert all("JSON" in description for _, _, description in errors)
        assert not session.closed.is_set() and len(rig.csms.all_sessions) == 1


async def test_a_binary_message_is_refused_not_processed(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        heartbeat = rig.cp.config["HeartbeatInterval"]
        change = [CALL, "bin-1", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "17"}]
        await session.ws.send_message(json.dumps(change).encode())  # a binary message
        await session.ws.send_message(b"\xff\xfe\x00 no id")  # not even UTF-8
        await session.ws.send_message(b'[4, "bin-err", "GenericError", "", {}]')
        await rig.csms.wait_until(lambda: len(_callerrors(session)) >= 1)
        answer = await session.call(v16.ClearCacheRequest())
        assert isinstance(answer, v16.ClearCacheResponse)
        (refusal,) = _callerrors(session)  # one answer: the CALLERROR is not answered
        assert refusal[:2] == ("bin-1", "FormationViolation")
        assert "binary" in refusal[2] and "text" in refusal[2]
        assert rig.cp.config["HeartbeatInterval"] == heartbeat  # the CALL was not processed
        assert [ex.kind for ex in session.exchanges if ex.unique_id == "bin-1"] == ["CALLERROR"]
        assert not session.closed.is_set() and len(rig.csms.all_sessions) == 1
    # each binary message is in the message log, marked as such
    rows = [r for r in read_page(data / "message-log" / "CP-1.html").rows if r.type == "invalid"]
    assert [r.message_id for r in rows] == ["bin-1", "", "bin-err"]
    assert all("binary websocket message" in r.message for r in rows)
    assert "\\xff\\xfe" in rows[1].message  # invalid UTF-8 shown byte by byte


class StepsOf(trio.abc.Instrument):
    """Counts the task steps of the tasks whose name ends with `name`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task.name.endswith(self.name):
            self.steps += 1


async def test_an_answer_reaches_its_caller_from_the_websockets_reader(autojump_clock):
    """A real trio-websocket connection (in memory): the answer is handled in the task that
    read it, so the endpoint's own loop takes no step for it (one step less per CALL)."""
    from trio_websocket import wrap_client_stream, wrap_server_stream

    client_stream, server_stream = trio.testing.memory_stream_pair()

    async def central_system() -> None:
        async with trio.open_nursery() as inner:
            request = await wrap_server_stream(inner, server_stream)
            ws = await request.accept()
            while True:
                call = json.loads(await ws.get_message())
                await ws.send_message(json.dumps(heartbeat_result(call[1], 1)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(central_system)
        ws = await wrap_client_stream(nursery, client_stream, "test", "/")
        endpoint = Endpoint(clear_cache_router, call_timeout=CALL_TIMEOUT)
        endpoint.attach(ws)
        endpoint.set_accepted(True)
        nursery.start_soon(endpoint.serve, ws)
        await endpoint.call(v16.HeartbeatRequest())
        counted = StepsOf("Endpoint.serve")
        trio.lowlevel.add_instrument(counted)
        try:
            for _ in range(10):
                response = await endpoint.call(v16.HeartbeatRequest())
                assert response.current_time == at(1)
        finally:
            trio.lowlevel.remove_instrument(counted)
        assert counted.steps == 0
        nursery.cancel_scope.cancel()
