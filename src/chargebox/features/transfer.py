"""What the firmware, diagnostics and log actors share: ordered notifications and host
transfers.

Their charts (statecharts/firmware.yaml, diagnostics.yaml, log.yaml) record the status
notifications they send (SendRequest) and the transfers the host performs
(HostCommand). The actor sends the notifications one after the other, in the
order the chart gave them, through the ACCEPTED gate (offline, a notification
is dropped: it describes a moment that is over), and runs each transfer
attempt in a task of its own, so that a download of many minutes never holds
the chart up; the attempt's outcome comes back as a trigger.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from chargebox.actors.actor import Actor
from chargebox.charts.effects import SendRequest, Trigger
from chargebox.charts.model import ChartModel
from chargebox.ocpp.v16 import (
    DiagnosticsStatusNotificationRequest,
    FirmwareStatusNotificationRequest,
    LogStatusNotificationRequest,
    SignedFirmwareStatusNotificationRequest,
)
from chargebox.station.rpc import CallFailed, CallTimeout, ConnectionLost, Offline

if TYPE_CHECKING:
    from chargebox.station.station import Station

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=ChartModel)

NOTIFICATIONS: dict[str, Any] = {
    "FirmwareStatusNotification": FirmwareStatusNotificationRequest,
    "DiagnosticsStatusNotification": DiagnosticsStatusNotificationRequest,
    "SignedFirmwareStatusNotification": SignedFirmwareStatusNotificationRequest,
    "LogStatusNotification": LogStatusNotificationRequest,
}


class TransferActor(Actor[ModelT]):
    """An actor of a file-transfer procedure (firmware update, diagnostics upload)."""

    def __init__(self, station: Station, address: str, model: ModelT) -> None:
        super().__init__(address, model, clock=station.ctx.clock)
        self.station = station
        self.ctx = station.ctx
        self._work_send, self._work_receive = trio.open_memory_channel[
            Callable[[], Awaitable[None]]
        ](math.inf)
        self._working = False

    def in_order(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after everything queued before it (notifications, the restart)."""
        if not self._working:
            assert self._nursery is not None
            self._nursery.start_soon(self._work)
            self._working = True
        self._work_send.send_nowait(work)

    async def _work(self) -> None:
        async for work in self._work_receive:
            await work()

    def notify(self, effect: SendRequest) -> None:
        request = NOTIFICATIONS[effect.action](**effect.payload)

        async def send() -> None:
            try:
                await self.ctx.endpoint.call(request)
            except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
                log.info("%s %s not delivered: %s", effect.action, request.status, e)

        self.in_order(send)

    def attempt(
        self, what: str, make: Callable[[], Awaitable[Any]], succeeded: str, failed: str
    ) -> None:
        """One transfer attempt by the host, in a task of its own; its outcome is a trigger."""
        assert self._nursery is not None
        self._nursery.start_soon(self.run_attempt, what, make, succeeded, failed)

    async def run_attempt(
        self, what: str, make: Callable[[], Awaitable[Any]], succeeded: str, failed: str
    ) -> None:
        """The attempt itself: the host's answer becomes the trigger `succeeded` or `failed`."""
        # a port that raises is logged by call_host and counts as a failed attempt
        done = bool(await self.ctx.call_host(what, make()))
        if not done:
            log.warning("%s: the host could not %s", self.address, what)
        await self.inbox.send(Trigger(succeeded if done else failed))
