"""Model of statecharts/log.yaml: the log upload GetLog asks for (security whitepaper N01).

One attempt plus `retries` more, `retry_interval` seconds apart (defaults when
GetLog leaves them out: DEFAULT_RETRIES and DEFAULT_RETRY_INTERVAL, the same as
for GetDiagnostics). Uploads are numbered (`upload`) so that the outcome of an
attempt of a cancelled upload, which may still come back, is told apart from
the current one's. `reported_status` gives what an ExtendedTriggerMessage
(LogStatusNotification) reports.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from chargebox.charts.effects import CancelTimer, HostCommand, SendRequest, StartTimer
from chargebox.charts.model import ChartModel

#: Retries of a failed upload when GetLog gives none.
DEFAULT_RETRIES = 1
#: Seconds between upload attempts when GetLog gives none.
DEFAULT_RETRY_INTERVAL = 60

RETRY = "retry_due"

#: UploadLogStatusEnumType values that say why an upload failed (N01.FR.10).
FAILURES = frozenset({"UploadFailure", "BadMessage", "PermissionDenied", "NotSupportedOperation"})


class LogModel(ChartModel):
    """The station's one log upload procedure."""

    __slots__ = (
        "attempt",
        "failure",
        "file_name",
        "location",
        "log_type",
        "path",
        "replaced_by",
        "request_id",
        "retries",
        "retry_interval",
        "upload",
    )
    chart_name = "log"

    #: State -> the UploadLogStatus an ExtendedTriggerMessage reports.
    REPORTED: ClassVar[dict[str, str]] = {
        "Idle": "Idle",
        "Uploading": "Uploading",
        "UploadRetryWait": "Uploading",
    }

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(state=state)
        self.log_type: str | None = None
        self.request_id: int | None = None
        self.location: str | None = None
        self.file_name: str | None = None
        #: the file the engine wrote (a SecurityLog), None for a file of the host's
        self.path: str | None = None
        self.retries = DEFAULT_RETRIES
        self.retry_interval = DEFAULT_RETRY_INTERVAL
        #: attempts made at the current upload (the first is 1)
        self.attempt = 0
        #: the number of the current upload (uploads are counted from 1)
        self.upload = 0
        #: the number of the upload that cancelled another one (the last to do so)
        self.replaced_by: int | None = None
        #: why the last attempt failed (an UploadLogStatus)
        self.failure = "UploadFailure"

    @classmethod
    def example(cls) -> Self:
        return cls()

    def reported_status(self) -> tuple[str, int | None]:
        """(status, requestId) of a triggered LogStatusNotification: no requestId when Idle
        (N01.FR.12)."""
        status = self.REPORTED[self.state]
        return status, None if status == "Idle" else self.request_id

    def _status(self, status: str) -> None:
        self.record(
            SendRequest("LogStatusNotification", {"status": status, "request_id": self.request_id})
        )

    # -- guards ---------------------------------------------------------------------------

    def current_upload(self, *, upload: int, **_event: Any) -> bool:
        """The outcome belongs to the upload in progress, not to one a GetLog cancelled."""
        return upload == self.upload

    def attempts_left(self, **_event: Any) -> bool:
        """Another attempt is allowed: one plus `retries` in all."""
        return self.attempt < 1 + self.retries

    # -- actions --------------------------------------------------------------------------

    def start_upload(
        self,
        *,
        log_type: str,
        request_id: int,
        location: str,
        file_name: str,
        path: str | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_event: Any,
    ) -> None:
        self.log_type = log_type
        self.request_id = request_id
        self.location = location
        self.file_name = file_name
        self.path = path
        self.retries = DEFAULT_RETRIES if retries is None else max(retries, 0)
        self.retry_interval = (
            DEFAULT_RETRY_INTERVAL if retry_interval is None else max(retry_interval, 0)
        )
        self.attempt = 0
        self.failure = "UploadFailure"
        self.upload += 1
        self._status("Uploading")
        self._attempt()

    def cancel_upload(self, **_event: Any) -> None:
        """Stop the upload in progress: its running attempt and its retry timer."""
        self.record(CancelTimer(RETRY))
        self.record(HostCommand("cancel_log_upload", 0, {"upload": self.upload}))
        self.replaced_by = self.upload + 1

    def retry_upload(self, **_event: Any) -> None:
        self._attempt()

    def _attempt(self) -> None:
        self.attempt += 1
        self.record(
            HostCommand(
                "upload_log",
                0,
                {
                    "upload": self.upload,
                    "log_type": self.log_type,
                    "location": self.location,
                    "file_name": self.file_name,
                    "path": self.path,
                },
            )
        )

    def note_failure(self, *, status: str = "UploadFailure", **_event: Any) -> None:
        self.failure = status if status in FAILURES else "UploadFailure"

    def arm_retry(self, **_event: Any) -> None:
        self.record(StartTimer(RETRY, seconds=self.retry_interval))

    def report_uploaded(self, **_event: Any) -> None:
        self._status("Uploaded")

    def report_upload_failed(self, **_event: Any) -> None:
        self._status(self.failure)
