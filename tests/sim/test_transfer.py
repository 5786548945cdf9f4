"""Firmware and diagnostics transfers of the simulator, over real loopback servers.

A stdlib HTTP server serves the firmware image and takes the diagnostics by
PUT; a minimal FTP server (the commands ftplib uses for a passive STOR) takes
them by FTP. The ports are called as the engine calls them.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chargebox.sim import Diagnostics, Firmware, SimSettings, Simulator, installed_firmware_version

from .support import sim_config

IMAGE = b"\x7fELF firmware image " * 1000


class Handler(BaseHTTPRequestHandler):
    uploads: dict[str, bytes] = {}

    def do_GET(self) -> None:
        if self.path == "/fw/chargebox-2.0.1.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(IMAGE)))
            self.end_headers()
            self.wfile.write(IMAGE)
        else:
            self.send_error(404)

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        if self.path.startswith("/forbidden/"):
            self.send_error(403)
            return
        Handler.uploads[self.path] = body
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FtpHandler(socketserver.StreamRequestHandler):
    """Just enough FTP for ftplib's login, TYPE I, PASV, CWD and STOR."""

    stored: dict[str, bytes] = {}
    logins: list[tuple[str, str]] = []

    def reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ftp")
        user, folder, passive = "", "/", None
        for raw in self.rfile:
            command, _, arg = raw.decode().strip().partition(" ")
            command = command.upper()
            if command == "USER":
                user = arg
                self.reply("331 password please")
            elif command == "PASS":
                FtpHandler.logins.append((user, arg))
                self.reply("230 logged in")
            elif command == "TYPE":
                self.reply("200 type set")
            elif command == "CWD":
                folder = arg
                self.reply("250 ok")
            elif command == "PASV":
                passive = socket.create_server(("127.0.0.1", 0))
                port = passive.getsockname()[1]
                self.reply(f"227 Entering Passive Mode (127,0,0,1,{port // 256},{port % 256})")
            elif command == "STOR" and passive is not None:
                self.reply("150 go ahead")
                data, _ = passive.accept()
                chunks = []
                while chunk := data.recv(65536):
                    chunks.append(chunk)
                data.close()
                passive.close()
                FtpHandler.stored[f"{folder.rstrip('/')}/{arg}"] = b"".join(chunks)
                self.reply("226 stored")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


@contextmanager
def ftp_server() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FtpHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_firmware_is_downloaded_installed_and_reported_at_the_next_start(tmp_path):
    firmware = Firmware(tmp_path, timeout=10)
    with http_server() as base:
        assert not await firmware.download_firmware(f"{base}/fw/missing.bin")
        assert await firmware.download_firmware(f"{base}/fw/chargebox-2.0.1.bin")
    image = tmp_path / "firmware" / "chargebox-2.0.1.bin"
    assert image.read_bytes() == IMAGE
    assert installed_firmware_version(tmp_path) is None
    assert await firmware.install_firmware()
    assert installed_firmware_version(tmp_path) == "chargebox-2.0.1.bin"
    assert [outcome for _, outcome in firmware.attempts][1] == "downloaded"
    # the simulator that starts on this data dir boots with the new FirmwareVersion
    sim = Simulator(SimSettings(config=sim_config(tmp_path), data_dir=tmp_path))
    assert sim.cfg["FirmwareVersion"] == "chargebox-2.0.1.bin"
    saved = json.loads((tmp_path / "sim-config.json").read_text())
    assert saved["Internal"]["FirmwareVersion"] == "chargebox-2.0.1.bin"


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "gopher://example/x", "not a url", "http://127.0.0.1:9/x"]
)
async def test_firmware_download_refuses_other_schemes_and_reports_failures(tmp_path, location):
    firmware = Firmware(tmp_path, timeout=5)
    assert not await firmware.download_firmware(location)
    assert firmware.attempts[-1][1].startswith("failed")
    assert not await firmware.install_firmware()  # nothing was downloaded


def make_logs(data: Path) -> None:
    logs = data / "message-log"
    logs.mkdir(parents=True)
    (logs / "CP-1.html").write_text("<table><tr><td>BootNotification</td></tr>")
    (logs / "sessions" / "s-1").mkdir(parents=True)
    (logs / "sessions" / "s-1" / "ocpp.html").write_text("<p>session</p>")
    (data / "sim-state.json").write_text("{}")


async def test_diagnostics_are_zipped_and_uploaded_by_http_put(tmp_path):
    make_logs(tmp_path)
    diagnostics = Diagnostics(
        tmp_path, "CP/1", [tmp_path / "message-log", tmp_path / "sim-state.json"], timeout=10
    )
    start = datetime.now(UTC) - timedelta(hours=1)
    name = await diagnostics.diagnostics_file(start, None)
    assert name is not None and name.startswith("diagnostics-CP_1-") and name.endswith(".zip")
    with zipfile.ZipFile(tmp_path / "diagnostics" / name) as archive:
        names = set(archive.namelist())
        period = json.loads(archive.read("period.json"))
    assert names == {
        "period.json",
        "message-log/CP-1.html",
        "message-log/sessions/s-1/ocpp.html",
        "sim-state.json",
    }
    assert period["chargePointId"] == "CP/1" and period["stopTime"] is None
    with http_server() as base:
        assert await diagnostics.upload_diagnostics(f"{base}/upload/", name)
        assert await diagnostics.upload_diagnostics(f"{base}/upload/named.zip", name)
        assert not await diagnostics.upload_diagnostics(f"{base}/forbidden/", name)
    body = (tmp_path / "diagnostics" / name).read_bytes()
    assert Handler.uploads[f"/upload/{name}"] == body
    assert Handler.uploads["/upload/named.zip"] == body
    assert diagnostics.uploads[-1][1] == "failed: HTTP 403 Forbidden"


async def test_diagnostics_upload_by_ftp(tmp_path):
    make_logs(tmp_path)
    diagnostics = Diagnostics(tmp_path, "CP-1", [tmp_path / "message-log"], timeout=10)
    name = await diagnostics.diagnostics_file(None, None)
    assert name is not None
    with ftp_server() as port:
        assert await diagnostics.upload_diagnostics(f"ftp://cp:s3cret@127.0.0.1:{port}/in/", name)
    assert FtpHandler.stored[f"/in/{name}"] == (tmp_path / "diagnostics" / name).read_bytes()
    assert FtpHandler.logins[-1] == ("cp", "s3cret")


async def test_no_diagnostics_when_there_is_nothing_of_the_period(tmp_path):
    make_logs(tmp_path)
    diagnostics = Diagnostics(tmp_path, "CP-1", [tmp_path / "message-log"])
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await diagnostics.diagnostics_file(tomorrow, None) is None
    assert not await diagnostics.upload_diagnostics("gopher://x/", "nothing.zip")
