"""The link actor: statecharts/link.yaml driving the websocket, registration and heartbeats.

The chart decides; this actor performs: it opens connections with the
security profile the chart asks for (chargebox.transport), serves OCPP-J on
them (chargebox.actors.endpoint), sends BootNotification and Heartbeat and turns
their answers into events of its chart, and sends the websocket pings the
chart decides (WebSocketPingInterval), turning each pong into an event; a
connection whose pong does not come within WebsocketPongTimeout is dropped
when the chart says so.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import attrs
import trio
from trio_websocket import WebSocketConnection

from chargebox import transport
from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Gate, Offline
from chargebox.charts.addresses import Address
from chargebox.charts.effects import CloseConnection, Effect, OpenConnection, SendRequest
from chargebox.charts.events import link as events
from chargebox.charts.events.station import LinkStateChanged
from chargebox.charts.machine import Outcome
from chargebox.charts.models import LinkModel
from chargebox.charts.models.link import DropUnresponsiveConnection, SendPing
from chargebox.config import ChargePointConfig
from chargebox.config.checks import split_scheme, websocket_scheme
from chargebox.ocpp.v16 import BootNotificationRequest, HeartbeatRequest, RegistrationStatus

log = logging.getLogger(__name__)

# BootNotification.req fields and the Internal keys they come from
BOOT_FIELDS = {
    "charge_point_vendor": "ChargePointVendor",
    "charge_point_model": "ChargePointModel",
    "charge_point_serial_number": "ChargePointSerialNumber",
    "charge_box_serial_number": "ChargeBoxSerialNumber",
    "firmware_version": "FirmwareVersion",
    "iccid": "ICCID",
    "imsi": "IMSI",
    "meter_type": "MeterType",
    "meter_serial_number": "MeterSerialNumber",
}


def connection_url(ctx: StationContext, profile: int) -> str:
    """CentralSystemURI with the scheme of `profile` and ChargePointId at the end."""
    cfg = ctx.cfg
    _, rest = split_scheme(cfg["CentralSystemURI"])
    identity = quote(cfg.charge_point_id, safe="")
    if not rest.rstrip("/").endswith("/" + identity):
        rest = rest + ("" if rest.endswith("/") else "/") + identity
    return f"{websocket_scheme(profile)}://{rest}"


def backoff_settings(cfg: ChargePointConfig) -> events.BackoffSettingsChanged:
    """The RetryBackoff* configuration keys as they are now."""
    return events.BackoffSettingsChanged(
        wait_minimum=cfg.get("RetryBackoffWaitMinimum", 3),
        random_range=cfg.get("RetryBackoffRandomRange", 10),
        repeat_times=cfg.get("RetryBackoffRepeatTimes", 3),
    )


class LinkActor(Actor[LinkModel]):
    def __init__(self, ctx: StationContext) -> None:
        cfg = ctx.cfg
        model = LinkModel(
            security_profile=cfg.security_profile,
            heartbeat_interval=cfg.heartbeat_interval,
            boot_retry_interval=ctx.options.boot_retry_interval,
            ping_interval=cfg.websocket_ping_interval,
            pong_timeout=cfg.get("WebsocketPongTimeout", 5),
            retry_backoff_wait_minimum=cfg.get("RetryBackoffWaitMinimum", 3),
            retry_backoff_random_range=cfg.get("RetryBackoffRandomRange", 10),
            retry_backoff_repeat_times=cfg.get("RetryBackoffRepeatTimes", 3),
            jitter=ctx.options.jitter,
        )
        super().__init__(Address.link(), model, clock=ctx.clock, inbox_size=1024)
        self.ctx = ctx
        self._ws: WebSocketConnection | None = None
        # ids of the websockets we close on purpose: `_close` logs their disconnect
        self._closing: set[int] | None = None  # (the sets made when first needed)
        # ids of the websockets dropped for a missing pong: the chart knows they are gone
        self._dropped: set[int] | None = None
        #: the last connection failure, for the station's status and for tests
        self.last_failure: str | None = None
        #: the Central System refused our credentials (HTTP 401) since the last connection
        self._credentials_refused = False
        self.connections = 0
        self._accepted = False

    async def handle(self, message: Any) -> Outcome | None:
        outcome = await super().handle(message)
        await self._follow_state()
        return outcome

    async def _follow_state(self) -> None:
        """The endpoint's ACCEPTED gate follows the chart, before any effect of the transition
        runs (whoever hears of the registration must find the gate open)."""
        accepted = self.model.accepted
        if accepted != self._accepted:
            self._accepted = accepted
            self.ctx.endpoint.set_accepted(accepted)
            if self.ctx.deliver is not None and not self.ctx.ending:
                await self.ctx.deliver(Address.station(), LinkStateChanged(accepted=accepted))

    async def perform(self, effect: Effect) -> None:
        await self._follow_state()
        if isinstance(effect, OpenConnection):
            self._spawn(self._connect, effect.security_profile)
        elif isinstance(effect, CloseConnection):
            await self._close(effect.reason)
        elif isinstance(effect, SendRequest) and effect.action == "BootNotification":
            self._spawn(self._boot)
        elif isinstance(effect, SendRequest) and effect.action == "Heartbeat":
            self._spawn(self.heartbeat)
        elif isinstance(effect, SendPing):
            self._send_ping(effect.number)
        elif isinstance(effect, DropUnresponsiveConnection):
            await self._drop_unresponsive(effect.pong_timeout)
        else:
            await super().perform(effect)

    def _spawn(self, fn: Any, *args: Any) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(fn, *args)

    async def _post(self, event: events.LinkEvent) -> None:
        await self.inbox.send(event)

    # -- connections ----------------------------------------------------------------------

    async def _connect(self, profile: int) -> None:
        ctx = self.ctx
        url = connection_url(ctx, profile)
        self._log_connection("connecting", f"{url} (security profile {profile})")
        try:
            assert self._nursery is not None
            ws = await transport.connect(
                self._nursery,
                url,
                profile=profile,
                charge_point_id=ctx.cfg.charge_point_id,
                authorization_key=ctx.cfg.authorization_key,
                tls=tls_settings(ctx),
                extra_headers=_extra_headers(ctx),
                timeout=ctx.options.connect_timeout,
                open_stream=ctx.options.open_stream,
            )
        except transport.ConnectError as e:
            self.last_failure = str(e)
            if e.kind is transport.FailureKind.TLS and "not trusted" in str(e):
                self.ctx.security_event("InvalidCentralSystemCertificate", str(e))
            if e.status == 401 and not self._credentials_refused:
                # once per run of refusals, not at every attempt of the backoff
                self._credentials_refused = True
                self.ctx.security_event("FailedToAuthenticationAtCentralSystem", str(e))
            log.warning("connecting to the Central System failed: %s", e)
            self._log_connection(f"{e.kind}_failure", str(e))
            await self._post(events.ConnectionFailed())
            return
        except (ValueError, OSError) as e:
            # settings that cannot work (no key, unreadable certificate): said clearly
            self.last_failure = str(e)
            log.error("cannot connect to the Central System: %s", e)
            self._log_connection("failure", str(e))
            await self._post(events.ConnectionFailed())
            return
        self._ws = ws
        self.connections += 1
        self.last_failure = None
        self._credentials_refused = False
        self._log_connection("connected", f"{url} (subprotocol {ws.subprotocol})")
        # attached before the chart hears of it: its BootNotification must find the link open
        self.ctx.endpoint.attach(ws)
        self._spawn(self._serve, ws)
        await self._post(events.ConnectionOpened(now=ctx.clock.now()))

    async def _serve(self, ws: WebSocketConnection) -> None:
        await self.ctx.endpoint.serve(ws)
        if self._closing and id(ws) in self._closing:
            # closed on purpose: `_close` says how, and the chart knows
            self._closing.discard(id(ws))
            return
        closed = ws.closed
        self._log_disconnected(closed.code if closed else None, closed.reason if closed else None)
        if self._ws is ws:
            self._ws = None
        if self._dropped and id(ws) in self._dropped:
            # dropped for its missing pong: the chart moved on then
            self._dropped.discard(id(ws))
            return
        await self._post(events.ConnectionLost())

    # -- websocket pings ------------------------------------------------------------------

    def _send_ping(self, number: int) -> None:
        """Ping number `number`; its pong comes back as an event (none if the link drops)."""
        ws = self._ws
        if ws is None:
            return  # no connection: the chart hears of its loss
        # every ping in flight needs its own payload (RFC 6455: at most 125 bytes)
        text = f"{self.ctx.cfg.get('WebsocketPingPayload', 'hello there')} {number}"
        self._spawn(self._ping, ws, text.encode()[-125:], number)

    async def _ping(self, ws: WebSocketConnection, payload: bytes, number: int) -> None:
        try:
            await ws.ping(payload)  # returns once the matching pong arrived
        except Exception:
            return  # the connection closed: connection_lost follows
        await self._post(events.PongReceived(number=number))

    async def _drop_unresponsive(self, pong_timeout: int) -> None:
        log.warning("no pong within %s s: closing the link", pong_timeout)
        self._log_connection("pong_timeout", f"no pong within {pong_timeout} s")
        ws, self._ws = self._ws, None
        if ws is not None:
            self._dropped = self._dropped or set()
            self._dropped.add(id(ws))  # `_serve` logs its end
            await _abort(ws)

    async def _close(self, reason: str) -> None:
        """Close the connection with code 1000 and `reason`, and log the disconnect.

        The disconnect is logged here, not by `_serve`: `_serve` ends as soon as the
        websocket stops delivering messages, and after a close of ours trio-websocket
        reports code 1000 without a reason until the Central System's answer arrives
        (only then its echo). The code and reason of our own close are known here.
        """
        ws, self._ws = self._ws, None
        if ws is None:
            return
        self._closing = self._closing or set()
        self._closing.add(id(ws))
        self._log_connection("closing", reason)
        reason = reason[:100]
        # None unless the Central System (or the network) closed first: then that is the close
        closed = ws.closed
        try:
            with trio.move_on_after(2):
                await ws.aclose(code=1000, reason=reason)
                return
            await _abort(ws)
        finally:
            if closed is None:
                self._log_disconnected(1000, reason)
            else:
                self._log_disconnected(closed.code, closed.reason)

    def _log_disconnected(self, code: int | None, reason: str | None) -> None:
        self._log_connection("disconnected", f"code {code}, {reason or 'no reason given'}")

    def _log_connection(self, event: str, detail: str) -> None:
        if self.ctx.message_log is not None:
            self.ctx.message_log.connection(event, detail)

    # -- registration and heartbeat -----------------------------------------------------

    async def _boot(self) -> None:
        cfg = self.ctx.cfg
        fields = {name: cfg[key] for name, key in BOOT_FIELDS.items() if cfg.get(key) is not None}
        sent = trio.current_time()
        try:
            response = await self.ctx.endpoint.call(
                BootNotificationRequest(**fields), gate=Gate.CONNECTED
            )
        except (Offline, ConnectionLost):
            return  # connection_lost follows
        except (CallFailed, CallTimeout) as e:
            log.warning("BootNotification failed: %s", e)
            await self._post(events.BootFailed())
            return
        await self._set_time(response.current_time, trio.current_time() - sent)
        interval = response.interval
        if response.status == RegistrationStatus.Accepted:
            if interval > 0 and interval != cfg.heartbeat_interval:
                cfg.update("HeartbeatInterval", interval)  # persisted (libocpp does the same)
            await self._post(events.BootAccepted(interval=interval))
        elif response.status == RegistrationStatus.Pending:
            await self._post(events.BootPending(interval=interval, now=self.ctx.clock.now()))
        else:
            await self._post(events.BootRejected(interval=interval, now=self.ctx.clock.now()))

    async def heartbeat(self, *, gate: Gate = Gate.ACCEPTED) -> None:
        """Heartbeat.req, and its answer's currentTime taken as any answer's is (`_set_time`:
        only with Options.adopt_csms_time). The chart's heartbeats wait for Accepted; a
        TriggerMessage's goes on any open connection (`gate`), through here too, so that both
        treat the Central System's time alike."""
        sent = trio.current_time()
        try:
            response = await self.ctx.endpoint.call(HeartbeatRequest(), gate=gate)
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.info("Heartbeat not answered: %s", e)
            return
        await self._set_time(response.current_time, trio.current_time() - sent)

    async def _set_time(self, moment: Any, round_trip: float = 0.0) -> None:
        """The Central System's time, as it is now: it wrote it about half a round trip ago."""
        moment = moment + timedelta(seconds=round_trip / 2)
        if not self.ctx.options.adopt_csms_time:
            return
        self.ctx.clock.set(moment)
        system = self.ctx.host.system
        if system is not None and hasattr(system, "set_system_time"):
            await self.ctx.call_host("set the time", system.set_system_time(moment))


def tls_settings(ctx: StationContext) -> transport.TlsSettings:
    """The TLS settings of the engine's options, with the configuration's TLS keys applied:
    SupportedCiphers12 (SupportedCiphers13 cannot be set through Python's ssl module;
    OpenSSL's TLS 1.3 suites are all strong), VerifyCsmsCommonName, UseSslDefaultVerifyPaths.

    With a certificate store (`Host.certificates`), its CA bundle and its current charge
    point certificate come first: they change with InstallCertificate and CertificateSigned."""
    base = ctx.options.tls
    store = getattr(getattr(ctx, "host", None), "certificates", None)
    if store is not None:
        files = store.tls_files()
        if files.ca_bundle is not None:
            base = attrs.evolve(base, ca_file=files.ca_bundle)
        if files.client_cert is not None and files.client_key is not None:
            base = attrs.evolve(base, client_cert=files.client_cert, client_key=files.client_key)
    cfg = ctx.cfg
    return attrs.evolve(
        base,
        ciphers12=base.ciphers12 or tuple(cfg.get("SupportedCiphers12") or ()),
        ciphers13=base.ciphers13 or tuple(cfg.get("SupportedCiphers13") or ()),
        verify_hostname=base.verify_hostname and bool(cfg.get("VerifyCsmsCommonName", True)),
        use_default_verify_paths=base.use_default_verify_paths
        and bool(cfg.get("UseSslDefaultVerifyPaths", True)),
    )


def _extra_headers(ctx: StationContext) -> list[tuple[bytes, bytes]]:
    host_name = ctx.cfg.get("HostName")
    return [(b"User-Host", host_name.encode())] if host_name else []


async def _abort(ws: WebSocketConnection) -> None:
    """Close without the closing handshake: the peer does not answer any more."""
    stream = getattr(ws, "_stream", None)
    if stream is not None:
        await trio.aclose_forcefully(stream)
