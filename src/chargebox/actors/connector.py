"""Connector actors (statecharts/connector.yaml, connector0.yaml) and the StatusNotifications.

A connector's status is its chart's state. Entering a state records a
StatusNotification; the StatusReporter sends it, once the status was stable
for MinimumStatusDuration seconds (only the last of quick changes goes out,
and nothing when the connector came back to the status last reported), while
the registration is Accepted. After every registration and reconnect the
station sends the current status of every connector, so a status that changed
while offline is never lost.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import attrs
import trio

from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Offline
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, HostCommand, SendStatusNotification
from chargebox.charts.models import Connector0Model, ConnectorModel
from chargebox.ocpp.v16 import StatusNotificationRequest

log = logging.getLogger(__name__)


@attrs.frozen
class Status:
    connector_id: int
    status: str
    error_code: str = "NoError"
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    timestamp: datetime | None = None

    def request(self) -> StatusNotificationRequest:
        return StatusNotificationRequest(
            connector_id=self.connector_id,
            error_code=self.error_code,
            status=self.status,
            info=self.info[:50] if self.info else None,
            vendor_id=self.vendor_id,
            vendor_error_code=self.vendor_error_code[:50] if self.vendor_error_code else None,
            timestamp=self.timestamp,
        )


class StatusReporter:
    """Sends StatusNotification.req in order, debounced by MinimumStatusDuration."""

    def __init__(self, ctx: StationContext) -> None:
        self.ctx = ctx
        self._send, self._receive = trio.open_memory_channel[tuple[Status, int]](1024)
        self._latest: dict[int, Status] = {}
        #: the status last queued for each connector (what the Central System knows)
        self._reported: dict[int, Status] = {}
        self._debouncing: set[int] = set()
        #: every StatusNotification.req that was answered (for inspection)
        self.sent: list[Status] = []

    async def run(self) -> None:
        async for status, ticket in self._receive:
            try:
                await self.ctx.endpoint.call(status.request(), ticket=ticket)
                self.sent.append(status)
            except (Offline, ConnectionLost):
                pass  # sent again with every connector's status once registered
            except (CallFailed, CallTimeout) as e:
                log.warning("StatusNotification for connector %d: %s", status.connector_id, e)

    def notify(self, status: Status) -> None:
        self._latest[status.connector_id] = status
        delay = self.ctx.cfg.get("MinimumStatusDuration", 0) or 0
        if delay <= 0:
            self._queue(status)
        elif status.connector_id not in self._debouncing:
            self._debouncing.add(status.connector_id)
            self.ctx.nursery.start_soon(self._debounce, status.connector_id, delay)

    async def _debounce(self, connector_id: int, delay: float) -> None:
        # wait until the status stayed the same for `delay` seconds, then send that one
        while True:
            seen = self._latest[connector_id]
            await trio.sleep(delay)
            if self._latest[connector_id] is seen:
                break
        self._debouncing.discard(connector_id)
        reported = self._reported.get(connector_id)
        if reported is not None and attrs.evolve(reported, timestamp=None) == attrs.evolve(
            seen, timestamp=None
        ):
            return  # back to the status last reported before the short-lived one: no change
        self._queue(seen)

    def _queue(self, status: Status) -> None:
        self._reported[status.connector_id] = status
        # its place among our CALLs is taken now, in the order the charts moved
        ticket = self.ctx.endpoint.reserve()
        try:
            self._send.send_nowait((status, ticket))
        except trio.WouldBlock:
            self.ctx.endpoint.release(ticket)
            log.warning("StatusNotification queue full; connector %d dropped", status.connector_id)

    def send_all(self, statuses: list[Status]) -> None:
        """Every connector's current status (after registration or a reconnect)."""
        for status in statuses:
            self._latest[status.connector_id] = status
            self._queue(status)


class ConnectorActor(Actor[ConnectorModel]):
    """One connector; connector 0 (the Charge Point) runs Connector0Model."""

    def __init__(
        self, ctx: StationContext, model: ConnectorModel | Connector0Model, reporter: StatusReporter
    ) -> None:
        c = model.connector_id
        address = Address.connector0() if c == 0 else Address.connector(c)
        super().__init__(address, model, clock=ctx.clock, report=True)  # type: ignore[arg-type]
        self.ctx = ctx
        self.reporter = reporter
        #: the vendor of the fault's error code (StatusNotification vendorId)
        self.vendor_id: str | None = None

    @property
    def connector_id(self) -> int:
        return self.model.connector_id

    def status(self) -> Status:
        model = self.model
        faulted = model.faulted
        return Status(
            model.connector_id,
            model.state,
            (model.error_code or "OtherError") if faulted else "NoError",
            vendor_id=self.vendor_id if faulted else None,
            timestamp=self.ctx.clock.now(),
        )

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, SendStatusNotification):
            faulted = effect.status == "Faulted"
            self.reporter.notify(
                Status(
                    effect.connector_id,
                    effect.status,
                    effect.error_code,
                    effect.info,
                    self.vendor_id if faulted else None,
                    effect.vendor_error_code,
                    self.ctx.clock.now(),
                )
            )
        elif isinstance(effect, HostCommand):
            await host_command(self.ctx, effect)
        else:
            await super().perform(effect)


async def host_command(ctx: StationContext, effect: HostCommand) -> None:
    """Run a HostCommand on the host's EVSE port, in the background (the actor goes on)."""
    evse = ctx.host.evse
    c = effect.connector_id
    calls: dict[str, Any] = {
        "authorize": lambda: evse.authorize(c, effect.params["id_tag"]),
        "withdraw_authorization": lambda: evse.withdraw_authorization(c),
        "pause_charging": lambda: evse.pause_charging(c),
        "resume_charging": lambda: evse.resume_charging(c),
        "stop_transaction": lambda: evse.stop_transaction(c, effect.params.get("reason", "Other")),
        "unlock_connector": lambda: evse.unlock(c),
        "enable": lambda: evse.set_enabled(c, True),
        "disable": lambda: evse.set_enabled(c, False),
    }
    make = calls.get(effect.command)
    if make is None:
        log.error("unknown host command %s", effect.command)
        return
    if not hasattr(evse, _METHOD.get(effect.command, effect.command)):
        log.info("the host's EVSE port offers no %s", effect.command)
        return
    ctx.host_later(effect.command, make)


_METHOD = {
    "unlock_connector": "unlock",
    "enable": "set_enabled",
    "disable": "set_enabled",
}
