"""UpdateFirmware and GetDiagnostics through the engine: the simulator's real transfers.

Real time (the transfers run in worker threads against a loopback HTTP
server), the in-process network to the development CSMS, bounded waits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chargebox.certstore import FileCertificateStore
from chargebox.host import CertificateUse
from chargebox.ocpp import v16

from ..features.test_firmware_signed import make_pki
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
            await rig.csms.wait_for("FirmwareStatusNotification", count=4)
            statuses = [
                str(s.status) for s in rig.csms.received("SIM-1", "FirmwareStatusNotification")
            ]
            assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
            # the station reboots into the new firmware, and only once that one is registered
            # is Installed reported (5.19's good practice; statecharts/firmware.yaml F12, F21)
            actions = rig.csms.actions("SIM-1")
            notifications = [i for i, a in enumerate(actions) if a == "FirmwareStatusNotification"]
            second_boot = actions.index("BootNotification", 1)
            assert notifications[2] < second_boot < notifications[3]
    assert (tmp_path / "data" / "firmware" / "chargebox-2.0.1.bin").read_bytes() == IMAGE


async def test_signed_update_firmware_verifies_the_download_and_reports_every_step(tmp_path):
    pki = make_pki("rsa")
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(CertificateUse.ManufacturerRootCertificate, pki.root_pem)
    with http_server() as base:
        async with simulated(tmp_path, data_dir=tmp_path / "data", limit=30) as rig:
            rig.sim.host.certificates = store  # the simulator's host gets a certificate store
            session = await rig.session()
            answer = await session.call(
                v16.SignedUpdateFirmwareRequest(
                    request_id=9,
                    firmware=v16.FirmwareType(
                        location=f"{base}/fw/chargebox-2.0.1.bin",
                        retrieve_date_time=datetime.now(UTC),
                        signing_certificate=pki.signing_pem,
                        signature=pki.sign(IMAGE),  # over the very file the server sends
                    ),
                )
            )
            assert answer.status == "Accepted"
            boot = await rig.csms.wait_for("BootNotification", count=2)
            assert boot.firmware_version == "chargebox-2.0.1.bin"
            await rig.csms.wait_for(
                "SignedFirmwareStatusNotification", lambda n: n.status == "Installed"
            )
            received = rig.csms.received("SIM-1", "SignedFirmwareStatusNotification")
            statuses = [str(n.status) for n in received if n.status != "DownloadScheduled"]
            assert statuses == [
                "Downloading",
                "Downloaded",
                "SignatureVerified",
                "Installing",
                "InstallRebooting",
                "Installed",
            ]
            assert {n.request_id for n in received} == {9}
            actions = rig.csms.actions("SIM-1")
            second_boot = actions.index("BootNotification", 1)
            notifications = [
                i for i, a in enumerate(actions) if a == "SignedFirmwareStatusNotification"
            ]
            assert notifications[-2] < second_boot < notifications[-1]


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
