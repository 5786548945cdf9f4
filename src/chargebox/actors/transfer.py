"""The file-transfer actors: diagnostics (GetDiagnostics) and log (GetLog) uploads, and what
they share with the firmware actor (chargebox.actors.firmware).

Their charts (statecharts/firmware.yaml, diagnostics.yaml, log.yaml) record the status
notifications they send (SendRequest) and the transfers the host performs
(HostCommand). The actor sends the notifications one after the other, in the
order the chart gave them, through the ACCEPTED gate (offline, a notification
is dropped: it describes a moment that is over), and runs each transfer
attempt in a task of its own, so that a download of many minutes never holds
the chart up; the attempt's outcome comes back as an event of the chart.

The log actor's attempts can be cancelled: a new GetLog cancels the upload in
progress (N01.FR.11). An attempt ends with the host's answer: True, or why it
failed (a LogUploadFailure; False or a port that raises is UploadFailure).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Offline
from chargebox.actors.worker import Worker
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, HostCommand, SendRequest
from chargebox.charts.events import ChartEvent
from chargebox.charts.events import diagnostics as diagnostics_events
from chargebox.charts.events import log as log_events
from chargebox.charts.model import ChartModel
from chargebox.charts.models import DiagnosticsModel, LogModel
from chargebox.host import LogUploadFailure
from chargebox.ocpp.v16 import (
    DiagnosticsStatusNotificationRequest,
    FirmwareStatusNotificationRequest,
    LogStatusNotificationRequest,
    SignedFirmwareStatusNotificationRequest,
)

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

    def __init__(self, ctx: StationContext, address: Address[Any], model: ModelT) -> None:
        super().__init__(address, model, clock=ctx.clock)
        self.ctx = ctx
        #: notifications and the restart, in order (made at the first)
        self._work: Worker[Callable[[], Awaitable[None]]] | None = None

    def in_order(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after everything queued before it (notifications, the restart)."""
        if self._work is None:
            assert self._nursery is not None
            self._work = Worker(_run_work, name=f"{self.address} notifications")
            self._work.attach(self._nursery)
        self._work.put(work)

    def notify(self, effect: SendRequest) -> None:
        request = NOTIFICATIONS[effect.action](**effect.payload)

        async def send() -> None:
            try:
                await self.ctx.endpoint.call(request)
            except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
                log.info("%s %s not delivered: %s", effect.action, request.status, e)

        self.in_order(send)

    def attempt(
        self,
        what: str,
        make: Callable[[], Awaitable[Any]],
        succeeded: ChartEvent,
        failed: ChartEvent,
    ) -> None:
        """One transfer attempt by the host, in a task of its own; its outcome is an event."""
        assert self._nursery is not None
        self._nursery.start_soon(self.run_attempt, what, make, succeeded, failed)

    async def run_attempt(
        self,
        what: str,
        make: Callable[[], Awaitable[Any]],
        succeeded: ChartEvent,
        failed: ChartEvent,
    ) -> None:
        """The attempt itself: the host's answer becomes the event `succeeded` or `failed`."""
        # a port that raises is logged by call_host and counts as a failed attempt
        done = bool(await self.ctx.call_host(what, make()))
        if not done:
            log.warning("%s: the host could not %s", self.address, what)
        await self.inbox.send(succeeded if done else failed)


class DiagnosticsActor(TransferActor[DiagnosticsModel]):
    """Runs statecharts/diagnostics.yaml: the upload of the file GetDiagnostics named."""

    def __init__(self, ctx: StationContext) -> None:
        super().__init__(ctx, Address.diagnostics(), DiagnosticsModel())

    async def perform(self, effect: Effect) -> None:
        port = self.ctx.host.diagnostics
        if isinstance(effect, SendRequest):
            self.notify(effect)
        elif isinstance(effect, HostCommand) and effect.command == "upload_diagnostics":
            assert port is not None
            location, file_name = effect.params["location"], effect.params["file_name"]

            async def upload() -> bool:
                # a LogUploadFailure (a str) says why it failed: for GetDiagnostics, UploadFailed
                return await port.upload_diagnostics(location, file_name) is True

            self.attempt(
                "upload the diagnostics",
                upload,
                diagnostics_events.UploadSucceeded(),
                diagnostics_events.UploadFailed(),
            )
        else:
            await super().perform(effect)


def attempt_outcome(result: Any) -> str | None:
    """None when a port's answer means uploaded, else the UploadLogStatus of the failure."""
    if isinstance(result, str):
        try:
            return str(LogUploadFailure(result))
        except ValueError:
            log.warning("the diagnostics port answered %r: taken as UploadFailure", result)
            return str(LogUploadFailure.UploadFailure)
    return None if result is True else str(LogUploadFailure.UploadFailure)


class LogActor(TransferActor[LogModel]):
    """Runs statecharts/log.yaml: notifications in order, one cancellable task per attempt."""

    def __init__(self, ctx: StationContext) -> None:
        super().__init__(ctx, Address.log(), LogModel())
        #: upload number -> the cancel scope of its running attempt
        self._attempts: dict[int, trio.CancelScope] = {}

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, SendRequest):
            self.notify(effect)
        elif isinstance(effect, HostCommand) and effect.command == "upload_log":
            self._start_attempt(**effect.params)
        elif isinstance(effect, HostCommand) and effect.command == "cancel_log_upload":
            scope = self._attempts.pop(effect.params["upload"], None)
            if scope is not None:
                log.info("log upload %d cancelled by a new GetLog", effect.params["upload"])
                scope.cancel()
        else:
            await super().perform(effect)

    def _start_attempt(
        self,
        *,
        upload: int,
        log_type: str,
        location: str,
        file_name: str,
        path: str | None,
    ) -> None:
        port = self.ctx.host.diagnostics
        assert port is not None
        scope = trio.CancelScope()
        self._attempts[upload] = scope

        async def run() -> None:
            with scope:
                if path is None:  # the host's file (a DiagnosticsLog)
                    upload_coro = port.upload_diagnostics(location, file_name)
                else:  # the engine's (a SecurityLog)
                    upload_coro = port.upload_log_file(location, Path(path))
                result = await self.ctx.call_host(f"upload the {log_type}", upload_coro)
                failure = attempt_outcome(result)
                if failure is None:
                    await self.inbox.send(log_events.UploadSucceeded(upload=upload))
                else:
                    log.warning("log upload %d: the host could not upload (%s)", upload, failure)
                    await self.inbox.send(log_events.UploadFailed(upload=upload, status=failure))
            if self._attempts.get(upload) is scope:
                del self._attempts[upload]

        assert self._nursery is not None
        self._nursery.start_soon(run, name=f"log upload {upload}")


async def _run_work(work: Callable[[], Awaitable[None]]) -> None:
    await work()
