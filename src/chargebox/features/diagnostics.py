"""FirmwareManagement profile, diagnostics half: GetDiagnostics (statecharts/diagnostics.yaml,
run by chargebox.actors.transfer.DiagnosticsActor).

The host's diagnostics port prepares the file of the requested period; its
name is the answer (none: no fileName, and nothing is uploaded, spec 5.9).
The actor then has the port upload it to the location, with the request's
retries and retryInterval, and sends the DiagnosticsStatusNotifications in
order. One upload runs at a time: a GetDiagnostics while one is in progress
is answered without a fileName.
"""

from __future__ import annotations

import logging
from typing import Any

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.charts.addresses import Address
from chargebox.charts.events.diagnostics import UploadRequested
from chargebox.features import Handler
from chargebox.ocpp import v16

log = logging.getLogger(__name__)

#: GetDiagnostics.conf fileName is a CiString255Type
MAX_FILE_NAME = 255


class Diagnostics:
    def __init__(self, ctx: StationContext, actors: Actors) -> None:
        self.ctx = ctx
        self.actors = actors
        self.actor = actors.diagnostics

    def handlers(self) -> dict[str, Handler]:
        return {"GetDiagnostics": self.get_diagnostics}

    def status(self) -> str:
        """The DiagnosticsStatus a TriggerMessage(DiagnosticsStatusNotification) reports now."""
        return self.actor.model.reported_status()

    async def get_diagnostics(self, req: v16.GetDiagnosticsRequest) -> Any:
        actors = self.actors
        port = self.ctx.host.diagnostics
        if port is None:
            log.info("GetDiagnostics, but the host has no diagnostics port: no file")
            return v16.GetDiagnosticsResponse()
        if not self.actor.model.idle:
            log.warning("GetDiagnostics while an upload is in progress: no second upload")
            return v16.GetDiagnosticsResponse()
        file_name = await self.ctx.call_host(
            "prepare the diagnostics", port.diagnostics_file(req.start_time, req.stop_time)
        )
        if not file_name:
            return v16.GetDiagnosticsResponse()
        file_name = str(file_name)
        if len(file_name) > MAX_FILE_NAME:
            # the host still uploads (and names) its file; only the answer is shortened
            log.warning("the diagnostics file name is cut to %d characters", MAX_FILE_NAME)
        await actors.deliver(
            Address.diagnostics(),
            UploadRequested(
                location=req.location,
                file_name=file_name,
                retries=req.retries,
                retry_interval=req.retry_interval,
            ),
        )
        return v16.GetDiagnosticsResponse(file_name=file_name[:MAX_FILE_NAME])
