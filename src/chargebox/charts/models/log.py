"""Model of statecharts/log.yaml: the log upload GetLog asks for (security whitepaper N01).

One attempt plus `retries` more, `retry_interval` seconds apart, with the
defaults of every transfer (chargebox.charts.models.transfer). Uploads are
numbered (`upload`) so that the outcome of an attempt of a cancelled upload,
which may still come back, is told apart from the current one's.
`reported_status` gives the status an ExtendedTriggerMessage
(LogStatusNotification) reports."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from chargebox.charts.effects import CancelTimer, HostCommand, Reply, SendRequest
from chargebox.charts.models.transfer import RETRY, TransferModel

#: UploadLogStatusEnumType values that say why an upload failed (N01.FR.10).
FAILURES = frozenset({"UploadFailure", "BadMessage", "PermissionDenied", "NotSupportedOperation"})


class LogModel(TransferModel):
    """The station's one log upload procedure."""

    __slots__ = (
        "failure",
        "file_name",
        "log_type",
        "path",
        "replaced_by",
        "request_id",
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
        self.file_name: str | None = None
        #: the file the engine wrote (a SecurityLog), None for a file of the host's
        self.path: str | None = None
        #: the number of the current upload (uploads are counted from 1)
        self.upload = 0
        #: the number of the upload that cancelled another one (the last to do so)
        self.replaced_by: int | None = None
        #: why the last attempt failed (an UploadLogStatus)
        self.failure = "UploadFailure"

    @classmethod
    def example(cls) -> Self:
        return cls()

    def _status(self, status: str) -> None:
        self.record(
            SendRequest("LogStatusNotification", {"status": status, "request_id": self.request_id})
        )

    # -- guards ---------------------------------------------------------------------------

    def current_upload(self, *, upload: int, **_event: Any) -> bool:
        """The outcome belongs to the upload in progress, not to one a GetLog cancelled."""
        return upload == self.upload

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
        self._remember_attempts(retries, retry_interval)
        self.failure = "UploadFailure"
        self.upload += 1
        # GetLog's answer: AcceptedCanceled when this upload cancelled one in progress
        cancelled = self.replaced_by is not None and self.replaced_by == self.upload
        self.record(Reply("AcceptedCanceled" if cancelled else "Accepted"))
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

    def report_uploaded(self, **_event: Any) -> None:
        self._status("Uploaded")

    def report_upload_failed(self, **_event: Any) -> None:
        self._status(self.failure)
