"""The OCPP-J endpoint on the open websocket: the rules of OCPP-J, in one place.

- One CALL of ours in flight at a time (OCPP-J 4.1.1), in the order the CALLs
  were decided; a CALL of the Central System is answered before our next CALL
  goes. statecharts/calls.yaml says so: the endpoint owns that chart's model, is
  its only writer, and fires its events in its own methods, in the task that
  calls them (no task or channel of its own per CALL: this is the hot path).
- Answers are correlated by message id; a CALL that gets no answer within its
  timeout fails with CallTimeout, and a late answer is logged and dropped.
- A broken frame whose message id can be read is answered with a CALLERROR
  (never a CALLERROR with another one); one without an id is logged and dropped.
  Text that is not JSON counts as broken, its id read from its start; so does a
  binary websocket message, whose content is never processed (OCPP-J is text).
  The connection stays open either way.
- Our CALLs pass a gate: `Gate.ACCEPTED` (the default) only once the
  registration is Accepted, `Gate.CONNECTED` (BootNotification, messages the
  Central System triggered) as soon as the websocket is open.

The link actor attaches each new websocket with `serve`; everything else calls
`call`. A CALL decided by a chart takes its place in line when the chart moves
(`reserve`), and passes it to `call` when it is sent. Incoming CALLs go to the
`router`, a coroutine that returns the response object or raises OcppError.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, Protocol

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from chargebox.actors.timers import GENERATIONS, TimerService
from chargebox.charts.effects import CancelTimer, Effect, StartTimer
from chargebox.charts.events import calls as events
from chargebox.charts.events.calls import CallsEvent
from chargebox.charts.machine import Outcome
from chargebox.charts.models.calls import CallLost, CallsModel, RefuseCall, TransmitCall
from chargebox.ocpp import codec, frames, rpc
from chargebox.ocpp.errors import ErrorCode, FrameError, OcppError, ValidationError
from chargebox.ocpp.frames import Call, CallError, CallResult, new_message_id
from chargebox.ocpp.v16 import ACTION_OF, ActionSpec
from chargebox.transport import ReaderDelivery, send_text
from chargebox.wsframes import read_directly

log = logging.getLogger(__name__)


class Gate(Enum):
    CONNECTED = "connected"
    ACCEPTED = "accepted"


class Offline(Exception):
    """The link is not open (for this gate): the CALL was not sent."""


class ConnectionLost(Exception):
    """The websocket closed while the CALL waited for its answer."""


class CallTimeout(Exception):
    """No answer within the timeout."""


class CallFailed(Exception):
    """The Central System answered with a CALLERROR, or with a response that breaks its schema."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class FrameSink(Protocol):
    def frame(self, direction: str, text: str | bytes) -> None: ...


Router = Callable[[ActionSpec, Any], Awaitable[Any]]


# the events without fields that every CALL fires (frozen values: one of each will do)
_PLACE_TAKEN = events.PlaceTaken()
_ANSWERED = events.Answered()


class _Call:
    """One CALL of ours, from the moment it is ready until its answer (or its failure).

    A plain class with slots: one is made for every CALL (attrs' generated __init__
    with defaults and a factory costs twice as much)."""

    __slots__ = (
        "action",
        "answer",
        "deadline",
        "done",
        "generation",
        "going",
        "lost",
        "refused",
        "turn",
    )

    def __init__(self, action: str) -> None:
        self.action = action
        #: the chart let it go (TransmitCall), or refused it (RefuseCall)
        self.going = False
        self.refused = False
        #: set when it goes or is refused, for a CALL that had to wait for its turn
        self.turn: trio.Event | None = None
        #: trio time by which its answer must come (the chart's answer timer)
        self.deadline = math.inf
        self.done = trio.Event()
        self.answer: CallResult | CallError | None = None
        self.lost = False
        #: the generation of its answer timer in the station's timer service (0: none)
        self.generation = 0


class _Incoming:
    """The Central System's CALLs that came on one websocket and wait for their answer,
    answered in order by one task that runs only while there are some."""

    #: CALLs waiting beyond this many hold the websocket's reading until one is answered
    LIMIT = 64

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.nursery: trio.Nursery | None = None
        self.queue: deque[Call] = deque()
        self.answering = False
        self._room: trio.Event | None = None

    async def put(self, call: Call, answer: Callable[[_Incoming], Awaitable[None]]) -> None:
        while len(self.queue) >= self.LIMIT:
            self._room = self._room or trio.Event()
            await self._room.wait()
        self.queue.append(call)
        if not self.answering:
            assert self.nursery is not None
            self.answering = True
            self.nursery.start_soon(answer, self)

    def room(self) -> None:
        if self._room is not None:
            self._room.set()
            self._room = None


def _sets_a_secret(call: Call) -> bool:
    """A ChangeConfiguration of AuthorizationKey (its value a password), well formed or not."""
    if call.action != "ChangeConfiguration" or not isinstance(call.payload, dict):
        return False
    key = call.payload.get("key")
    return isinstance(key, str) and key.lower() == "authorizationkey"


class Endpoint:
    """OCPP-J over whichever websocket the link has open."""

    def __init__(
        self,
        router: Router,
        *,
        call_timeout: float = 30.0,
        message_log: FrameSink | None = None,
    ) -> None:
        self.router = router
        self.call_timeout = call_timeout
        self.message_log = message_log
        self._ws: WebSocketConnection | None = None
        self._accepted = False
        self._gate_changed = trio.Event()
        #: statecharts/calls.yaml: the places in line, the CALL in flight, the answering
        self.calls = CallsModel()
        self._chart = CallsModel.chart()
        #: place -> the CALL ready at that place (waiting for its turn, or on the wire)
        self._ready: dict[int, _Call] = {}
        #: the CALL the chart let go last (its answer timer is its deadline)
        self._transmitted: _Call | None = None
        #: message id -> the CALL on the wire awaiting that answer
        self._pending: dict[str, _Call] = {}
        #: message id -> (action, why) of the last CALLs that ended without their answer,
        #: so that an answer coming after all is told apart from one to no CALL of ours
        self._ended: OrderedDict[str, tuple[str, str]] = OrderedDict()
        #: the station's timer service: the answer timer of each CALL on the wire is an
        #: entry of it (see `timer_expired`); without one each CALL's wait has a deadline
        self.timers: TimerService | None = None
        #: generation of an answer timer -> the CALL it is the timer of, until it ends
        self._timed: dict[int, _Call] = {}
        #: called after every move of the calls chart (the station's waiters look again)
        self.on_change: Callable[[], None] | None = None
        #: True while no CALL of the Central System gets any answer, not even a CALLERROR
        #: for a malformed or unknown one (the station's: its registration is Rejected)
        self.answers_nothing: Callable[[], bool] | None = None
        #: the calls chart's effects -> what performs each (`_fire`)
        self._perform: dict[type[Effect], Callable[[Any], None]] = {
            TransmitCall: self._transmit,
            StartTimer: self._start_answer_timer,
            CancelTimer: self._stop_answer_timer,
            RefuseCall: self._refuse,
            CallLost: self._lose,
        }
        #: counts for inspection: frames sent and received, broken frames seen
        self.stats = {"sent": 0, "received": 0, "broken": 0, "late": 0}

    # -- the chart ----------------------------------------------------------------------

    def _fire(self, event: CallsEvent) -> Outcome:
        """Fire `event` on the calls chart and perform what its transition recorded."""
        outcome = self._chart.fire_event(self.calls, event)
        if not outcome.allowed:
            log.warning("%s", outcome)
        if self.on_change is not None:
            self.on_change()
        for effect in self.calls.drain_effects():
            # by its type, in one look-up (an effect of another kind: a programming error)
            performer = self._perform.get(type(effect))
            if performer is None:
                raise TypeError(f"the endpoint cannot perform {effect}")
            performer(effect)
        return outcome

    def _transmit(self, effect: TransmitCall) -> None:
        call = self._ready[effect.place]
        call.going = True
        self._transmitted = call
        if call.turn is not None:
            call.turn.set()

    def _start_answer_timer(self, effect: StartTimer) -> None:
        assert self._transmitted is not None
        deadline = trio.current_time() + (effect.seconds or 0.0)
        call = self._transmitted
        call.deadline = deadline
        if self.timers is not None and deadline < math.inf:
            self._timed.pop(call.generation, None)  # a timer started again
            call.generation = next(GENERATIONS)
            self._timed[call.generation] = call
            self.timers.arm(self, "answer", deadline, call.generation)

    def _stop_answer_timer(self, effect: CancelTimer) -> None:
        pass  # the deadline ends with the wait of the CALL it belongs to

    def _refuse(self, effect: RefuseCall) -> None:
        call = self._ready[effect.place]
        call.refused = True
        if call.turn is not None:
            call.turn.set()

    def _lose(self, effect: CallLost) -> None:
        for pending in self._pending.values():
            pending.lost = True
            pending.done.set()

    # -- state ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.calls.open

    @property
    def accepted(self) -> bool:
        return self.calls.open and self._accepted

    @property
    def idle(self) -> bool:
        """No CALL of ours in flight, and none decided and waiting for its turn."""
        return self.calls.idle

    def set_accepted(self, accepted: bool) -> None:
        """The link's registration state (the ACCEPTED gate)."""
        if accepted != self._accepted:
            self._accepted = accepted
            self._open_or_close_gate()

    def _open_or_close_gate(self) -> None:
        self._gate_changed.set()
        self._gate_changed = trio.Event()

    def _open(self, gate: Gate) -> bool:
        # `connected` and `accepted` read directly (asked twice on every CALL's path)
        return self.calls.open and (gate is Gate.CONNECTED or self._accepted)

    async def wait_open(self, gate: Gate = Gate.ACCEPTED) -> None:
        while not self._open(gate):
            await self._gate_changed.wait()

    # -- serving a websocket ----------------------------------------------------------

    def attach(self, ws: WebSocketConnection) -> None:
        """The link opened `ws`: calls through the CONNECTED gate may go from now on.
        A websocket attached before it is given up (what waited on it fails)."""
        if self._ws is not None:
            self._fire(events.Closed())
        self._ws = ws
        self._fire(events.Opened())
        self._open_or_close_gate()

    async def serve(self, ws: WebSocketConnection) -> None:
        """Run OCPP-J on `ws` until it closes; pending CALLs then fail with ConnectionLost.

        While idle this is the only task of the endpoint: the Central System's CALLs are
        answered by a task that runs while there are some, and the deadline of the CALL on
        the wire is an entry of the station's timer service (an idle station keeps fewer
        tasks, which is what a fleet's garbage collections and its shutdown walk).
        """
        if self._ws is not ws:
            self.attach(ws)
        incoming = _Incoming(ws)
        read_directly(ws)  # whole text frames read and written without wsproto's layers
        try:
            async with trio.open_nursery() as nursery:
                incoming.nursery = nursery
                # the answers reach their callers from the websocket's reader task: a task
                # step less per CALL than a loop of our own between the two
                delivery = ReaderDelivery(ws, lambda text: self._received(ws, text, incoming))
                try:
                    while True:
                        delivery.install()
                        text = await ws.get_message()
                        await self._received(ws, text, incoming)
                except ConnectionClosed:
                    pass
                finally:
                    delivery.remove()
                nursery.cancel_scope.cancel()
        finally:
            if self._ws is ws:
                self._ws = None
                self._fire(events.Closed())
                self._open_or_close_gate()

    # -- the answer timers (chargebox.actors.timers.TimerOwner) ------------------------------

    def timer_armed(self, name: str, generation: int) -> bool:
        call = self._timed.get(generation)
        return call is not None and not call.done.is_set()

    def timer_expired(self, name: str, generation: int) -> None:
        """The answer of a CALL on the wire is overdue: it fails with CallTimeout.

        An entry of the station's timer service rather than a task or a cancel scope of
        the endpoint's: a cancel scope around each CALL's wait would cost more than the
        rest of the wait, and a task of its own would be one more for every idle
        station. An answered CALL leaves a stale entry, skipped when it comes up; when it
        is the earliest, the timer task's sleep moves on to the next (`disarmed`).
        """
        call = self._timed.pop(generation, None)
        if call is not None:
            call.done.set()

    async def _received(
        self, ws: WebSocketConnection, message: str | bytes, incoming: _Incoming
    ) -> None:
        self.stats["received"] += 1
        if self.message_log is not None:
            # bytes stay bytes: the log marks a binary message as such
            self.message_log.frame("in", message)
        try:
            if not isinstance(message, str):
                raise frames.refuse_binary(message)
            frame = frames.parse(message)
        except FrameError as e:
            self.stats["broken"] += 1
            silent = self.answers_nothing is not None and self.answers_nothing()
            answered = e.answerable and e.message_id is not None and not silent
            if silent:
                why = "not answered: the registration is Rejected"
            elif answered:
                why = f"answered with a CALLERROR {e.code}"
            else:
                why = "dropped: no message id"
            log.warning("broken frame from the Central System: %s (%s)", e.description, why)
            if answered:
                assert e.message_id is not None
                await self._send(rpc.error(e.message_id, e))
            return
        if isinstance(frame, Call):
            # counted now, so that a CALL of ours about to go out waits for this answer
            if self._ws is ws:
                self._fire(events.CallReceived())
            await incoming.put(frame, self._handle_calls)
            return
        pending = self._pending.pop(frame.unique_id, None)
        if pending is None:
            self.stats["late"] += 1
            self._late_answer(frame.unique_id)
            return
        pending.answer = frame
        pending.done.set()
        if not pending.lost:  # else the chart let it go with its connection
            self._fire(_ANSWERED)

    async def _handle_calls(self, incoming: _Incoming) -> None:
        """Answer the Central System's CALLs of `incoming` in the order they came, and end
        when none is left (the next one starts it again)."""
        ws = incoming.ws
        try:
            while incoming.queue:
                call = incoming.queue.popleft()
                incoming.room()
                try:
                    answer = await self._answer(call)
                    if answer is not None:
                        await self._send(answer)
                except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                finally:
                    if self._ws is ws:  # a closed connection answers nothing any more
                        self._fire(events.CallAnswered())
        finally:
            incoming.answering = False

    async def _answer(self, call: Call) -> CallResult | CallError | None:
        if self.answers_nothing is not None and self.answers_nothing():
            log.info("not answered: %s while the registration is Rejected", call.action)
            return None
        try:
            spec, request = rpc.decode_call(call)
        except OcppError as e:
            if _sets_a_secret(call):
                # the schema's complaint quotes the value: a key is never repeated, neither
                # in the CALLERROR nor in a log (security whitepaper A01.FR.12)
                e = OcppError(e.code, f"{call.action}: the value breaks the schema")
            log.warning("refused %s from the Central System: %s", call.action, e)
            return rpc.error(call.unique_id, e)
        except Exception as e:
            # whatever a payload holds, the CALL gets an answer and the link keeps serving
            log.exception("decoding %s", call.action)
            return rpc.error(call.unique_id, e)
        try:
            response = await self.router(spec, request)
            return rpc.result(call, response)
        except OcppError as e:
            return rpc.error(call.unique_id, e)
        except Exception as e:
            log.exception("answering %s", call.action)
            return rpc.error(call.unique_id, e)

    async def _send(self, frame: frames.Frame) -> None:
        ws = self._ws
        if ws is None:
            raise Offline("no websocket")
        text = frames.serialize(frame)
        # No lock of our own: the message is framed when send_text is called and frames
        # are written in that order, so the log (written in the same step) has the order
        # of the wire; a lock would cost a task switch on every frame.
        if self.message_log is not None:
            self.message_log.frame("out", text)
        self.stats["sent"] += 1
        await send_text(ws, text)

    # -- our calls --------------------------------------------------------------------

    async def call(
        self,
        request: Any,
        *,
        gate: Gate = Gate.ACCEPTED,
        wait: float = 0.0,
        timeout: float | None = None,
        unique_id: str | None = None,
        ticket: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Any:
        """Send a request and return the Central System's response object.

        `wait`: how long to wait for the gate to open (0: raise Offline at once).
        `unique_id`: the message id to use (a retransmission keeps its first one).
        `ticket`: the place in line taken with `reserve()` when the message was
        decided (it is given back here, whatever happens).
        `payload`: the request's wire payload when the caller has it already, checked
        against the schema (a queued message decoded into `request`): sent as it is.
        Raises Offline, ConnectionLost, CallTimeout or CallFailed.
        """
        action = ACTION_OF[type(request)]
        place = ticket
        try:
            if not self._open(gate):
                if wait <= 0 or ticket is not None:
                    raise Offline(f"{action}: the link is not {gate.value}")
                with trio.move_on_after(wait):
                    await self.wait_open(gate)
                if not self._open(gate):
                    raise Offline(f"{action}: the link was not {gate.value} within {wait:g} s")
            if place is None:
                place = self.reserve()
            # (one method from here to the answer: a coroutine less to resume at each of
            # the CALL's scheduling points)
            if payload is None:
                payload = codec.encode(request)
            frame = frames.call_frame(unique_id or new_message_id(), action, payload)
            call = self._ready[place] = _Call(action)
            try:
                seconds = self.call_timeout if timeout is None else timeout
                if not self._fire(events.Ready(place=place, timeout=seconds)).allowed:
                    # a place given back before (or never taken): nothing would ever send it
                    raise RuntimeError(f"{action}: place {place} is not in line for a CALL")
                if not (call.going or call.refused):
                    call.turn = trio.Event()
                    await call.turn.wait()
            finally:
                del self._ready[place]
            if call.refused or not self._open(gate):
                raise Offline(f"{action}: the link closed before the call could go")
            self._pending[frame.unique_id] = call
            try:
                ws = self._ws
                if ws is None:
                    raise Offline(f"{action}: no websocket")
                # what `_send` does, written out: a coroutine less to resume at each of the
                # send's scheduling points, on the path of every CALL of ours
                text = frames.serialize(frame)
                if self.message_log is not None:
                    self.message_log.frame("out", text)
                self.stats["sent"] += 1
                try:
                    await send_text(ws, text)
                except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
                    raise ConnectionLost(f"{action}: the websocket closed") from None
                if call.generation:
                    await call.done.wait()  # its answer timer fails it at its deadline
                else:  # no timer service (the endpoint on its own)
                    with trio.move_on_at(call.deadline):
                        await call.done.wait()
            finally:
                self._pending.pop(frame.unique_id, None)
                if self._timed.pop(call.generation, None) is not None and self.timers is not None:
                    # the timer task, asleep until this deadline, sleeps on until the next one
                    self.timers.disarmed(call.deadline)
                if call.answer is None:
                    self._remember_ended(frame.unique_id, action, call)
            if call.lost and call.answer is None:
                raise ConnectionLost(f"{action}: the websocket closed before the answer")
            if call.answer is None:
                self._fire(events.AnswerTimeout())
                raise CallTimeout(f"{action}: no answer within {timeout or self.call_timeout:g} s")
            if isinstance(call.answer, CallError):
                raise CallFailed(call.answer.error_code, call.answer.error_description)
            try:
                return rpc.decode_result(action, call.answer)
            except ValidationError as e:
                log.warning(
                    "the Central System answered %s with an invalid response: %s", action, e
                )
                raise CallFailed(str(e.code), e.description) from None
        finally:
            if place is not None:
                self.release(place)

    def reserve(self) -> int:
        """A place in line for a CALL; pass it to `call`, or give it back with `release`."""
        place = self.calls.next_place
        self._fire(_PLACE_TAKEN)
        return place

    def release(self, ticket: int) -> None:
        """Give a place in line back (done, or not needed after all); idempotent."""
        if self.calls.in_line(place=ticket):
            self._fire(events.GivenBack(place=ticket))

    #: how many CALLs that ended without an answer are remembered
    ENDED_KEPT = 32

    def _remember_ended(self, unique_id: str, action: str, call: _Call) -> None:
        if call.lost:
            why = "the connection was given up"
        elif trio.current_time() >= call.deadline:
            why = "its timeout"
        else:
            why = "it was given up"  # cancelled: the engine or the caller stopped waiting
        self._ended[unique_id] = (action, why)
        if len(self._ended) > self.ENDED_KEPT:
            self._ended.popitem(last=False)

    def _late_answer(self, unique_id: str) -> None:
        ended = self._ended.pop(unique_id, None)
        if ended is None:
            log.warning("an answer to no CALL of ours (%s): dropped", unique_id)
        elif ended[1] == "its timeout":
            log.warning(
                "the answer to %s (%s) came after its timeout: dropped", ended[0], unique_id
            )
        else:
            # a CALL given up with its connection (closing, a link cut) may still be
            # answered while the websocket closes: expected, not a fault
            log.info("the answer to %s (%s) came after %s: dropped", ended[0], unique_id, ended[1])


def not_supported(action: str, profile: str) -> OcppError:
    return OcppError(
        ErrorCode.NotSupported,
        f"{action} belongs to the {profile} profile, which this charge point does not support",
    )
