"""Models of statecharts/firmware.yaml (UpdateFirmware) and diagnostics.yaml (GetDiagnostics).

Both procedures retry a transfer the host performs (chargebox.charts.models.transfer:
one attempt plus `retries` more, `retry_interval` seconds apart). The
statuses they report are FirmwareStatus and DiagnosticsStatus (spec 7.24,
7.25); `reported_status` gives the one a TriggerMessage asks for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import attrs

from chargebox.charts.effects import (
    CancelTimer,
    Effect,
    HoldConnectors,
    HostCommand,
    RaiseSecurityEvent,
    Reply,
    SendRequest,
    StartTimer,
)
from chargebox.charts.models.transfer import (
    RETRY,
    TransferModel,
)

RETRIEVE_DATE = "retrieve_date_reached"
INSTALL_DATE = "install_date_reached"


@attrs.frozen
class VerifyFirmwareSignature(Effect):
    """Check the downloaded file against `signature` (base64) with `signing_certificate` (PEM).

    The owner answers with the trigger signature_verified or signature_invalid.
    """

    signing_certificate: str
    signature: str


@attrs.frozen
class CancelFirmwareTransfer(Effect):
    """Abandon the download or installation under way and the wait for transactions."""


#: The statuses FirmwareStatusNotification (OCPP 1.6, 7.25) has; a plain UpdateFirmware
#: leaves out the others (InstallRebooting...), which only SignedFirmwareStatusNotification has.
FIRMWARE_STATUS = frozenset(
    {"Downloaded", "DownloadFailed", "Downloading", "Idle", "InstallationFailed", "Installing"}
    | {"Installed"}
)


class FirmwareModel(TransferModel):
    """The station's one firmware update procedure (UpdateFirmware or SignedUpdateFirmware)."""

    __slots__ = (
        "firmware_port",
        "held",
        "install_date",
        "last_status",
        "request_id",
        "retrieve_date",
        "signature",
        "signed",
        "signing_certificate",
        "transactions_running",
    )
    chart_name = "firmware"

    REPORTED: ClassVar[dict[str, str]] = {
        "Idle": "Idle",
        # waiting to be allowed to download is not yet downloading (spec 4.5: Idle)
        "WaitingForRetrieveDate": "Idle",
        "Downloading": "Downloading",
        "DownloadRetryWait": "Downloading",
        "Verifying": "Downloaded",
        "WaitingForInstallDate": "Downloaded",
        "WaitingForTransactions": "Downloaded",
        "Installing": "Installing",
        # Installed only once the new firmware has booted and registered
        "Rebooting": "Installing",
    }

    #: the data kept in the store while a procedure runs (chargebox.actors.firmware)
    PERSISTED: ClassVar[tuple[str, ...]] = (
        "state",
        "location",
        "retries",
        "retry_interval",
        "attempt",
        "retrieve_date",
        "signed",
        "request_id",
        "install_date",
        "signing_certificate",
        "signature",
        "last_status",
    )

    def __init__(
        self,
        *,
        firmware_port: bool = True,
        transactions_running: bool = False,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        #: The host offers a firmware port; without one a download cannot happen.
        self.firmware_port = firmware_port
        #: A transaction runs or waits to start on some connector (the station says so).
        self.transactions_running = transactions_running
        self.retrieve_date: datetime | None = None
        #: a SignedUpdateFirmware (security whitepaper L01) rather than an UpdateFirmware
        self.signed = False
        self.request_id: int | None = None
        self.install_date: datetime | None = None
        self.signing_certificate: str | None = None
        self.signature: str | None = None
        #: the connectors are held out of service for the installation
        self.held = False
        #: the status of the last notification of the procedure (ExtendedTriggerMessage)
        self.last_status: str | None = None

    @classmethod
    def example(cls) -> Self:
        return cls()

    def _status(self, status: str) -> None:
        self.last_status = status
        if self.signed:
            payload: dict[str, Any] = {"status": status, "request_id": self.request_id}
            self.record(SendRequest("SignedFirmwareStatusNotification", payload))
        elif status in FIRMWARE_STATUS:
            self.record(SendRequest("FirmwareStatusNotification", {"status": status}))

    @property
    def rebooting(self) -> bool:
        """The station restarts into the new firmware (Rebooting): Installed is reported
        once the new firmware has registered."""
        return self.state == "Rebooting"

    def signed_status(self) -> tuple[str, int | None]:
        """(status, requestId) an ExtendedTriggerMessage reports (L01.FR.28, L01.FR.29)."""
        if self.last_status is None or self.last_status == "Installed":
            return "Idle", None
        return self.last_status, self.request_id

    # -- guards ---------------------------------------------------------------------------

    def none_running(self, *, running: bool, **_event: Any) -> bool:
        """The station says no transaction runs or waits to start any more."""
        return not running

    def install_scheduled(self, *, now: datetime | None = None, **_event: Any) -> bool:
        """A signed update gave an installDateTime still to come (L01.FR.16: a future one;
        one already past is not waited for, nor reported InstallScheduled)."""
        return self.install_date is not None and (now is None or self.install_date > now)

    # -- actions --------------------------------------------------------------------------

    def remember_update(
        self,
        *,
        location: str,
        retrieve_date: datetime,
        retries: int | None = None,
        retry_interval: int | None = None,
        signed: bool = False,
        request_id: int | None = None,
        install_date: datetime | None = None,
        signing_certificate: str | None = None,
        signature: str | None = None,
        **_event: Any,
    ) -> None:
        for name, moment in (("retrieveDate", retrieve_date), ("installDateTime", install_date)):
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} {moment.isoformat()} must carry a time zone")
        # SignedUpdateFirmware's answer: an update under way is cancelled (L01.FR.26)
        self.record(Reply("Accepted" if self.idle else "AcceptedCanceled"))
        self.location = location
        self.retrieve_date = retrieve_date.astimezone(UTC)
        self._remember_attempts(retries, retry_interval)
        self.signed = signed
        self.request_id = request_id
        self.install_date = install_date.astimezone(UTC) if install_date else None
        self.signing_certificate = signing_certificate
        self.signature = signature
        self.last_status = None

    def cancel_update(self, **_event: Any) -> None:
        """The update under way stops: its transfer, its timers, the hold on the connectors."""
        self.record(CancelFirmwareTransfer())
        self.disarm_timers()
        self.release_connectors()

    def disarm_timers(self, **_event: Any) -> None:
        self.record(CancelTimer(RETRY))
        self.record(CancelTimer(INSTALL_DATE))

    def report_download_scheduled(self, *, scheduled: bool = False, **_event: Any) -> None:
        if scheduled and self.signed:
            self._status("DownloadScheduled")

    def arm_retrieve_date(self, **_event: Any) -> None:
        assert self.retrieve_date is not None
        self.record(StartTimer(RETRIEVE_DATE, at=self.retrieve_date))

    def start_download(self, **_event: Any) -> None:
        self._status("Downloading")
        self._download()

    def retry_download(self, **_event: Any) -> None:
        self._download()

    def _download(self) -> None:
        self.attempt += 1
        self.record(HostCommand("download_firmware", 0, {"location": self.location}))

    def report_download_failed(self, **_event: Any) -> None:
        self._status("DownloadFailed")

    def report_downloaded(self, **_event: Any) -> None:
        self._status("Downloaded")

    def verify_signature(self, **_event: Any) -> None:
        self.record(VerifyFirmwareSignature(self.signing_certificate or "", self.signature or ""))

    def report_signature_verified(self, **_event: Any) -> None:
        self._status("SignatureVerified")

    def report_invalid_signature(self, *, reason: str | None = None, **_event: Any) -> None:
        self._status("InvalidSignature")
        self.record(RaiseSecurityEvent("InvalidFirmwareSignature", reason))

    def report_install_scheduled(self, **_event: Any) -> None:
        self._status("InstallScheduled")

    def arm_install_date(self, **_event: Any) -> None:
        assert self.install_date is not None
        self.record(StartTimer(INSTALL_DATE, at=self.install_date))

    def hold_connectors(self, **_event: Any) -> None:
        """No new transaction may start before the installation (errata 3.49, L01.FR.07)."""
        self.held = True
        self.record(HoldConnectors(held=True))

    def note_transactions(self, *, running: bool, **_event: Any) -> None:
        """What the station said: a transaction runs, or waits to start, somewhere."""
        self.transactions_running = running

    def start_install(self, **_event: Any) -> None:
        self._status("Installing")
        self.record(HostCommand("install_firmware", 0))

    def report_install_rebooting(self, **_event: Any) -> None:
        self._status("InstallRebooting")

    def reboot(self, **_event: Any) -> None:
        """The station restarts into the new firmware (after the notifications before it)."""
        self.held = False  # the hold ends with the reboot
        self.record(HostCommand("reset", 0, {"kind": "Hard"}))

    def report_installed(self, **_event: Any) -> None:
        self._status("Installed")
        self.record(RaiseSecurityEvent("FirmwareUpdated", self.location))

    def report_installation_failed(self, **_event: Any) -> None:
        self._status("InstallationFailed")

    def release_connectors(self, **_event: Any) -> None:
        if self.held:
            self.held = False
            self.record(HoldConnectors(held=False))


class DiagnosticsModel(TransferModel):
    """The station's one diagnostics upload procedure."""

    __slots__ = ("file_name",)
    chart_name = "diagnostics"

    REPORTED: ClassVar[dict[str, str]] = {
        "Idle": "Idle",
        "Uploading": "Uploading",
        "UploadRetryWait": "Uploading",
    }

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(state=state)
        self.file_name: str | None = None

    @classmethod
    def example(cls) -> Self:
        return cls()

    def _status(self, status: str) -> None:
        self.record(SendRequest("DiagnosticsStatusNotification", {"status": status}))

    # -- actions --------------------------------------------------------------------------

    def start_upload(
        self,
        *,
        location: str,
        file_name: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_event: Any,
    ) -> None:
        self.location = location
        self.file_name = file_name
        self._remember_attempts(retries, retry_interval)
        self._status("Uploading")
        self._upload()

    def retry_upload(self, **_event: Any) -> None:
        self._upload()

    def _upload(self) -> None:
        self.attempt += 1
        self.record(
            HostCommand(
                "upload_diagnostics", 0, {"location": self.location, "file_name": self.file_name}
            )
        )

    def report_uploaded(self, **_event: Any) -> None:
        self._status("Uploaded")

    def report_upload_failed(self, **_event: Any) -> None:
        self._status("UploadFailed")
