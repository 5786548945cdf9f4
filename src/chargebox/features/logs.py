"""Security whitepaper N01: GetLog and its LogStatusNotifications (statecharts/log.yaml, run
by chargebox.actors.transfer.LogActor).

The file to upload comes before the answer:

- DiagnosticsLog: the host's diagnostics port prepares it for the period
  (`DiagnosticsPort.diagnostics_file`, as for GetDiagnostics) and uploads it
  by name (`upload_diagnostics`).
- SecurityLog: the engine writes the entries of the message log's security
  file (and its rotated predecessors) of the period into a file of its own,
  which the port uploads by path (`DiagnosticsPort.upload_log_file`). The file
  lives in a temporary folder, deleted when the next one is written and when
  the station stops.

No file (no port, no log of that kind, nothing in the period): Rejected, no
filename (N01.FR.01). Otherwise Accepted, or AcceptedCanceled when an upload
was in progress: that one is cancelled (its attempt is cancelled, its retries
dropped, N01.FR.11). The actor runs each attempt in a task of its own and
sends the notifications in order, each with the GetLog's requestId (N01.FR.07).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import trio

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.charts.addresses import Address
from chargebox.charts.events.log import LogRequested
from chargebox.features import Handler, Service
from chargebox.ocpp import v16
from chargebox.ocpp.timestamps import parse_datetime
from chargebox.ocpp.v16 import LogEnumType, LogStatusEnumType

log = logging.getLogger(__name__)

#: GetLog.conf filename is a string[0..255]
MAX_FILE_NAME = 255


class Logs:
    def __init__(self, ctx: StationContext, actors: Actors) -> None:
        self.ctx = ctx
        self.actors = actors
        self.actor = actors.log
        #: where the SecurityLog extracts are written (made on first use)
        self._folder: Path | None = None

    def handlers(self) -> dict[str, Handler]:
        return {"GetLog": self.get_log}

    def services(self) -> list[Service]:
        # keep_files runs from the first extract on: a station that made none has no task
        return []

    def status(self) -> tuple[str, int | None]:
        """(UploadLogStatus, requestId) an ExtendedTriggerMessage(LogStatusNotification)
        reports now: Idle without a requestId (N01.FR.12), or Uploading with the upload's."""
        model = self.actor.model
        status = model.reported_status()
        return status, None if status == "Idle" else model.request_id

    async def keep_files(self) -> None:
        """Runs with the station from the first extract on; deletes the SecurityLog
        extracts when it stops."""
        try:
            await trio.sleep_forever()
        finally:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)

    async def get_log(self, req: v16.GetLogRequest) -> Any:
        port = self.ctx.host.diagnostics
        log_type = LogEnumType(str(req.log_type))
        oldest, latest = req.log.oldest_timestamp, req.log.latest_timestamp
        file_name: str | None = None
        path: Path | None = None
        if port is None:
            log.info("GetLog %s, but the host has no diagnostics port: Rejected", log_type)
        elif log_type is LogEnumType.DiagnosticsLog:
            name = await self.ctx.call_host(
                "prepare the diagnostics", port.diagnostics_file(oldest, latest)
            )
            file_name = str(name) if name else None
        elif getattr(port, "upload_log_file", None) is None:
            log.info("GetLog SecurityLog, but the diagnostics port cannot upload a file: Rejected")
        else:
            path = await self._security_log(req.request_id, oldest, latest)
            file_name = path.name if path is not None else None
        if file_name is None:
            return v16.GetLogResponse(status=LogStatusEnumType.Rejected)
        answer = await self.actors.ask(
            Address.log(),
            LogRequested(
                log_type=str(log_type),
                request_id=req.request_id,
                location=req.log.remote_location,
                file_name=file_name,
                path=None if path is None else str(path),
                retries=req.retries,
                retry_interval=req.retry_interval,
            ),
        )
        if len(file_name) > MAX_FILE_NAME:
            log.warning("the log file name is cut to %d characters", MAX_FILE_NAME)
        # the chart's Reply: AcceptedCanceled when the upload cancelled one in progress
        status = LogStatusEnumType(answer.reply or LogStatusEnumType.Accepted)
        return v16.GetLogResponse(status=status, filename=file_name[:MAX_FILE_NAME])

    async def _security_log(
        self, request_id: int, oldest: datetime | None, latest: datetime | None
    ) -> Path | None:
        """The security events of the period in a file of their own, or None when none."""
        message_log = self.ctx.message_log
        source = None if message_log is None else message_log.paths.get("security")
        if source is None:
            log.info("GetLog SecurityLog: LogMessagesFormat has no security log")
            return None
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="chargebox-logs-"))
            self.ctx.nursery.start_soon(self.keep_files)
        target = self._folder / f"{source.stem}-{request_id}{source.suffix}"
        # synchronously, like the message log's own writes: security events are few and the
        # files small, and a worker thread would let a test's mock clock run ahead meanwhile
        found = _extract_security_log(source, target, oldest, latest)
        return target if found else None


def _extract_security_log(
    source: Path, target: Path, oldest: datetime | None, latest: datetime | None
) -> int:
    """Write the lines of `source` and its rotated files within [oldest, latest] to
    `target`, in the order they were logged; once there is one, delete older extracts (a
    GetLog with nothing to upload is Rejected and leaves the upload under way its file).
    Returns how many lines."""
    # rotated files are <stem>.<number or date><suffix> beside the current one, older
    # than it; the lines keep their order (the clock may have been set in between)
    rotated = sorted(
        source.parent.glob(f"{source.stem}.*{source.suffix}"), key=lambda p: p.stat().st_mtime
    )
    kept: list[bytes] = []
    for path in [*rotated, source]:
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                when = parse_datetime(orjson.loads(line)["timestamp"])
            except (ValueError, KeyError, TypeError):
                continue
            if (oldest is None or when >= oldest) and (latest is None or when <= latest):
                kept.append(line)
    if kept:
        for old in target.parent.iterdir():
            if old != target:
                old.unlink(missing_ok=True)
        target.write_bytes(b"".join(line + b"\n" for line in kept))
    return len(kept)
