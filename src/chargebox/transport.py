"""Opening the websocket to the Central System for security profiles 0 to 3.

    profile 0   ws://   no authentication
    profile 1   ws://   HTTP Basic: ChargePointId and AuthorizationKey
    profile 2   wss://  TLS 1.2 or newer, the server's certificate verified, HTTP Basic
    profile 3   wss://  TLS 1.2 or newer, both sides present certificates

The subprotocol `ocpp1.6` is required: a Central System that does not select
it is refused. Every failure becomes a `ConnectError` whose `kind` says what
went wrong (refused, http status, tls, subprotocol, timeout) and whose message
is the log line an operator can act on; secrets never appear in it.

`ReaderDelivery` hands each message of an open connection to its handler in
the connection's reader task, and `send_text` writes a message without a task
switch of trio-websocket's send lock when nobody else sends (both ends of a
round trip use them).
"""

from __future__ import annotations

import base64
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    wrap_client_stream,
)
from wsproto.events import TextMessage

SUBPROTOCOL = "ocpp1.6"

# OCPP-J 1.6 does not limit message sizes; a StopTransaction with much
# transactionData can be large. MaxMessageSize bounds what we send.
MAX_MESSAGE_SIZE = 4 * 1024 * 1024


class FailureKind(StrEnum):
    REFUSED = "refused"  # no TCP connection (nothing listens, host unreachable, DNS)
    HTTP = "http"  # the handshake was answered with an HTTP status (401, 404, ...)
    TLS = "tls"  # TLS handshake failed (certificate, protocol, cipher)
    SUBPROTOCOL = "subprotocol"  # the server did not select ocpp1.6
    TIMEOUT = "timeout"  # no answer in time
    PROTOCOL = "protocol"  # not a websocket server


class ConnectError(Exception):
    """A connection attempt that failed; `str()` is a log line for the operator."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@attrs.frozen
class TlsSettings:
    """Where the certificates for profiles 2 and 3 come from.

    `ca_file`: PEM bundle of the Central System's root certificates (when None,
    only the system store, if `use_default_verify_paths`). `client_cert` and
    `client_key`: the charge point's certificate chain and key (profile 3).
    `verify_hostname`: check that the server certificate names the host
    (VerifyCsmsCommonName). Cipher lists as in SupportedCiphers12/13 (OpenSSL names).
    """

    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    use_default_verify_paths: bool = True
    verify_hostname: bool = True
    ciphers12: tuple[str, ...] = ()
    ciphers13: tuple[str, ...] = ()


OpenStream = Callable[[str, int], Awaitable[trio.abc.Stream]]

log = logging.getLogger(__name__)

_HEX_PAIRS = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def basic_auth_password(authorization_key: str) -> bytes:
    """The HTTP Basic password an AuthorizationKey stands for.

    The security whitepaper represents the key in hexadecimal (up to 40 hex
    digits for up to 20 bytes): a value made of hex pairs is the bytes it
    encodes; any other value is its own UTF-8 text.
    """
    if _HEX_PAIRS.fullmatch(authorization_key):
        return bytes.fromhex(authorization_key)
    return authorization_key.encode()


def basic_auth_header(charge_point_id: str, authorization_key: str) -> tuple[bytes, bytes]:
    """`Authorization: Basic base64(ChargePointId:password)` (RFC 7617)."""
    token = base64.b64encode(
        charge_point_id.encode() + b":" + basic_auth_password(authorization_key)
    )
    return (b"Authorization", b"Basic " + token)


def tls_context(profile: int, settings: TlsSettings) -> ssl.SSLContext:
    """The client TLS context for profile 2 or 3 (whitepaper 2.4, 2.5)."""
    if profile not in (2, 3):
        raise ValueError(f"security profile {profile} does not use TLS")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = settings.verify_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    if settings.use_default_verify_paths:
        ctx.set_default_verify_paths()
    if settings.ca_file is not None:
        ctx.load_verify_locations(cafile=str(settings.ca_file))
    if settings.ciphers12:
        ctx.set_ciphers(":".join(settings.ciphers12))
    if settings.ciphers13:
        _check_ciphers13(ctx, settings.ciphers13)
    if profile == 3:
        if settings.client_cert is None or settings.client_key is None:
            raise ValueError("security profile 3 needs a client certificate and key")
        ctx.load_cert_chain(str(settings.client_cert), str(settings.client_key))
    return ctx


_CIPHERS13_WARNED: set[tuple[str, ...]] = set()


def _check_ciphers13(ctx: ssl.SSLContext, wanted: tuple[str, ...]) -> None:
    """SupportedCiphers13 cannot be applied: Python's ssl module has no way to choose the
    TLS 1.3 suites (OpenSSL's SSL_CTX_set_ciphersuites is not exposed). Say so, once per
    list, when the suites offered are not the ones configured."""
    offered = tuple(c["name"] for c in ctx.get_ciphers() if c.get("protocol") == "TLSv1.3")
    if set(offered) == set(wanted) or wanted in _CIPHERS13_WARNED:
        return
    _CIPHERS13_WARNED.add(wanted)
    log.warning(
        "SupportedCiphers13 (%s) cannot be applied by Python's ssl module; TLS 1.3 offers "
        "OpenSSL's suites: %s",
        ", ".join(wanted),
        ", ".join(offered),
    )


@attrs.frozen
class Endpoint:
    url: str
    secure: bool
    host: str
    port: int
    resource: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"{url!r}: the scheme must be ws or wss")
        if not parts.hostname:
            raise ValueError(f"{url!r}: no host")
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        resource = parts.path or "/"
        if parts.query:
            resource += "?" + parts.query
        return cls(url, secure, parts.hostname, port, resource)


class _WatchedStream(trio.abc.Stream):
    """A stream that remembers why it broke.

    trio-websocket turns a broken stream during the opening handshake into a wait
    that only a timeout ends; this lets us end it at once and say why (a TLS 1.3
    server refuses a client certificate only after the handshake, say).
    """

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.failures: list[BaseException] = []
        self.on_failure: Any = None

    @property
    def failure(self) -> BaseException | None:
        """The most telling failure: one caused by TLS if any, else the first."""
        for e in self.failures:
            if _ssl_error(e) is not None:
                return e
        return self.failures[0] if self.failures else None

    def unwatch(self) -> None:
        """The handshake is done: from now on the inner stream's own methods are called,
        with no layer of this one in between (a coroutine less on every frame sent and
        every read, on the hot path of each CALL); what breaks it later is told by
        trio-websocket as a closed connection."""
        self.send_all = self.inner.send_all  # type: ignore[method-assign]
        self.receive_some = self.inner.receive_some  # type: ignore[method-assign]
        self.wait_send_all_might_not_block = self.inner.wait_send_all_might_not_block  # type: ignore[method-assign]

    def _failed(self, e: BaseException) -> None:
        self.failures.append(e)
        if self.on_failure is not None:
            self.on_failure()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await self.inner.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
            self._failed(e)
            raise

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        try:
            data = await self.inner.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
            self._failed(e)
            raise
        if not data:
            self._failed(EOFError("the server closed the connection"))
        return data

    async def aclose(self) -> None:
        await self.inner.aclose()


async def connect(
    nursery: trio.Nursery,
    url: str,
    *,
    profile: int,
    charge_point_id: str,
    authorization_key: str | None = None,
    tls: TlsSettings | None = None,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    timeout: float = 30.0,
    open_stream: OpenStream | None = None,
) -> WebSocketConnection:
    """Open the websocket for `profile`; its reader task runs in `nursery`.

    `open_stream(host, port)` replaces the TCP connection (chargebox.netsim: an
    in-process network for simulated stations and tests on a mock clock).

    Returns the open connection (close it with `aclose()`), or raises
    ConnectError with a clear message for every kind of failure, ValueError
    for settings that cannot work (no key for profile 1, a ws:// URL for 2).
    """
    endpoint = Endpoint.parse(url)
    if endpoint.secure != (profile >= 2):
        raise ValueError(
            f"{url}: security profile {profile} needs {'wss' if profile >= 2 else 'ws'}"
        )
    headers = list(extra_headers)
    if profile in (1, 2):
        if not authorization_key:
            raise ValueError(f"security profile {profile} needs an AuthorizationKey")
        headers.append(basic_auth_header(charge_point_id, authorization_key))
    context = tls_context(profile, tls or TlsSettings()) if endpoint.secure else None
    return await nursery.start(
        _own_connection, endpoint, context, headers, profile, timeout, open_stream
    )


async def _own_connection(
    endpoint: Endpoint,
    context: ssl.SSLContext | None,
    headers: list[tuple[bytes, bytes]],
    profile: int,
    timeout: float,
    open_stream: OpenStream | None,
    task_status: trio.TaskStatus[WebSocketConnection] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open the connection and host its reader task until it is closed."""
    where = f"{endpoint.host}:{endpoint.port}"
    started = False
    try:
        with trio.fail_after(timeout):
            stream = await _open_stream(endpoint, context, where, open_stream)
        watched = _WatchedStream(stream)
        async with trio.open_nursery() as reader:
            ws = None
            with trio.move_on_after(timeout) as scope:
                watched.on_failure = scope.cancel
                host = endpoint.host if endpoint.port in (80, 443) else where
                ws = await wrap_client_stream(
                    reader,
                    watched,
                    host,
                    endpoint.resource,
                    subprotocols=[SUBPROTOCOL],
                    extra_headers=headers,
                    max_message_size=MAX_MESSAGE_SIZE,
                )
            watched.on_failure = None
            if ws is not None:
                watched.unwatch()
            if ws is None:
                await trio.aclose_forcefully(watched)
                failure = watched.failure
                # ClosedResourceError: the stream was closed on our side, which is how
                # trio-websocket gives up when the timeout cancels the handshake
                if failure is not None and not isinstance(failure, trio.ClosedResourceError):
                    raise _failure(failure, where, endpoint.resource, profile, timeout)
                # the URL rebuilt from its parts: a user:password in it stays out of the log
                shown = f"{'wss' if endpoint.secure else 'ws'}://{where}{endpoint.resource}"
                raise ConnectError(
                    FailureKind.TIMEOUT,
                    f"the Central System at {shown} did not complete the websocket "
                    f"handshake within {timeout:g} s",
                )
            if ws.subprotocol != SUBPROTOCOL:
                await ws.aclose(code=1002, reason="the ocpp1.6 subprotocol is required")
                raise ConnectError(
                    FailureKind.SUBPROTOCOL,
                    f"{where} answered without the ocpp1.6 subprotocol "
                    f"(selected: {ws.subprotocol or 'none'})",
                )
            task_status.started(ws)
            started = True
    except trio.TooSlowError:
        raise ConnectError(
            FailureKind.TIMEOUT, f"no connection to {where} within {timeout:g} s"
        ) from None
    except BaseExceptionGroup as group:
        # the reader task raises ConnectionRejected when the server answers with a status
        if started:
            raise
        failed, _ = group.split(ConnectError)
        if failed is not None:
            raise failed.exceptions[0] from None
        rejected, _ = group.split(ConnectionRejected)
        if rejected is None:
            raise
        e = rejected.exceptions[0]
        assert isinstance(e, ConnectionRejected)
        raise _failure(e, where, endpoint.resource, profile, timeout) from None


async def _open_stream(
    endpoint: Endpoint, context: ssl.SSLContext | None, where: str, open_stream: OpenStream | None
) -> trio.abc.Stream:
    try:
        if open_stream is not None:
            tcp: trio.abc.Stream = await open_stream(endpoint.host, endpoint.port)
        else:
            tcp = await trio.open_tcp_stream(endpoint.host, endpoint.port)
    except OSError as e:
        raise ConnectError(
            FailureKind.REFUSED, f"cannot reach the Central System at {where}: {_os_reason(e)}"
        ) from None
    if context is None:
        return tcp
    tls = trio.SSLStream(tcp, context, server_hostname=endpoint.host, https_compatible=True)
    try:
        await tls.do_handshake()
    except trio.BrokenResourceError as e:
        await trio.aclose_forcefully(tls)
        raise _failure(e, where, endpoint.resource, 2, 0) from None
    return tls


def _os_reason(error: OSError) -> str:
    """Why a connection could not be opened, in words: trio's "all attempts to connect
    failed" keeps each address's error in its cause."""
    cause = error.__cause__
    errors = list(cause.exceptions) if isinstance(cause, BaseExceptionGroup) else [error]
    reasons: list[str] = []
    for each in errors:
        if isinstance(each, ConnectionRefusedError):
            reason = "connection refused"
        elif isinstance(each, TimeoutError):
            reason = "timed out"
        elif isinstance(each, OSError) and each.strerror:
            reason = each.strerror
        else:
            reason = str(each)
        if reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons)


def _failure(
    e: BaseException, where: str, resource: str, profile: int, timeout: float
) -> ConnectError:
    if isinstance(e, ConnectionRejected):
        return ConnectError(
            FailureKind.HTTP, _http_message(where, resource, e.status_code, profile), e.status_code
        )
    tls_error = _ssl_error(e)
    if tls_error is not None:
        return ConnectError(FailureKind.TLS, _tls_message(where, tls_error))
    chain = _chain(e)
    if isinstance(e, (trio.BrokenResourceError, EOFError)):
        # A TLS 1.3 server checks the client certificate after the client's side of the
        # handshake is done; many close without an alert we could read.
        if profile == 2:
            return ConnectError(
                FailureKind.TLS,
                f"TLS to {where} failed: the server closed the connection after the TLS "
                "handshake; it may require a client certificate (security profile 3)",
            )
        if profile == 3:
            return ConnectError(
                FailureKind.TLS,
                f"TLS to {where} failed: the server closed the connection after the TLS "
                "handshake; it may not accept our client certificate",
            )
        return ConnectError(
            FailureKind.PROTOCOL, f"{where} closed the connection during the websocket handshake"
        )
    for link in chain:
        if isinstance(link, OSError):
            return ConnectError(
                FailureKind.REFUSED,
                f"cannot reach the Central System at {where}: {link.strerror or link}",
            )
    return ConnectError(
        FailureKind.PROTOCOL, f"{where} did not complete a websocket handshake: {e!r}"
    )


def _chain(e: BaseException) -> list[BaseException]:
    chain = [e]
    while True:
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt is None or nxt in chain:
            return chain
        chain.append(nxt)


def _ssl_error(e: BaseException) -> ssl.SSLError | None:
    for link in _chain(e):
        if isinstance(link, ssl.SSLError):
            return link
    return None


def _tls_message(where: str, cause: ssl.SSLError) -> str:
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"TLS to {where} failed: the server certificate is not trusted ({cause.verify_message})"
        )
    reason = cause.reason or str(cause)
    if "CERTIFICATE_REQUIRED" in reason.upper():
        return f"TLS to {where} failed: the server requires a client certificate"
    if "UNKNOWN_CA" in reason.upper() or "BAD_CERTIFICATE" in reason.upper():
        return f"TLS to {where} failed: the server refused our client certificate ({reason})"
    return f"TLS to {where} failed: {reason}"


def _http_message(where: str, resource: str, status: int | None, profile: int) -> str:
    if status == 401:
        hint = (
            "check AuthorizationKey"
            if profile in (1, 2)
            else "the Central System wants HTTP Basic authentication (security profile 1 or 2)"
        )
        return f"{where} refused the connection: HTTP 401 Unauthorized ({hint})"
    if status == 404:
        return (
            f"{where} refused the connection: HTTP 404 Not Found for {resource} "
            "(is this charge point id registered at the Central System?)"
        )
    return f"{where} refused the connection: HTTP {status}"


# -- messages handled in the reader task ---------------------------------------------
#
# trio-websocket's reader task parses the frames and puts each message on a
# memory channel; `get_message()` takes it from there in another task. For a
# round trip that costs a task step on each end: the task waiting in
# `get_message()` wakes, and only then the task that waits for the answer (or
# the one that answers). `ReaderDelivery` replaces the sending side of that
# channel with one that calls the handler right away, in the reader task, so the
# message is handled in the step that read it. The handler may wait (for room on
# a channel, for a send), but while it does the connection reads nothing, not
# even a ping: a wait that may be long belongs in a task of its own (the
# development CSMS awaits a handler's late answer beside the reader).
#
# It is installed only at a moment when no message waits in the channel (so that
# messages keep their order: every one before went through the channel and has
# been taken, every one after comes to the handler), and taken out when the
# serving ends. `get_message()` then only ends with ConnectionClosed: closing
# the connection still closes the channel. A websocket that is not a
# trio-websocket connection of the shape this relies on (a stand-in in a test,
# another version) keeps the channel: `install()` then does nothing, and the
# messages come from `get_message()` as ever.

ReaderHandle = Callable[[str | bytes], Awaitable[None]]


class _Handing:
    """What trio-websocket's reader task sees as its message channel while installed."""

    __slots__ = ("channel", "handle")

    def __init__(self, channel: trio.MemorySendChannel[Any], handle: ReaderHandle) -> None:
        self.channel = channel
        self.handle = handle

    async def send(self, message: str | bytes) -> None:
        try:
            await self.handle(message)
        except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            # the connection or the serving is ending: its end is seen where it is served
            pass

    async def aclose(self) -> None:
        # the connection closed: whoever waits in get_message() hears it
        await self.channel.aclose()

    def close(self) -> None:
        self.channel.close()


class ReaderDelivery:
    """Messages of `ws` go to `handle` in its reader task from `install()` to `remove()`."""

    def __init__(self, ws: object, handle: ReaderHandle) -> None:
        self.ws = ws
        self.handle = handle
        self.installed = False
        #: False once it is known that `ws` cannot take it
        self.possible = isinstance(ws, WebSocketConnection) and isinstance(
            getattr(ws, "_send_channel", None), trio.MemorySendChannel
        )

    def install(self) -> bool:
        """Install it if no message waits in the channel now; True once installed."""
        if self.installed or not self.possible:
            return self.installed
        ws: Any = self.ws
        waiting = ws._recv_channel.statistics()
        if waiting.current_buffer_used or waiting.tasks_waiting_send:
            return False  # those go first, through get_message()
        if waiting.open_send_channels == 0:
            self.possible = False  # closed: nothing more comes
            return False
        ws._send_channel = _Handing(ws._send_channel, self.handle)
        self.installed = True
        return True

    def remove(self) -> None:
        """The channel again: messages wait there for get_message() (nobody handles them)."""
        if self.installed:
            ws: Any = self.ws
            ws._send_channel = ws._send_channel.channel
            self.installed = False


# -- messages sent without the send lock's task switch ---------------------------------
#
# trio-websocket's `send_message` frames the message, then writes the frame under
# the connection's send lock (a trio StrictFIFOLock, so that the frames of tasks
# sending at once go out whole and in the order they were framed). Taking that
# lock when nobody holds it is a scheduling point of its own, before the write's:
# two task steps for every frame sent, on both ends of every round trip.
# `send_text` takes the free lock without that step, frames the message while
# holding it and writes the frame: the write is still a checkpoint (a task that
# only sends lets the others run), a sender that finds the lock held goes the
# ordinary way and waits behind it, and the order of the wire is that of the
# framing as before. A broken stream closes the connection and raises
# ConnectionClosed, as `send_message` does. A websocket of another shape (a
# stand-in in a test, another version of trio-websocket) gets `send_message`.


async def send_text(ws: Any, text: str) -> None:
    """Send `text` as one websocket text message, as `ws.send_message(text)` does."""
    lock = getattr(ws, "_stream_lock", None)
    if type(lock) is not trio.StrictFIFOLock or ws._close_reason is not None:
        await ws.send_message(text)  # (a closed connection raises ConnectionClosed there)
        return
    try:
        lock.acquire_nowait()
    except trio.WouldBlock:
        await ws.send_message(text)  # another task is writing: behind it, in order
        return
    try:
        data = ws._wsproto.send(TextMessage(data=text))
        try:
            await ws._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await ws._abort_web_socket()
            raise ConnectionClosed(ws._close_reason) from None
    finally:
        lock.release()
