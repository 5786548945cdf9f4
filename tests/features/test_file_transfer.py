"""Firmware download and diagnostics upload for real, over HTTP from a loopback server.

The host ports here transfer with the standard library's HTTP client (in a
worker thread) against an http.server on 127.0.0.1 and an ephemeral port,
so these tests run on the real clock (a mock clock cannot wait for a real
socket) and keep their waits short.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import attrs
import pytest
import trio

from chargebox.ocpp import v16
from chargebox.station import Host
from tests.support import RecordingEvse, RecordingSystem, running

LIMIT = 20  # seconds any of these tests may take, at most

FIRMWARE = b"chargebox-firmware 2.1\n" + bytes(range(256)) * 512  # 128 KiB after the header


@attrs.define
class FileServer:
    """What the loopback HTTP server serves and what it received."""

    url: str = ""
    files: dict[str, bytes] = attrs.Factory(dict)
    uploads: dict[str, bytes] = attrs.Factory(dict)
    requests: list[tuple[str, str]] = attrs.Factory(list)
    failing: tuple[str, ...] = ("/broken/",)


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output clean

        def do_GET(self) -> None:
            server.requests.append(("GET", self.path))
            body = server.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            server.requests.append(("PUT", self.path))
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.startswith(server.failing):
                self.send_error(503)
                return
            server.uploads[self.path] = body
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    state = FileServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@attrs.define
class HttpFirmware:
    """A firmware port that downloads over HTTP and 'installs' by reading the image's header."""

    folder: Path
    image: Path | None = None
    installed: str | None = None

    async def download_firmware(self, location: str) -> bool:
        def fetch() -> bytes:
            with urllib.request.urlopen(location, timeout=5) as response:
                return response.read()

        try:
            data = await trio.to_thread.run_sync(fetch)
        except OSError:
            return False
        self.image = self.folder / "firmware.bin"
        self.image.write_bytes(data)
        return True

    async def install_firmware(self) -> bool:
        assert self.image is not None
        header = self.image.read_bytes().split(b"\n", 1)[0].decode()
        name, _, version = header.partition(" ")
        if name != "chargebox-firmware":
            return False
        self.installed = version
        return True


@attrs.define
class HttpDiagnostics:
    """A diagnostics port that writes a log file and uploads it with HTTP PUT."""

    folder: Path
    content: bytes = b""

    async def diagnostics_file(self, start_time, stop_time) -> str:
        name = "diagnostics-CP-1.log"
        self.content = f"log from {start_time} to {stop_time}\n".encode() * 200
        (self.folder / name).write_bytes(self.content)
        return name

    async def upload_diagnostics(self, location: str, file_name: str) -> bool:
        data = (self.folder / file_name).read_bytes()
        url = location.rstrip("/") + "/" + file_name

        def put() -> None:
            request = urllib.request.Request(url, data=data, method="PUT")
            with urllib.request.urlopen(request, timeout=5):
                pass

        try:
            await trio.to_thread.run_sync(put)
        except OSError:
            return False
        return True


def host(tmp_path: Path) -> Host:
    return Host(
        evse=RecordingEvse(),
        system=RecordingSystem(),
        firmware=HttpFirmware(tmp_path),
        diagnostics=HttpDiagnostics(tmp_path),
    )


def notified(rig, action: str) -> list[str]:
    return [str(n.status) for n in rig.csms.received("CP-1", action)]


async def test_a_firmware_update_downloads_over_http_and_boots_the_new_version(
    tmp_path, file_server
):
    file_server.files["/fw/station-2.1.bin"] = FIRMWARE
    station = host(tmp_path)
    async with running(tmp_path, host=station, limit=LIMIT) as rig:
        session = await rig.session()
        await session.call(
            v16.UpdateFirmwareRequest(
                location=f"{file_server.url}/fw/station-2.1.bin",
                retrieve_date=rig.cp.clock.now(),
            )
        )
        await rig.system.reset_done.wait()
        assert notified(rig, "FirmwareStatusNotification") == [
            "Downloading",
            "Downloaded",
            "Installing",
        ]  # Installed follows the reboot (statecharts/firmware.yaml F21)
        assert rig.system.resets == ["Hard"]
    firmware = station.firmware
    assert hashlib.sha256(firmware.image.read_bytes()).digest() == hashlib.sha256(FIRMWARE).digest()
    assert file_server.requests == [("GET", "/fw/station-2.1.bin")]
    async with running(
        tmp_path, Internal={"FirmwareVersion": firmware.installed}, limit=LIMIT
    ) as rig:
        boot = await rig.csms.wait_for("BootNotification")
        assert boot.firmware_version == "2.1"
        await rig.csms.wait_for("FirmwareStatusNotification", lambda n: n.status == "Installed")


async def test_a_download_that_keeps_failing_is_reported_download_failed(tmp_path, file_server):
    async with running(tmp_path, host=host(tmp_path), limit=LIMIT) as rig:
        session = await rig.session()
        await session.call(
            v16.UpdateFirmwareRequest(
                location=f"{file_server.url}/fw/missing.bin",
                retrieve_date=rig.cp.clock.now(),
                retries=2,
                retry_interval=0,
            )
        )
        await rig.csms.wait_until(
            lambda: notified(rig, "FirmwareStatusNotification") == ["Downloading", "DownloadFailed"]
        )
        assert file_server.requests == [("GET", "/fw/missing.bin")] * 3  # 1 try + 2 retries
        assert rig.system.resets == []


async def test_diagnostics_are_uploaded_over_http(tmp_path, file_server):
    station = host(tmp_path)
    async with running(tmp_path, host=station, limit=LIMIT) as rig:
        session = await rig.session()
        answer = await session.call(v16.GetDiagnosticsRequest(location=f"{file_server.url}/logs/"))
        assert answer.file_name == "diagnostics-CP-1.log"
        await rig.csms.wait_until(
            lambda: notified(rig, "DiagnosticsStatusNotification") == ["Uploading", "Uploaded"]
        )
        received = file_server.uploads["/logs/diagnostics-CP-1.log"]
        assert received == station.diagnostics.content and len(received) > 1000


async def test_an_upload_the_server_refuses_is_reported_upload_failed(tmp_path, file_server):
    async with running(tmp_path, host=host(tmp_path), limit=LIMIT) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.GetDiagnosticsRequest(
                location=f"{file_server.url}/broken/", retries=1, retry_interval=0
            )
        )
        assert answer.file_name == "diagnostics-CP-1.log"
        await rig.csms.wait_until(
            lambda: notified(rig, "DiagnosticsStatusNotification") == ["Uploading", "UploadFailed"]
        )
        assert file_server.requests == [("PUT", "/broken/diagnostics-CP-1.log")] * 2
        assert file_server.uploads == {}
