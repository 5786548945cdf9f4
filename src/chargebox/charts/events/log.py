"""The events of statecharts/log.yaml: the upload GetLog asks for."""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class LogEvent(ChartEvent):
    """An event of the log upload's chart."""

    chart: ClassVar[str] = "log"


@attrs.frozen(kw_only=True)
class LogRequested(LogEvent):
    """GetLog was answered Accepted or AcceptedCanceled with the file's name."""

    trigger: ClassVar[str] = "log_requested"
    #: DiagnosticsLog or SecurityLog
    log_type: str
    #: GetLog's requestId, carried by every LogStatusNotification
    request_id: int
    #: the URL to upload to (log.remoteLocation)
    location: str
    #: the name of the log file (the answer's filename)
    file_name: str
    #: the file the engine wrote (the SecurityLog), or None for a host file
    path: str | None = None
    retries: int | None = None
    retry_interval: int | None = None


@attrs.frozen(kw_only=True)
class UploadSucceeded(LogEvent):
    """An upload attempt succeeded."""

    trigger: ClassVar[str] = "upload_succeeded"
    #: which upload the attempt belonged to
    upload: int


@attrs.frozen(kw_only=True)
class UploadFailed(LogEvent):
    """An upload attempt failed."""

    trigger: ClassVar[str] = "upload_failed"
    upload: int
    #: UploadFailure, BadMessage, PermissionDenied or NotSupportedOperation
    status: str


@attrs.frozen(kw_only=True)
class RetryDue(LogEvent):
    """Timer: time for the next upload attempt."""

    trigger: ClassVar[str] = "retry_due"
