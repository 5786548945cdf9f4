"""The events of statecharts/diagnostics.yaml: the upload GetDiagnostics asks for."""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class DiagnosticsEvent(ChartEvent):
    """An event of the diagnostics upload's chart."""

    chart: ClassVar[str] = "diagnostics"


@attrs.frozen(kw_only=True)
class UploadRequested(DiagnosticsEvent):
    """GetDiagnostics was answered with the file's name."""

    trigger: ClassVar[str] = "upload_requested"
    #: the URI (directory) to upload to
    location: str
    #: the file the host prepared
    file_name: str
    retries: int | None = None
    retry_interval: int | None = None


@attrs.frozen(kw_only=True)
class UploadSucceeded(DiagnosticsEvent):
    """The host uploaded the file."""

    trigger: ClassVar[str] = "upload_succeeded"


@attrs.frozen(kw_only=True)
class UploadFailed(DiagnosticsEvent):
    """The host could not upload the file."""

    trigger: ClassVar[str] = "upload_failed"


@attrs.frozen(kw_only=True)
class RetryDue(DiagnosticsEvent):
    """Timer: time for the next upload attempt."""

    trigger: ClassVar[str] = "retry_due"
