"""The development Central System: a websocket server that speaks OCPP 1.6J.

It accepts charge points at `/steve/websocket/CentralSystemService/<id>` (the
path of SteVe) and at any path that ends in the charge point id, optionally
only known ids with their HTTP Basic keys and over TLS with or without client
certificates. Every message a charge point sends is answered by a handler
(`handlers.py` has the defaults, configurable by `CsmsSettings`; a program or
a test replaces any of them), recorded, and announced to whoever waits for it.
DataTransfer is answered by handlers registered per vendorId and messageId
(`CentralSystem.on_data_transfer`). Every CSMS-initiated operation is sent
with `Session.call`.

A charge point's message is handled in its websocket's reader task, as soon as
it is read. A handler may return an awaitable: its answer is awaited beside the
reader, which keeps answering pings meanwhile, and the messages that come in
the meantime are handled after that answer, in their order.

It is built on chargebox's own protocol layer and, like it, validates every
message in both directions.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple, overload
from urllib.parse import unquote

import attrs
import orjson
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    wrap_server_stream,
)

from chargebox.ocpp import codec, frames, rpc
from chargebox.ocpp.errors import ErrorCode, FrameError, OcppError
from chargebox.ocpp.frames import Call, CallError, CallResult, call_result_frame
from chargebox.ocpp.v16 import DataTransferStatus
from chargebox.transport import (
    MAX_MESSAGE_SIZE,
    SUBPROTOCOL,
    ReaderDelivery,
    basic_auth_password,
    send_text,
)
from chargebox.wsframes import read_directly

log = logging.getLogger(__name__)

STEVE_PATH = "/steve/websocket/CentralSystemService/"
HANDSHAKE_TIMEOUT = 30.0
#: how long a closing handshake may take before the connection is dropped without it
CLOSE_TIMEOUT = 5.0
#: messages a session's reader task may hand over while a handler's answer is awaited
#: before it waits (and reads no more) itself
LATER_SIZE = 16

Handler = Callable[["Session", Any], Any | Awaitable[Any]]
#: what a DataTransfer handler returns: (DataTransferStatus, data)
DataTransferAnswer = tuple[str, str | None]
#: `handler(session, request)` for a DataTransfer.req of one vendor (and message)
DataTransferHandler = Callable[["Session", Any], DataTransferAnswer | Awaitable[DataTransferAnswer]]


class CallErrorReceived(OcppError):
    """The charge point answered our CALL with a CALLERROR."""


class NoAnswer(Exception):
    """The charge point did not answer our CALL in time."""


_KINDS = {Call: "CALL", CallResult: "CALLRESULT", CallError: "CALLERROR"}


class Exchange(NamedTuple):
    """One frame on a session, as the development CSMS saw it."""

    time: datetime
    direction: str  # "in" (from the charge point) or "out"
    kind: str  # CALL, CALLRESULT, CALLERROR, or the connection events
    action: str | None
    unique_id: str | None
    payload: Any
    text: str


# an Exchange from its values as a plain tuple, without the named tuple's Python-level
# __new__ (two are made on every CALL when someone listens)
_new_tuple = tuple.__new__


#: in a kept record, for the payload of a CALL or CALLRESULT: read from the frame's text
#: (a bare object: one the collector does not track, like the record's other values)
_IN_TEXT = object()
#: where a frame's payload is in its JSON array, by kind
_PAYLOAD_AT = {"CALL": 3, "CALLRESULT": 2}


def _exchange_of(row: tuple[Any, ...]) -> Exchange:
    if row[5] is _IN_TEXT:
        payload = orjson.loads(row[6])[_PAYLOAD_AT[row[2]]]
        return Exchange(row[0], row[1], row[2], row[3], row[4], payload, row[6])
    return _new_tuple(Exchange, row)  # type: ignore[no-any-return]


class History(Sequence[Exchange]):
    """A session's records, oldest first: every one, or the last `keep` of them.

    Kept as plain tuples of plain values, a CALL's or CALLRESULT's payload read back
    from the frame's text: the cyclic garbage collector stops walking such a tuple
    once it has seen it, where it walks each instance of a class (a named tuple too)
    and each tuple that holds a dict at every collection of its generation. A session
    keeps a record of every frame by default, two a CALL, and a long session's
    history made each later frame slower. Read back as Exchange records."""

    __slots__ = ("rows",)

    def __init__(self, keep: int | None = None) -> None:
        #: the records' values, as plain tuples (what `Session` appends on its hot path)
        self.rows: list[tuple[Any, ...]] | deque[tuple[Any, ...]] = (
            [] if keep is None else deque(maxlen=keep)
        )

    def append(self, exchange: Exchange) -> None:
        """Keep `exchange` as it is (the session's own frames are kept by `Session`, their
        payloads in their texts)."""
        self.rows.append(tuple(exchange))

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Exchange: ...

    @overload
    def __getitem__(self, index: slice) -> list[Exchange]: ...

    def __getitem__(self, index: int | slice) -> Exchange | list[Exchange]:
        if isinstance(index, slice):
            return [_exchange_of(row) for row in list(self.rows)[index]]
        return _exchange_of(self.rows[index])

    def __iter__(self) -> Iterator[Exchange]:
        for row in self.rows:
            yield _exchange_of(row)

    def __repr__(self) -> str:
        return f"History({list(self)!r})"


@attrs.define
class CsmsSettings:
    """How the development Central System behaves.

    `known_ids`: when given, only these charge points may connect (others get
    HTTP 404); the value is the AuthorizationKey they must present with HTTP
    Basic (None: no authentication asked). `select_subprotocol` False makes
    the server omit ocpp1.6 from its handshake answer (to test charge points).
    """

    boot_status: str = "Accepted"
    heartbeat_interval: int = 300
    # Registration Pending this many times before Accepted (0: straight to boot_status)
    pending_boots: int = 0
    authorize_all: bool = True
    accepted_id_tags: frozenset[str] = frozenset()
    blocked_id_tags: frozenset[str] = frozenset()
    parent_id_tags: dict[str, str] = attrs.field(factory=dict)
    known_ids: dict[str, str | None] | None = None
    select_subprotocol: bool = True
    first_transaction_id: int = 1
    #: how many exchanges each session keeps (None: every one, which tests and the console
    #: read back); with a number, a session keeps its last ones and is forgotten once it
    #: closes, so that a CSMS serving thousands of charge points for hours stays small
    #: (`received`, `wait_for` and `actions` then see only what is kept)
    keep_exchanges: int | None = None


@attrs.define
class CsmsCounts:
    """What the development CSMS has seen, counted (kept whatever `keep_exchanges` says)."""

    #: websockets open now, and opened in all
    open: int = 0
    connections: int = 0
    #: frames received from charge points and sent to them
    received: int = 0
    sent: int = 0
    #: BootNotifications answered Accepted
    accepted: int = 0
    #: StartTransaction and StopTransaction requests answered
    started: int = 0
    stopped: int = 0


class Session:
    """One charge point's websocket to the development CSMS."""

    def __init__(
        self,
        csms: CentralSystem,
        charge_point_id: str,
        ws: WebSocketConnection,
        request_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.csms = csms
        self.charge_point_id = charge_point_id
        self.ws = ws
        #: the HTTP headers of the websocket handshake request, names lower-cased
        self.request_headers = [(k.lower(), v) for k, v in request_headers or []]
        keep = csms.settings.keep_exchanges
        #: the frames of this session, oldest first (the last `keep_exchanges` of them)
        self.exchanges = History(keep)
        #: the CALL a handler is answering (its message id tells a retransmission)
        self.current_call: Call | None = None
        self.closed = trio.Event()
        #: work beside the session (see start_soon), while it is served
        self._tasks: trio.Nursery | None = None
        self._pending: dict[str, tuple[str, trio.Event, list[Any]]] = {}
        #: what the reader task hands to _catch_up (see serve), and whether it is behind
        self._later: trio.MemorySendChannel[Any] | None = None
        self._behind = False
        self._call_lock = trio.Lock()

    def __repr__(self) -> str:
        return f"<Session {self.charge_point_id}>"

    # -- sending ---------------------------------------------------------------------

    async def _send(self, frame: frames.Frame, action: str | None) -> None:
        text = frames.serialize(frame)
        # the message is framed when send_text is called and the frames are written in
        # that order: the record, made in the same step, has the wire's order without a
        # lock (which would cost a task switch on every frame)
        self._record("out", frame, action, text)
        await send_text(self.ws, text)

    async def call(self, request: Any, timeout: float = 30.0) -> Any:
        """Send a CSMS-initiated request and return the charge point's response.

        One CALL is in flight at a time (OCPP-J 4.1.1); raises CallErrorReceived
        for a CALLERROR and NoAnswer when nothing arrives within `timeout`.
        """
        async with self._call_lock:
            call = rpc.call(request)
            done = trio.Event()
            box: list[Any] = []
            self._pending[call.unique_id] = (call.action, done, box)
            try:
                await self._send(call, call.action)
                with trio.move_on_after(timeout):
                    await done.wait()
            finally:
                self._pending.pop(call.unique_id, None)
            if not box:
                raise NoAnswer(
                    f"{self.charge_point_id} did not answer {call.action} in {timeout} s"
                )
            answer = box[0]
            if isinstance(answer, CallError):
                raise CallErrorReceived(
                    ErrorCode.parse(answer.error_code) or ErrorCode.GenericError,
                    f"{answer.error_code}: {answer.error_description}",
                    answer.error_details,
                )
            return rpc.decode_result(call.action, answer)

    async def call_raw(
        self, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> CallResult | CallError:
        """Send any CALL, valid or not (to test charge points), and return the answer frame."""
        async with self._call_lock:
            call = Call(frames.new_message_id(), action, payload)
            done = trio.Event()
            box: list[Any] = []
            self._pending[call.unique_id] = (action, done, box)
            try:
                await self._send(call, action)
                with trio.move_on_after(timeout):
                    await done.wait()
            finally:
                self._pending.pop(call.unique_id, None)
            if not box:
                raise NoAnswer(f"{self.charge_point_id} did not answer {action} in {timeout} s")
            return box[0]

    # -- receiving -------------------------------------------------------------------

    async def serve(self) -> None:
        self.csms.counts.open += 1
        # Once installed, each message is handled in the websocket's reader task as it is
        # read (a task step less per CALL than this loop between the two); a handler that
        # has to wait is awaited by _catch_up, in order, so the reader keeps answering pings.
        self._later, later = trio.open_memory_channel[Any](LATER_SIZE)
        delivery = ReaderDelivery(self.ws, self._deliver)
        read_directly(self.ws)  # whole text frames read and written without wsproto's layers
        try:
            async with trio.open_nursery() as tasks:
                self._tasks = tasks
                tasks.start_soon(self._catch_up, later)
                try:
                    while True:
                        delivery.install()
                        text = await self.ws.get_message()
                        await self._received(text)
                except ConnectionClosed:
                    pass
                finally:
                    delivery.remove()
                tasks.cancel_scope.cancel()
        finally:
            self._tasks = None
            _drop_unfinished(later)
            self.closed.set()
            self.csms._session_closed(self)

    def _deliver(self, text: str | bytes) -> Awaitable[None]:
        """A message, in the websocket's reader task: handled now, unless what came before
        is still being handled (then it waits its turn there). The coroutine that does it
        is returned, not awaited here: a coroutine less to resume on every frame."""
        if self._behind:
            return self._later.send(text)
        return self._received(text, inline=True)

    async def _catch_up(self, later: trio.MemoryReceiveChannel[Any]) -> None:
        """Finish, in order, what the reader task handed over: a handler's pending answer,
        and the messages that came while it was awaited."""
        async for item in later:
            try:
                if isinstance(item, tuple):
                    call, pending = item
                    self.current_call = call
                    await self._respond(call, pending)
                else:
                    await self._received(item)
            except ConnectionClosed:
                return  # the session ends with its websocket (serve sees it there)
            if later.statistics().current_buffer_used == 0:
                self._behind = False

    def start_soon(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run `async_fn(*args)` beside the session: a CSMS-initiated call that follows an
        answer (a handler cannot wait for it: the answer goes out after the handler).
        It ends with the session; an exception is logged, never raised into the session."""
        if self._tasks is None:
            raise RuntimeError(f"{self.charge_point_id}'s session is not being served")
        self._tasks.start_soon(self._guarded, async_fn, args)

    async def _guarded(
        self, async_fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        try:
            await async_fn(*args)
        except Exception:
            log.exception("a task of %s's session failed", self.charge_point_id)

    async def _received(self, text: str | bytes, inline: bool = False) -> None:
        try:
            frame = frames.parse(text)
        except FrameError as e:
            self._record_raw("in", "invalid", text)
            log.warning("%s sent a broken frame: %s", self.charge_point_id, e.description)
            if e.answerable and e.message_id is not None:
                await self._send(rpc.error(e.message_id, e), None)
            return
        if type(frame) is Call:
            csms = self.csms
            # what `_record` does for a CALL, written out: on the path of every CALL
            csms.counts.received += 1
            if csms.settings.keep_exchanges != 0 or csms.on_exchange is not None:
                when = csms.clock()
                self.exchanges.rows.append(
                    (when, "in", "CALL", frame.action, frame.unique_id, _IN_TEXT, text)
                )
                if csms.on_exchange is not None:
                    exchange = _new_tuple(
                        Exchange,
                        (when, "in", "CALL", frame.action, frame.unique_id, frame.payload, text),
                    )
                    csms.on_exchange(self, exchange)
            if csms._change is not None:
                csms._changed()
            answer = self._answer(frame)
            if answer is None:  # the handler chose not to answer
                return
            if type(answer) is CallResult or type(answer) is CallError:
                # answered at once (most handlers): sent from here, as `_send` does, with no
                # coroutine of its own to resume at each of the send's scheduling points
                answer_text = frames.serialize(answer)
                self._record("out", answer, frame.action, answer_text)
                await send_text(self.ws, answer_text)
                if csms._change is not None:
                    csms._changed()
            elif inline:
                # a handler's answer that has to be awaited: _catch_up sends it, and what
                # comes meanwhile is handled after it
                self._behind = True
                await self._later.send((frame, answer))
            else:
                await self._respond(frame, answer)
        else:
            pending = self._pending.get(frame.unique_id)
            self._record("in", frame, pending[0] if pending else None, text)
            if pending is None:
                log.warning("%s answered an unknown call %s", self.charge_point_id, frame.unique_id)
                return
            pending[2].append(frame)
            pending[1].set()

    def _answer(self, call: Call) -> CallResult | CallError | Awaitable[Any] | None:
        """The answer to `call`: its handler's response in a CALLRESULT, or the CALLERROR
        its handling raised; the handler's awaitable when it answers later (`_respond`);
        None when it chose not to answer."""
        try:
            spec, request = rpc.decode_call(call)
            handler = self.csms.handlers.get(spec.action)
            self.current_call = call
            if handler is None:
                raise OcppError(ErrorCode.NotSupported, f"{spec.action} is not handled here")
            response = handler(self, request)
            # the response class first: most handlers answer at once, and a check against
            # the Awaitable ABC costs more than the rest of this test
            if type(response) is spec.response:
                # what `rpc.result` does, its class already known to be the action's
                return call_result_frame(call.unique_id, codec.encode(response))
            if response is None or isinstance(response, Awaitable):
                return response  # type: ignore[no-any-return]
            return rpc.result(call, response)
        except Exception as e:
            return self._error(call, e)

    async def _respond(self, call: Call, response: Any) -> None:
        """Send the answer to `call`: its handler's `response` (awaited if it has to be)."""
        try:
            if isinstance(response, Awaitable):
                response = await response
            if response is None:  # the handler chose not to answer
                return
            answer: CallResult | CallError = rpc.result(call, response)
        except Exception as e:
            await self._fail(call, e)
            return
        await self._send(answer, call.action)
        self.csms._changed()

    async def _fail(self, call: Call, e: Exception) -> None:
        """Answer `call` with the CALLERROR its handling raised."""
        await self._send(self._error(call, e), call.action)
        self.csms._changed()

    def _error(self, call: Call, e: Exception) -> CallError:
        """The CALLERROR answering `call` whose handling raised `e` (logged unless it is an
        OcppError, which says what the charge point got wrong)."""
        if not isinstance(e, OcppError):
            log.exception("handling %s from %s", call.action, self.charge_point_id, exc_info=e)
        return rpc.error(call.unique_id, e)

    # -- records ---------------------------------------------------------------------

    def _record(self, direction: str, frame: frames.Frame, action: str | None, text: str) -> None:
        counts = self.csms.counts
        if direction == "in":
            counts.received += 1
        else:
            counts.sent += 1
            if type(frame) is CallResult:
                if action == "StartTransaction":
                    counts.started += 1
                elif action == "StopTransaction":
                    counts.stopped += 1
                elif action == "BootNotification" and frame.payload.get("status") == "Accepted":
                    counts.accepted += 1
        csms = self.csms
        if csms.settings.keep_exchanges != 0 or csms.on_exchange is not None:
            kind = _KINDS[type(frame)]
            payload = frame.payload if type(frame) is not CallError else frame.error_code
            when = csms.clock()
            # a CALL's or CALLRESULT's payload is kept in its text (History)
            kept = payload if kind == "CALLERROR" else _IN_TEXT
            self.exchanges.rows.append((when, direction, kind, action, frame.unique_id, kept, text))
            # what _announce does, written out (on every CALL's path)
            if csms.on_exchange is not None:
                exchange = _new_tuple(
                    Exchange, (when, direction, kind, action, frame.unique_id, payload, text)
                )
                csms.on_exchange(self, exchange)
        # (else nothing kept, nobody to tell: no record made)
        if csms._change is not None:  # someone waits for a change
            csms._changed()

    def _record_raw(self, direction: str, kind: str, text: str | bytes) -> None:
        shown = text if isinstance(text, str) else text.decode(errors="replace")
        exchange = Exchange(self.csms.clock(), direction, kind, None, None, None, shown)
        self.exchanges.append(exchange)
        self.csms._announce(self, exchange)

    def calls(self, action: str | None = None) -> list[Any]:
        """Requests the charge point sent on this session (of one action), decoded."""
        out = []
        for ex in self.exchanges:
            if ex.direction == "in" and ex.kind == "CALL" and action in (None, ex.action):
                out.append(
                    rpc.decode_call(Call(ex.unique_id or "", ex.action or "", ex.payload))[1]
                )
        return out

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the websocket with `code` and `reason` (RFC 6455: at most 123 bytes).

        Returns once the charge point has answered with its close frame, or after
        CLOSE_TIMEOUT, when the connection is dropped without the closing handshake.
        The connection keeps reading until then (see `_serve_connection`).
        """
        await self.ws.aclose(code, reason)


class CentralSystem:
    """The development Central System; `serve` runs it until cancelled."""

    def __init__(
        self,
        settings: CsmsSettings | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        on_exchange: Callable[[Session, Exchange], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from chargebox.csms.handlers import default_handlers

        #: the CSMS's time (currentTime of Boot and Heartbeat answers); the wall clock
        #: by default, a mock-clock-driven one in simulations
        self.clock = clock or partial(datetime.now, UTC)
        self.settings = settings or CsmsSettings()
        self.ssl_context = ssl_context
        self.handlers: dict[str, Handler] = default_handlers()
        self.sessions: dict[str, Session] = {}
        self.all_sessions: list[Session] = []
        self.rejected: list[tuple[str, int]] = []  # (path, HTTP status) of refused handshakes
        self.tls_failures: list[tuple[str, str]] = []  # (peer, reason) of failed TLS handshakes
        self.port: int | None = None
        self.on_exchange = on_exchange
        #: called with each session once its websocket closed
        self.on_close: Callable[[Session], None] | None = None
        self.counts = CsmsCounts()
        self.state: dict[str, Any] = {}  # handlers keep their per-CSMS state here
        #: DataTransfer handlers by (vendorId, messageId or None), case-folded
        self.data_transfer_handlers: dict[tuple[str, str | None], DataTransferHandler] = {}
        #: set on the next change; made only when someone waits (not on every frame)
        self._change: trio.Event | None = None
        from chargebox.csms.pnc import PlugAndCharge

        #: Plug&Charge: its DataTransfers (answered from here on), test PKI and OCSP statuses
        self.pnc = PlugAndCharge(self)

    def on(self, action: str, handler: Handler) -> None:
        """Answer `action` with `handler(session, request)` (a response, or None for no answer)."""
        self.handlers[action] = handler

    def on_data_transfer(
        self, vendor_id: str, message_id: str | None, handler: DataTransferHandler
    ) -> None:
        """Answer a charge point's DataTransfer of `vendor_id` with `handler(session, request)`,
        which returns (DataTransferStatus, data).

        With a `message_id`, only that message; with None, every message of the vendor
        that has no handler of its own. A vendor without any handler is answered
        UnknownVendorId, a message of a known vendor without one UnknownMessageId.
        vendorId and messageId are CiStrings: they compare case-insensitively.
        """
        key = (vendor_id.casefold(), None if message_id is None else message_id.casefold())
        self.data_transfer_handlers[key] = handler

    def data_transfer_handler(
        self, vendor_id: str, message_id: str | None
    ) -> DataTransferHandler | DataTransferStatus:
        """The handler of a DataTransfer, or the status that says why there is none."""
        vendor = vendor_id.casefold()
        handlers = self.data_transfer_handlers
        if message_id is not None and (vendor, message_id.casefold()) in handlers:
            return handlers[(vendor, message_id.casefold())]
        if (vendor, None) in handlers:
            return handlers[(vendor, None)]
        if any(known == vendor for known, _ in handlers):
            return DataTransferStatus.UnknownMessageId
        return DataTransferStatus.UnknownVendorId

    # -- serving ---------------------------------------------------------------------

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on host:port (0: an ephemeral port); `task_status.started(port)`.

        ValueError for a port outside 0..65535 (the system would take it modulo 65536).
        """
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is outside 0..65535")
        listeners = await trio.open_tcp_listeners(port, host=host)
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self.accept, listeners)
            task_status.started(self.port)

    async def accept(self, tcp: trio.abc.Stream) -> None:
        """Serve one connection (TCP, or any stream chargebox.netsim hands in).

        Whatever goes wrong with one connection (a peer gone mid-handshake, say)
        is logged and ends that connection only, never the Central System.
        """
        peer = _peer(tcp)
        try:
            await self._serve_connection(tcp, peer)
        except Exception:
            log.exception("the connection from %s failed", peer)
            await trio.aclose_forcefully(tcp)

    async def _serve_connection(self, tcp: trio.abc.Stream, peer: str) -> None:
        """TLS (when configured), the websocket handshake, the session.

        The TLS handshake is ours, so that a client refused at the TLS level
        (no or a foreign client certificate) is told at once and logged.
        """
        stream: trio.abc.Stream = tcp
        if self.ssl_context is not None:
            stream = trio.SSLStream(tcp, self.ssl_context, server_side=True)
            with trio.move_on_after(HANDSHAKE_TIMEOUT):
                try:
                    await stream.do_handshake()
                except trio.BrokenResourceError as e:
                    reason = getattr(e.__cause__, "reason", None) or repr(e.__cause__ or e)
                    log.warning("TLS handshake with %s failed: %s", peer, reason)
                    self.tls_failures.append((peer, str(reason)))
                    await trio.aclose_forcefully(tcp)
                    return
        async with trio.open_nursery() as guard:
            # the inner nursery hosts trio-websocket's reader task
            async with trio.open_nursery() as nursery:
                with trio.move_on_after(HANDSHAKE_TIMEOUT) as scope:
                    request = await wrap_server_stream(
                        nursery, stream, max_message_size=MAX_MESSAGE_SIZE
                    )
                if scope.cancelled_caught:
                    nursery.cancel_scope.cancel()
                    await trio.aclose_forcefully(stream)
                    return
                session = await self._admit(request, peer)
                if session is None:  # refused with an HTTP status: no websocket to close
                    nursery.cancel_scope.cancel()
                    await trio.aclose_forcefully(stream)
                    return
                try:
                    await self._serve_session(session, peer)
                finally:
                    # The session ends as soon as its websocket stops delivering messages,
                    # which for a close of ours (Session.close) is before the charge point
                    # answered it. So the reader task keeps running: the answer ends the
                    # closing handshake, wakes whoever waits in aclose(), and ends the task
                    # (the nursery then exits). A charge point that does not answer is
                    # dropped after CLOSE_TIMEOUT, which ends the reader task too.
                    guard.start_soon(_drop_after, stream, CLOSE_TIMEOUT)
                    with trio.move_on_after(CLOSE_TIMEOUT):
                        await session.ws.aclose()  # ours, if nobody closed yet
            guard.cancel_scope.cancel()

    def url(self, path: str = STEVE_PATH, host: str = "127.0.0.1") -> str:
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://{host}:{self.port}{path}"

    async def _admit(self, request: WebSocketRequest, peer: str) -> Session | None:
        """Accept the websocket of a known charge point; refuse any other (None)."""
        path = request.path.split("?", 1)[0]
        charge_point_id = unquote(path.rstrip("/").rsplit("/", 1)[-1])
        known = self.settings.known_ids
        if not charge_point_id or (known is not None and charge_point_id not in known):
            await self._refuse(
                request, path, 404, "unknown charge point id", body=b"unknown charge point"
            )
            return None
        key = known.get(charge_point_id) if known is not None else None
        if key is not None and not self._authorized(request, charge_point_id, key):
            await self._refuse(
                request,
                path,
                401,
                "no or a wrong HTTP Basic key",
                extra_headers=[(b"WWW-Authenticate", b'Basic realm="OCPP"')],
            )
            return None
        if SUBPROTOCOL not in request.proposed_subprotocols:
            await self._refuse(
                request,
                path,
                400,
                "no ocpp1.6 subprotocol offered",
                body=b"the ocpp1.6 subprotocol is required",
            )
            return None
        ws = await request.accept(
            subprotocol=SUBPROTOCOL if self.settings.select_subprotocol else None
        )
        return Session(self, charge_point_id, ws, request.headers)

    async def _serve_session(self, session: Session, peer: str) -> None:
        """Serve a charge point's session until its websocket closes; it replaces any older one."""
        charge_point_id = session.charge_point_id
        old = self.sessions.get(charge_point_id)
        self.sessions[charge_point_id] = session
        if self.settings.keep_exchanges is None:
            self.all_sessions.append(session)
        self.counts.connections += 1
        log.info("%s connected from %s", charge_point_id, peer)
        self._changed()
        if old is not None and not old.closed.is_set():
            # the same charge point again: its old connection is dead, whatever it says
            with trio.move_on_after(2):
                await old.close()
        await session.serve()
        log.info("%s disconnected", charge_point_id)

    async def _refuse(
        self, request: WebSocketRequest, path: str, status: int, why: str, **answer: Any
    ) -> None:
        """Answer the handshake with an HTTP error, and record it (whoever waits hears of it)."""
        log.warning("refused the connection to %s: HTTP %d, %s", path, status, why)
        self.rejected.append((path, status))
        self._changed()
        await request.reject(status, **answer)

    @staticmethod
    def _authorized(request: WebSocketRequest, charge_point_id: str, key: str) -> bool:
        for name, value in request.headers:
            if name.lower() == b"authorization" and value[:6].lower() == b"basic ":
                try:
                    decoded = base64.b64decode(value[6:].strip(), validate=True)
                except (binascii.Error, ValueError):
                    return False
                user, sep, password = decoded.partition(b":")
                return (
                    sep == b":"
                    and user == charge_point_id.encode()
                    and hmac.compare_digest(password, basic_auth_password(key))
                )
        return False

    # -- waiting for things (for programs and tests) ------------------------------------

    def _changed(self) -> None:
        change = self._change
        if change is not None:
            self._change = None
            change.set()

    def _session_closed(self, session: Session) -> None:
        self.counts.open -= 1
        # with keep_exchanges a closed session is forgotten: a CSMS under load keeps what
        # is open, not every session it served
        forget = self.settings.keep_exchanges is not None
        if forget and self.sessions.get(session.charge_point_id) is session:
            del self.sessions[session.charge_point_id]
        if self.on_close is not None:
            self.on_close(session)
        self._changed()

    def _announce(self, session: Session, exchange: Exchange) -> None:
        if self.on_exchange is not None:
            self.on_exchange(session, exchange)
        self._changed()

    async def wait_until(self, predicate: Callable[[], Any]) -> Any:
        """Wait until `predicate()` is truthy (checked after every exchange); return it."""
        while True:
            value = predicate()
            if value:
                return value
            if self._change is None:
                self._change = trio.Event()
            await self._change.wait()

    async def session(self, charge_point_id: str) -> Session:
        """The open session of a charge point, once it is connected."""
        return await self.wait_until(
            lambda: (s := self.sessions.get(charge_point_id)) and not s.closed.is_set() and s
        )

    def received(self, charge_point_id: str | None = None, action: str | None = None) -> list[Any]:
        """Every request received (from one charge point, of one action), across sessions."""
        out: list[Any] = []
        for s in self._history():
            if charge_point_id in (None, s.charge_point_id):
                out.extend(s.calls(action))
        return out

    def _history(self) -> list[Session]:
        """The sessions whose exchanges are kept: every one, or (keep_exchanges) the open ones."""
        if self.settings.keep_exchanges is None:
            return self.all_sessions
        return list(self.sessions.values())

    async def wait_for(
        self,
        action: str,
        where: Callable[[Any], bool] = lambda _: True,
        *,
        charge_point_id: str | None = None,
        count: int = 1,
    ) -> Any:
        """The `count`-th request of `action` that satisfies `where` (waiting for it)."""

        def found() -> Any:
            matches = [r for r in self.received(charge_point_id, action) if where(r)]
            return matches[count - 1] if len(matches) >= count else None

        return await self.wait_until(found)

    def actions(self, charge_point_id: str | None = None) -> list[str]:
        """The actions of the calls received, in order."""
        return [
            ex.action or ""
            for s in self._history()
            if charge_point_id in (None, s.charge_point_id)
            for ex in s.exchanges
            if ex.direction == "in" and ex.kind == "CALL"
        ]


def _drop_unfinished(later: trio.MemoryReceiveChannel[Any]) -> None:
    """The session ended: a handler's answer not awaited any more is closed, not left
    to Python's warning about a coroutine never awaited."""
    while True:
        try:
            item = later.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            break
        if isinstance(item, tuple):
            close = getattr(item[1], "close", None)
            if close is not None:
                close()
    later.close()


async def _drop_after(stream: trio.abc.Stream, seconds: float) -> None:
    """Close `stream` without a closing handshake after `seconds` (unless cancelled first):
    trio-websocket's reader then ends, and so does every aclose() waiting for an answer."""
    await trio.sleep(seconds)
    await trio.aclose_forcefully(stream)


def _peer(stream: trio.abc.Stream) -> str:
    sock = getattr(stream, "socket", None)
    if sock is None:
        return "an in-process peer"
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return "a peer already gone"
    return f"{host}:{port}"


def server_tls_context(
    cert_file: str, key_file: str, client_ca_file: str | None = None
) -> ssl.SSLContext:
    """A server context: TLS 1.2+, and client certificates required when a CA is given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    if client_ca_file is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=client_ca_file)
    return ctx
