"""FirmwareManagement profile, diagnostics half: GetDiagnostics (statecharts/diagnostics.yaml).

The host's diagnostics port prepares the file of the requested period; its
name is the answer (none: no fileName, and nothing is uploaded, spec 5.9).
The actor then has the port upload it to the location, with the request's
retries and retryInterval, and sends the DiagnosticsStatusNotifications in
order. One upload runs at a time: a GetDiagnostics while one is in progress
is answered without a fileName.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chargebox.charts.effects import Effect, HostCommand, SendRequest, Trigger
from chargebox.charts.models import DiagnosticsModel
from chargebox.features.transfer import TransferActor
from chargebox.ocpp import v16

if TYPE_CHECKING:
    from chargebox.station.station import Station

log = logging.getLogger(__name__)

#: GetDiagnostics.conf fileName is a CiString255Type
MAX_FILE_NAME = 255


def install(station: Station) -> None:
    diagnostics = Diagnostics(station)
    station.diagnostics = diagnostics  # type: ignore[attr-defined]
    station.handlers["GetDiagnostics"] = diagnostics.get_diagnostics


class DiagnosticsActor(TransferActor[DiagnosticsModel]):
    def __init__(self, station: Station) -> None:
        super().__init__(station, "diagnostics", DiagnosticsModel())

    async def perform(self, effect: Effect) -> None:
        port = self.station.host.diagnostics
        if isinstance(effect, SendRequest):
            self.notify(effect)
        elif isinstance(effect, HostCommand) and effect.command == "upload_diagnostics":
            assert port is not None
            location, file_name = effect.params["location"], effect.params["file_name"]

            async def upload() -> bool:
                # a LogUploadFailure (a str) says why it failed: for GetDiagnostics, UploadFailed
                return await port.upload_diagnostics(location, file_name) is True

            self.attempt("upload the diagnostics", upload, "upload_succeeded", "upload_failed")
        else:
            await super().perform(effect)


class Diagnostics:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.actor = DiagnosticsActor(station)
        station.extra_actors.append(self.actor)

    def status(self) -> str:
        """The DiagnosticsStatus a TriggerMessage(DiagnosticsStatusNotification) reports now."""
        return self.actor.model.reported_status()

    async def get_diagnostics(self, req: v16.GetDiagnosticsRequest) -> Any:
        st = self.station
        port = st.host.diagnostics
        if port is None:
            log.info("GetDiagnostics, but the host has no diagnostics port: no file")
            return v16.GetDiagnosticsResponse()
        if self.actor.model.state != "Idle":
            log.warning("GetDiagnostics while an upload is in progress: no second upload")
            return v16.GetDiagnosticsResponse()
        file_name = await st.ctx.call_host(
            "prepare the diagnostics", port.diagnostics_file(req.start_time, req.stop_time)
        )
        if not file_name:
            return v16.GetDiagnosticsResponse()
        file_name = str(file_name)
        if len(file_name) > MAX_FILE_NAME:
            # the host still uploads (and names) its file; only the answer is shortened
            log.warning("the diagnostics file name is cut to %d characters", MAX_FILE_NAME)
        await st.deliver(
            self.actor.address,
            Trigger(
                "upload_requested",
                {
                    "location": req.location,
                    "file_name": file_name,
                    "retries": req.retries,
                    "retry_interval": req.retry_interval,
                },
            ),
        )
        return v16.GetDiagnosticsResponse(file_name=file_name[:MAX_FILE_NAME])
