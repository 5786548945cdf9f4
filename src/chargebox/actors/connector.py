"""Connector actors (statecharts/connector.yaml, connector0.yaml) and the StatusNotifications.

A connector's status is its chart's state. Entering a state records a
StatusNotification; the StatusReporter decides with statecharts/status.yaml
(one model per connector, 0 included) when it goes out: once the status held
for MinimumStatusDuration seconds (only the last of quick changes goes out,
and nothing when the connector came back to the status last reported). After
every registration and reconnect the station sends the current status of
every connector, so a status that changed while offline is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
import trio

from chargebox.actors.actor import Actor, UnhandledEffect
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Offline
from chargebox.actors.worker import Worker
from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    CancelTimer,
    Effect,
    HostCommand,
    SendStatusNotification,
    StartTimer,
)
from chargebox.charts.events.status import Held, Registered, StatusChanged, StatusEvent
from chargebox.charts.models import Connector0Model, ConnectorModel, StatusModel
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
    """Sends StatusNotification.req in order; statecharts/status.yaml decides when.

    It owns the status-report model of every connector (0 included) and is their
    only writer. Whoever has a status to report (a connector actor whose chart
    moved, the station, the handle reporting an error) calls `notify` or
    `send_all`, and the reporter fires it on that connector's chart at once, in
    the caller's task: a StatusNotification that goes out takes its place among
    our CALLs in the order the charts moved, as every CALL a chart decides does.
    The chart's timer (MinimumStatusDuration) is a task of the station whose
    expiry is fired the same way.
    """

    def __init__(self, ctx: StationContext, connector_ids: Iterable[int]) -> None:
        self.ctx = ctx
        #: the StatusNotifications to send, in order (a task while there are some)
        self.queue: Worker[tuple[Status, int]] = Worker(
            self._send_one, name="StatusNotifications", size=1024
        )
        #: connector id -> its status-report model
        self.models: dict[int, StatusModel] = {c: StatusModel(c) for c in connector_ids}
        self._chart = StatusModel.chart()
        #: connector id -> the cancel scope of its armed timer
        self._timers: dict[int, trio.CancelScope] = {}
        #: every StatusNotification.req that was answered (for inspection)
        self.sent: list[Status] = []

    async def _send_one(self, item: tuple[Status, int]) -> None:
        status, ticket = item
        try:
            await self.ctx.endpoint.call(status.request(), ticket=ticket)
            self.sent.append(status)
        except (Offline, ConnectionLost):
            pass  # sent again with every connector's status once registered
        except (CallFailed, CallTimeout) as e:
            log.warning("StatusNotification for connector %d: %s", status.connector_id, e)

    def notify(self, status: Status) -> None:
        """A connector's status changed, or an error is reported with its current status."""
        delay = self.ctx.cfg.get("MinimumStatusDuration", 0) or 0
        self._fire(status.connector_id, StatusChanged(**_fields(status), minimum_duration=delay))

    def send_all(self, statuses: list[Status]) -> None:
        """Every connector's current status (after registration or a reconnect)."""
        for status in statuses:
            self._fire(status.connector_id, Registered(**_fields(status)))

    def _fire(self, connector_id: int, event: StatusEvent) -> None:
        model = self.models[connector_id]
        outcome = self._chart.fire_event(model, event)
        if not outcome.allowed:
            log.warning("StatusNotification of connector %d: %s", connector_id, outcome)
        for effect in model.drain_effects():
            if isinstance(effect, SendStatusNotification):
                self._queue(_status_of(effect))
            elif isinstance(effect, StartTimer):
                self._arm(connector_id, effect.seconds or 0.0)
            elif isinstance(effect, CancelTimer):
                self._disarm(connector_id)
            else:
                raise UnhandledEffect(f"status of connector {connector_id}: {effect}")

    def _arm(self, connector_id: int, seconds: float) -> None:
        self._disarm(connector_id)
        scope = self._timers[connector_id] = trio.CancelScope()
        self.ctx.nursery.start_soon(self._expire, connector_id, scope, seconds)

    def _disarm(self, connector_id: int) -> None:
        scope = self._timers.pop(connector_id, None)
        if scope is not None:
            scope.cancel()

    async def _expire(self, connector_id: int, scope: trio.CancelScope, seconds: float) -> None:
        with scope:
            await trio.sleep(seconds)
        # re-armed or disarmed after its time had come: that expiry is not the chart's any more
        if self._timers.get(connector_id) is scope:
            del self._timers[connector_id]
            self._fire(connector_id, Held())

    def _queue(self, status: Status) -> None:
        # its place among our CALLs is taken now, in the order the charts moved
        ticket = self.ctx.endpoint.reserve()
        try:
            self.queue.put((status, ticket))
        except trio.WouldBlock:
            self.ctx.endpoint.release(ticket)
            log.warning("StatusNotification queue full; connector %d dropped", status.connector_id)


def _fields(status: Status) -> dict[str, Any]:
    return {
        "status": status.status,
        "error_code": status.error_code,
        "info": status.info,
        "vendor_id": status.vendor_id,
        "vendor_error_code": status.vendor_error_code,
        "timestamp": status.timestamp,
    }


def _status_of(effect: SendStatusNotification) -> Status:
    return Status(
        effect.connector_id,
        effect.status,
        effect.error_code,
        effect.info,
        effect.vendor_id,
        effect.vendor_error_code,
        effect.timestamp,
    )


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
            vendor_id=model.vendor_id if faulted else None,
            timestamp=self.ctx.clock.now(),
        )

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, SendStatusNotification):
            self.reporter.notify(
                Status(
                    effect.connector_id,
                    effect.status,
                    effect.error_code,
                    effect.info,
                    effect.vendor_id,
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
