"""Firmware and diagnostics of the simulated station: real downloads and uploads.

`UpdateFirmware` and `GetDiagnostics` name a location (a URI) the station
fetches from or sends to. The simulator does the transfers for real, with the
standard library, in a worker thread (trio.to_thread) so the engine never
blocks on the network:

- download: `http://`, `https://` and `ftp://` through urllib, into
  `<data dir>/firmware/`; other schemes (`file://` above all: a Central System
  must not read the station's files) are refused.
- signed updates: the engine checks the downloaded file (`firmware_file`)
  against the signature before it asks for the install.
- install: the downloaded file's name (without its directory, at most 50
  characters: BootNotification's firmwareVersion) becomes the new
  FirmwareVersion. It is written to `<data dir>/firmware/installed.json`; the
  simulator applies it to `Internal.FirmwareVersion` of the configuration it
  loads, so the station that restarts after the install boots with it.
- diagnostics: a zip of the message logs (already free of secrets) and of the
  simulator's state, in `<data dir>/diagnostics/`.
- upload: HTTP(S) PUT of the zip to the location, or FTP STOR (ftplib) for
  `ftp://` locations, the protocol most Central Systems offer.
- GetLog's SecurityLog: the file the engine wrote, uploaded the same way
  (`upload_log_file`), with the reason of a failure: PermissionDenied (HTTP
  401/403, FTP 530), NotSupportedOperation (a scheme it cannot use, HTTP 405
  or 501), BadMessage (an answer that is not HTTP or FTP), else UploadFailure.
"""

from __future__ import annotations

import ftplib
import http.client
import json
import logging
import os
import posixpath
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import trio

from chargebox.config.overlay import write_json_atomic
from chargebox.host import LogUploadFailure, UploadResult

log = logging.getLogger(__name__)

#: seconds one transfer may take (real time, whatever the simulation speed)
TRANSFER_TIMEOUT = 60.0
#: a firmware image larger than this is refused (it would only fill the disk)
MAX_FIRMWARE_BYTES = 256 * 1024 * 1024
DOWNLOAD_SCHEMES = ("http", "https", "ftp")
UPLOAD_SCHEMES = ("http", "https", "ftp")
INSTALLED = "installed.json"


class TransferError(Exception):
    """A transfer that cannot be done (bad location, refused, too large); `reason` says why
    in GetLog's terms."""

    def __init__(self, message: str, reason: LogUploadFailure = LogUploadFailure.UploadFailure):
        super().__init__(message)
        self.reason = reason


def installed_firmware_version(data_dir: Path) -> str | None:
    """The FirmwareVersion the last successful install recorded, if any."""
    path = data_dir / "firmware" / INSTALLED
    try:
        return str(json.loads(path.read_text())["FirmwareVersion"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Firmware:
    """FirmwarePort: download UpdateFirmware's image, install it, remember the version."""

    def __init__(self, data_dir: Path, *, timeout: float = TRANSFER_TIMEOUT) -> None:
        self.folder = data_dir / "firmware"
        self.timeout = timeout
        self.downloaded: Path | None = None
        #: every attempt: (location, outcome), for the simulator's output and tests
        self.attempts: list[tuple[str, str]] = []

    async def download_firmware(self, location: str) -> bool:
        try:
            path = await trio.to_thread.run_sync(self._download, location)
        except (TransferError, OSError, ValueError) as e:
            log.warning("firmware download from %s failed: %s", _safe_url(location), e)
            self.attempts.append((location, f"failed: {e}"))
            return False
        self.downloaded = path
        self.attempts.append((location, "downloaded"))
        log.info("firmware downloaded from %s to %s", _safe_url(location), path)
        return True

    def _download(self, location: str) -> Path:
        parts = urlsplit(location)
        if parts.scheme.lower() not in DOWNLOAD_SCHEMES:
            raise TransferError(
                f"scheme {parts.scheme or '(none)'!r} is not supported "
                f"(use {', '.join(DOWNLOAD_SCHEMES)})"
            )
        name = posixpath.basename(unquote(parts.path)) or "firmware.bin"
        name = "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in name).lstrip(".")
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / (name or "firmware.bin")
        partial = target.with_name(target.name + ".part")
        with urllib.request.urlopen(location, timeout=self.timeout) as answer:
            size = 0
            with partial.open("wb") as out:
                while chunk := answer.read(64 * 1024):
                    size += len(chunk)
                    if size > MAX_FIRMWARE_BYTES:
                        raise TransferError(f"larger than {MAX_FIRMWARE_BYTES} bytes")
                    out.write(chunk)
        os.replace(partial, target)
        return target

    async def firmware_file(self) -> Path | None:
        """The downloaded image, for the engine's signature check of a signed update."""
        return self.downloaded

    async def install_firmware(self) -> bool:
        image = self.downloaded
        if image is None or not image.exists():
            log.warning("firmware install asked, but nothing was downloaded")
            return False
        version = image.name[:50]
        write_json_atomic(
            self.folder / INSTALLED,
            {
                "FirmwareVersion": version,
                "file": image.name,
                "installed": datetime.now(UTC).isoformat(),
            },
        )
        log.info("firmware %s installed; the next start reports FirmwareVersion %s", image, version)
        return True


class Diagnostics:
    """DiagnosticsPort: the message logs and the simulator's state zipped, sent by PUT or FTP."""

    def __init__(
        self,
        data_dir: Path,
        charge_point_id: str,
        sources: list[Path],
        *,
        timeout: float = TRANSFER_TIMEOUT,
    ) -> None:
        self.folder = data_dir / "diagnostics"
        self.charge_point_id = charge_point_id
        #: files and folders to include (message logs, simulator state); secrets never
        self.sources = sources
        self.timeout = timeout
        self.uploads: list[tuple[str, str]] = []

    async def diagnostics_file(
        self, start_time: datetime | None, stop_time: datetime | None
    ) -> str | None:
        return await trio.to_thread.run_sync(self._make_zip, start_time, stop_time)

    def _make_zip(self, start_time: datetime | None, stop_time: datetime | None) -> str | None:
        files: list[tuple[Path, str]] = []
        for source in self.sources:
            if source.is_file():
                files.append((source, source.name))
            elif source.is_dir():
                for path in sorted(source.rglob("*")):
                    if path.is_file() and _modified_since(path, start_time):
                        files.append((path, f"{source.name}/{path.relative_to(source)}"))
        if not files:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        safe_id = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.charge_point_id)
        name = f"diagnostics-{safe_id}-{stamp}.zip"
        period = {
            "chargePointId": self.charge_point_id,
            "startTime": start_time.isoformat() if start_time else None,
            "stopTime": stop_time.isoformat() if stop_time else None,
            "files": [arcname for _, arcname in files],
        }
        with zipfile.ZipFile(self.folder / name, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("period.json", json.dumps(period, indent=2))
            for path, arcname in files:
                archive.write(path, arcname)
        return name

    async def upload_diagnostics(self, location: str, file_name: str) -> bool:
        path = self.folder / file_name
        try:
            await trio.to_thread.run_sync(self._upload, location, path)
        except (TransferError, OSError, ValueError, ftplib.Error) as e:
            log.warning("diagnostics upload to %s failed: %s", _safe_url(location), e)
            self.uploads.append((location, f"failed: {e}"))
            return False
        self.uploads.append((location, "uploaded"))
        return True

    async def upload_log_file(self, location: str, path: Path) -> UploadResult:
        """GetLog SecurityLog: the file the engine wrote; a failure says why (N01.FR.10)."""
        try:
            # a new GetLog cancels the upload: the thread is left to finish on its own
            await trio.to_thread.run_sync(self._upload, location, path, abandon_on_cancel=True)
        except (
            TransferError,
            OSError,
            ValueError,
            ftplib.Error,
            http.client.HTTPException,
        ) as e:
            failure = _upload_failure(e)
            log.warning("log upload to %s failed (%s): %s", _safe_url(location), failure, e)
            self.uploads.append((location, f"failed: {failure}: {e}"))
            return failure
        self.uploads.append((location, "uploaded"))
        return True

    def _upload(self, location: str, path: Path) -> None:
        parts = urlsplit(location)
        scheme = parts.scheme.lower()
        if scheme not in UPLOAD_SCHEMES:
            raise TransferError(
                f"scheme {parts.scheme or '(none)'!r} is not supported "
                f"(use {', '.join(UPLOAD_SCHEMES)})",
                LogUploadFailure.NotSupportedOperation,
            )
        if scheme == "ftp":
            _ftp_store(location, path, self.timeout)
            return
        # a location ending in "/" is a folder: the file goes in it under its own name
        url = location + path.name if parts.path.endswith("/") else location
        request = urllib.request.Request(url, data=path.read_bytes(), method="PUT")
        zipped = path.suffix == ".zip"
        request.add_header("Content-Type", "application/zip" if zipped else "text/plain")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as e:
            raise TransferError(f"HTTP {e.code} {e.reason}", _http_failure(e.code)) from None
        if not 200 <= status < 300:
            raise TransferError(f"HTTP {status}")


def _upload_failure(error: Exception) -> LogUploadFailure:
    """What an exception of an upload means in GetLog's terms."""
    if isinstance(error, TransferError):
        return error.reason
    if isinstance(error, ftplib.error_perm) and str(error).startswith("530"):
        return LogUploadFailure.PermissionDenied  # not logged in
    if isinstance(error, ftplib.error_proto | http.client.HTTPException):
        return LogUploadFailure.BadMessage  # the server does not speak the protocol
    return LogUploadFailure.UploadFailure


def _http_failure(code: int) -> LogUploadFailure:
    if code in (401, 403, 407):
        return LogUploadFailure.PermissionDenied
    if code in (405, 501):
        return LogUploadFailure.NotSupportedOperation
    if code == 400:
        return LogUploadFailure.BadMessage
    return LogUploadFailure.UploadFailure


def _ftp_store(location: str, path: Path, timeout: float) -> None:
    """STOR the file at an ftp:// location (a folder when it ends in '/'), passive mode."""
    parts = urlsplit(location)
    folder, _, name = unquote(parts.path).rpartition("/")
    name = name or path.name
    with ftplib.FTP(timeout=timeout) as ftp:
        ftp.connect(parts.hostname or "", parts.port or 21)
        ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
        if folder.strip("/"):
            ftp.cwd(folder)
        with path.open("rb") as data:
            ftp.storbinary(f"STOR {name}", data)


def _modified_since(path: Path, start: datetime | None) -> bool:
    if start is None:
        return True
    return datetime.fromtimestamp(path.stat().st_mtime, UTC) >= start


def _safe_url(location: str) -> str:
    """The location without a password (URLs may carry ftp://user:password@host)."""
    parts = urlsplit(location)
    if parts.password is None:
        return location
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
