"""FirmwareManagement profile: GetDiagnostics with every DiagnosticsStatusNotification.

Timing (retries, retryInterval) on the mock clock with a scripted diagnostics
port; the real upload over HTTP is in tests/features/test_file_transfer.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import attrs
import pytest
import trio
import trio.testing

from chargebox.ocpp import v16
from chargebox.station import Host
from tests.support import RecordingEvse, RecordingSystem, running


@attrs.define
class ScriptedDiagnostics:
    """A diagnostics port: names the file `file_name`; uploads succeed as `uploads` says."""

    file_name: str | None = "diagnostics-CP-1.log"
    uploads: list[bool] = attrs.Factory(lambda: [True])
    periods: list[tuple[object, object]] = attrs.Factory(list)
    attempts: list[tuple[float, str, str]] = attrs.Factory(list)

    async def diagnostics_file(self, start_time, stop_time):
        self.periods.append((start_time, stop_time))
        return self.file_name

    async def upload_diagnostics(self, location, file_name):
        self.attempts.append((trio.current_time(), location, file_name))
        return self.uploads.pop(0) if self.uploads else False


def diagnostics_host(port):
    return Host(evse=RecordingEvse(), system=RecordingSystem(), diagnostics=port)


async def get_diagnostics(rig, **fields):
    session = await rig.session()
    request = v16.GetDiagnosticsRequest(location="ftp://logs.example/in/", **fields)
    return (await session.call(request)).file_name


def statuses(rig):
    return [str(n.status) for n in rig.csms.received("CP-1", "DiagnosticsStatusNotification")]


async def until_statuses(rig, *expected):
    await rig.csms.wait_until(lambda: statuses(rig) == list(expected))


async def test_the_file_name_is_answered_and_uploaded(tmp_path, autojump_clock):
    port = ScriptedDiagnostics()
    async with running(tmp_path, host=diagnostics_host(port)) as rig:
        start = datetime(2025, 5, 1, tzinfo=UTC)
        stop = datetime(2025, 5, 2, tzinfo=UTC)
        assert await get_diagnostics(rig, start_time=start, stop_time=stop) == (
            "diagnostics-CP-1.log"
        )
        await until_statuses(rig, "Uploading", "Uploaded")
        assert port.periods == [(start, stop)]
        assert [a[1:] for a in port.attempts] == [
            ("ftp://logs.example/in/", "diagnostics-CP-1.log")
        ]
        assert rig.cp.station.features.diagnostics.status() == "Idle"


async def test_a_failed_upload_is_retried_then_reported(tmp_path, autojump_clock):
    port = ScriptedDiagnostics(uploads=[False, True])
    async with running(tmp_path, host=diagnostics_host(port)) as rig:
        await get_diagnostics(rig, retries=3, retry_interval=20)
        await until_statuses(rig, "Uploading", "Uploaded")
        assert len(port.attempts) == 2
        port.uploads = [False, False, False]
        await get_diagnostics(rig, retries=2, retry_interval=45)
        await until_statuses(rig, "Uploading", "Uploaded", "Uploading", "UploadFailed")
        times = [t for t, *_ in port.attempts[2:]]
        assert [b - a for a, b in pairwise(times)] == [pytest.approx(45), pytest.approx(45)]


async def test_while_uploading_the_status_is_uploading_and_no_second_upload(
    tmp_path, autojump_clock
):
    port = ScriptedDiagnostics(uploads=[False, True])
    async with running(tmp_path, host=diagnostics_host(port)) as rig:
        assert await get_diagnostics(rig, retries=1, retry_interval=300) is not None
        await until_statuses(rig, "Uploading")
        await trio.sleep(60)  # waiting for the retry
        assert await get_diagnostics(rig) is None
        session = await rig.session()
        answer = await session.call(
            v16.TriggerMessageRequest(requested_message="DiagnosticsStatusNotification")
        )
        assert answer.status == "Accepted"
        await until_statuses(rig, "Uploading", "Uploading")
        await until_statuses(rig, "Uploading", "Uploading", "Uploaded")
        assert len(port.attempts) == 2 and len(port.periods) == 1


async def test_no_file_no_file_name_and_no_upload(tmp_path, autojump_clock):
    port = ScriptedDiagnostics(file_name=None)
    async with running(tmp_path, host=diagnostics_host(port)) as rig:
        assert await get_diagnostics(rig) is None
        await trio.testing.wait_all_tasks_blocked()
        assert port.attempts == [] and statuses(rig) == []
    async with running(tmp_path) as rig:  # a host without a diagnostics port
        assert await get_diagnostics(rig) is None
        await trio.testing.wait_all_tasks_blocked()
        assert statuses(rig) == []
