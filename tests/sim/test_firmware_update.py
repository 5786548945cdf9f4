"""UpdateFirmware and GetDiagnostics through the engine: the simulator's real transfers.

Real time (the transfers run in worker threads against a loopback HTTP
server), the in-process network to the development CSMS, bounded waits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chargebox.ocpp import v16

from .support import simulated
from .test_transfer import IMAGE, Handler, http_server


async def test_update_firmware_downloads_installs_and_boots_with_the_new_version(tmp_path):
    with http_server() as base:
        async with simulated(tmp_path, data_dir=tmp_path / "data", limit=30) as rig:
            session = await rig.session()
            await session.call(
                v16.UpdateFirmwareRequest(
                    location=f"{base}/fw/chargebox-2.0.1.bin",
                    retrieve_date=datetime.now(UTC),
                )
            )
            boot = await rig.csms.wait_for("BootNotification", count=2)
            assert boot.firmware_version == "chargebox-2.0.1.bin"
            statuses = [
                str(s.status) for s in rig.csms.received("SIM-1", "FirmwareStatusNotification")
            ]
            assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
            # Installed goes out, then the station restarts (statecharts/firmware.yaml, F12)
            actions = rig.csms.actions("SIM-1")
            notifications = [i for i, a in enumerate(actions) if a == "FirmwareStatusNotification"]
            assert notifications[3] < actions.index("BootNotification", 1)
    assert (tmp_path / "data" / "firmware" / "chargebox-2.0.1.bin").read_bytes() == IMAGE


async def test_get_diagnostics_uploads_the_zip(tmp_path):
    with http_server() as base:
        async with simulated(tmp_path, data_dir=tmp_path / "data", limit=30) as rig:
            session = await rig.session()
            answer = await session.call(v16.GetDiagnosticsRequest(location=f"{base}/diag/"))
            assert answer.file_name and answer.file_name.endswith(".zip")
            await rig.csms.wait_for(
                "DiagnosticsStatusNotification", lambda s: s.status == "Uploaded"
            )
            # the port returned True once the server had the file: Uploaded comes after it
            body = Handler.uploads[f"/diag/{answer.file_name}"]
            assert body == (tmp_path / "data" / "diagnostics" / answer.file_name).read_bytes()
