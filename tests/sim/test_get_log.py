"""GetLog through the engine and the simulator: real uploads to a loopback HTTP server.

Real time (the uploads run in worker threads), the in-process network to the
development CSMS, bounded waits.
"""

from __future__ import annotations

import json

from chargebox.ocpp import v16

from .support import simulated
from .test_transfer import Handler, http_server


def log_statuses(rig) -> list[tuple[str, int | None]]:
    return [
        (str(n.status), n.request_id) for n in rig.csms.received("SIM-1", "LogStatusNotification")
    ]


async def test_get_log_security_log_is_uploaded_over_http(tmp_path):
    with http_server() as base:
        async with simulated(tmp_path, data_dir=tmp_path / "data", limit=30) as rig:
            session = await rig.session()
            answer = await session.call(
                v16.GetLogRequest(
                    log=v16.LogParametersType(remote_location=f"{base}/logs/"),
                    log_type="SecurityLog",
                    request_id=314,
                )
            )
            assert answer.status == "Accepted"
            assert answer.filename == "SIM-1-security-314.log"
            await rig.csms.wait_for("LogStatusNotification", lambda n: n.status == "Uploaded")
            assert log_statuses(rig) == [("Uploading", 314), ("Uploaded", 314)]
            body = Handler.uploads[f"/logs/{answer.filename}"]
            kept = (tmp_path / "data" / "message-log" / "SIM-1-security.log").read_bytes()
            assert body == kept
            assert json.loads(body.splitlines()[0])["type"] == "StartupOfTheDevice"


async def test_get_log_refused_by_the_server_is_permission_denied(tmp_path):
    with http_server() as base:
        async with simulated(tmp_path, data_dir=tmp_path / "data", limit=30) as rig:
            session = await rig.session()
            answer = await session.call(
                v16.GetLogRequest(
                    log=v16.LogParametersType(remote_location=f"{base}/forbidden/"),
                    log_type="SecurityLog",
                    request_id=5,
                    retries=0,
                )
            )
            assert answer.status == "Accepted"
            await rig.csms.wait_for("LogStatusNotification", lambda n: n.status != "Uploading")
            assert log_statuses(rig) == [("Uploading", 5), ("PermissionDenied", 5)]
            # a scheme the simulator cannot upload to
            await session.call(
                v16.GetLogRequest(
                    log=v16.LogParametersType(remote_location="gopher://logs.test/"),
                    log_type="SecurityLog",
                    request_id=6,
                    retries=0,
                )
            )
            await rig.csms.wait_for("LogStatusNotification", lambda n: n.request_id == 6, count=2)
            assert log_statuses(rig)[2:] == [("Uploading", 6), ("NotSupportedOperation", 6)]
