"""Security whitepaper N01: GetLog with every answer and every LogStatusNotification status.

On the mock clock with a scripted diagnostics port; the real upload over HTTP
is in tests/sim/test_get_log.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from chargebox.host import LogUploadFailure
from chargebox.ocpp import v16
from chargebox.station import Host
from tests.support import RecordingEvse, RecordingSystem, running


@attrs.define
class ScriptedLogs:
    """A diagnostics port whose uploads end as `outcomes` says (an exception is raised).

    While `hold` is given, every attempt waits for it (an upload in progress).
    """

    file_name: str | None = "diagnostics-CP-1.zip"
    outcomes: list[Any] = attrs.Factory(lambda: [True])
    hold: trio.Event | None = None
    periods: list[tuple[Any, Any]] = attrs.Factory(list)
    #: (trio time, location, file name or the engine file's content)
    attempts: list[tuple[float, str, str]] = attrs.Factory(list)
    cancelled: list[str] = attrs.Factory(list)

    async def diagnostics_file(self, start_time, stop_time):
        self.periods.append((start_time, stop_time))
        return self.file_name

    async def upload_diagnostics(self, location, file_name):
        return await self._attempt(location, file_name)

    async def upload_log_file(self, location, path: Path):
        return await self._attempt(location, path.read_text())

    async def _attempt(self, location: str, what: str) -> Any:
        self.attempts.append((trio.current_time(), location, what))
        try:
            if self.hold is not None:
                await self.hold.wait()
        except trio.Cancelled:
            self.cancelled.append(location)
            raise
        outcome = self.outcomes.pop(0) if self.outcomes else False
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class DiagnosticsOnly:
    """A diagnostics port of before GetLog: it cannot upload a file the engine wrote."""

    async def diagnostics_file(self, start_time, stop_time):
        return "diagnostics.zip"

    async def upload_diagnostics(self, location, file_name):
        return True


def logs_host(port: Any) -> Host:
    return Host(evse=RecordingEvse(), system=RecordingSystem(), diagnostics=port)


async def get_log(rig, log_type="SecurityLog", request_id=1, location="https://logs.test/up/", **f):
    session = await rig.session()
    window = {k: f.pop(k) for k in ("oldest_timestamp", "latest_timestamp") if k in f}
    request = v16.GetLogRequest(
        log=v16.LogParametersType(remote_location=location, **window),
        log_type=log_type,
        request_id=request_id,
        **f,
    )
    return await session.call(request)


def notifications(rig) -> list[tuple[str, int | None]]:
    return [
        (str(n.status), n.request_id) for n in rig.csms.received("CP-1", "LogStatusNotification")
    ]


async def until_notifications(rig, *expected: tuple[str, int | None]) -> None:
    await rig.csms.wait_until(lambda: notifications(rig) == list(expected))


# -- Accepted: the two log types -------------------------------------------------------------


async def test_security_log_is_the_message_logs_security_file(tmp_path, autojump_clock):
    port = ScriptedLogs()
    async with running(tmp_path, host=logs_host(port)) as rig:
        rig.cp.station.security_event("SettingSystemTime", "test event")
        answer = await get_log(rig, request_id=41, retries=0)
        assert answer.status == "Accepted"
        assert answer.filename == "CP-1-security-41.log"
        await until_notifications(rig, ("Uploading", 41), ("Uploaded", 41))
        [(_, location, content)] = port.attempts
        assert location == "https://logs.test/up/"
        events = [json.loads(line)["type"] for line in content.splitlines()]
        assert events == ["StartupOfTheDevice", "SettingSystemTime"]
        assert rig.cp.station.features.logs.status() == ("Idle", None)
        folder = rig.cp.station.features.logs._folder
        assert folder is not None and folder.is_dir()
    # the extracts go with the station
    assert not folder.exists()


async def test_security_log_of_a_period_only(tmp_path, autojump_clock):
    port = ScriptedLogs(outcomes=[True, True])
    async with running(tmp_path, host=logs_host(port)) as rig:
        clock = rig.cp.station.ctx.clock
        await trio.sleep(3600)
        middle = clock.now()
        await trio.sleep(3600)
        rig.cp.station.security_event("MemoryExhaustion", "later")
        answer = await get_log(rig, request_id=2, oldest_timestamp=middle)
        assert answer.status == "Accepted"
        await until_notifications(rig, ("Uploading", 2), ("Uploaded", 2))
        assert [json.loads(line)["type"] for line in port.attempts[0][2].splitlines()] == [
            "MemoryExhaustion"
        ]
        # nothing logged in that period: no log information, Rejected without a filename
        answer = await get_log(rig, request_id=3, latest_timestamp=middle - timedelta(days=365))
        assert answer.status == "Rejected" and answer.filename is None
        await trio.testing.wait_all_tasks_blocked()
        assert len(port.attempts) == 1 and len(notifications(rig)) == 2


async def test_diagnostics_log_is_prepared_and_uploaded_by_the_host(tmp_path, autojump_clock):
    port = ScriptedLogs()
    async with running(tmp_path, host=logs_host(port)) as rig:
        clock = rig.cp.station.ctx.clock
        oldest, latest = clock.now() - timedelta(days=1), clock.now()
        answer = await get_log(
            rig,
            log_type="DiagnosticsLog",
            request_id=9,
            location="ftp://logs.test/in/",
            oldest_timestamp=oldest,
            latest_timestamp=latest,
        )
        assert answer.status == "Accepted" and answer.filename == "diagnostics-CP-1.zip"
        await until_notifications(rig, ("Uploading", 9), ("Uploaded", 9))
        assert port.periods == [(oldest, latest)]
        assert [a[1:] for a in port.attempts] == [("ftp://logs.test/in/", "diagnostics-CP-1.zip")]


# -- retries and every failure status ----------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "reported"),
    [
        (False, "UploadFailure"),
        (LogUploadFailure.UploadFailure, "UploadFailure"),
        (LogUploadFailure.BadMessage, "BadMessage"),
        (LogUploadFailure.PermissionDenied, "PermissionDenied"),
        (LogUploadFailure.NotSupportedOperation, "NotSupportedOperation"),
        (OSError("the port broke"), "UploadFailure"),
    ],
)
async def test_after_the_last_attempt_its_failure_is_reported(
    tmp_path, autojump_clock, last, reported
):
    port = ScriptedLogs(outcomes=[False, False, last])
    async with running(tmp_path, host=logs_host(port)) as rig:
        answer = await get_log(rig, request_id=5, retries=2, retry_interval=45)
        assert answer.status == "Accepted"
        await until_notifications(rig, ("Uploading", 5), (reported, 5))
        times = [t for t, *_ in port.attempts]
        assert [b - a for a, b in pairwise(times)] == [pytest.approx(45), pytest.approx(45)]
        assert rig.cp.station.features.logs.status() == ("Idle", None)


async def test_a_retry_that_succeeds_reports_uploaded_and_defaults_apply(tmp_path, autojump_clock):
    port = ScriptedLogs(outcomes=[LogUploadFailure.PermissionDenied, True, False, False])
    async with running(tmp_path, host=logs_host(port)) as rig:
        await get_log(rig, request_id=6, retries=3, retry_interval=10)
        await until_notifications(rig, ("Uploading", 6), ("Uploaded", 6))
        assert len(port.attempts) == 2
        # no retries, no retryInterval: one retry, 60 seconds later
        await get_log(rig, request_id=7)
        await until_notifications(
            rig, ("Uploading", 6), ("Uploaded", 6), ("Uploading", 7), ("UploadFailure", 7)
        )
        assert len(port.attempts) == 4
        assert port.attempts[3][0] - port.attempts[2][0] == pytest.approx(60)


# -- AcceptedCanceled ----------------------------------------------------------------------------


async def test_a_get_log_during_an_upload_cancels_it(tmp_path, autojump_clock):
    port = ScriptedLogs(outcomes=[True], hold=trio.Event())
    async with running(tmp_path, host=logs_host(port)) as rig:
        first = await get_log(rig, request_id=1, location="https://logs.test/first/")
        assert first.status == "Accepted"
        await until_notifications(rig, ("Uploading", 1))
        await trio.testing.wait_all_tasks_blocked()
        second = await get_log(
            rig, log_type="DiagnosticsLog", request_id=2, location="https://logs.test/second/"
        )
        assert second.status == "AcceptedCanceled"
        assert second.filename == "diagnostics-CP-1.zip"
        await until_notifications(rig, ("Uploading", 1), ("Uploading", 2))
        assert port.cancelled == ["https://logs.test/first/"]
        port.hold.set()
        await until_notifications(rig, ("Uploading", 1), ("Uploading", 2), ("Uploaded", 2))
        assert [a[1] for a in port.attempts] == [
            "https://logs.test/first/",
            "https://logs.test/second/",
        ]
        # once it is over, the next GetLog cancels nothing
        port.hold, port.outcomes = None, [True]
        assert (await get_log(rig, request_id=3)).status == "Accepted"
        await rig.csms.wait_until(lambda: notifications(rig)[-1] == ("Uploaded", 3))


async def test_a_get_log_while_waiting_to_retry_drops_the_retries(tmp_path, autojump_clock):
    port = ScriptedLogs(outcomes=[False, True])
    async with running(tmp_path, host=logs_host(port)) as rig:
        await get_log(rig, request_id=1, retries=5, retry_interval=300)
        await trio.sleep(60)  # the first attempt failed; the next one is 300 s after it
        assert rig.cp.station.features.logs.status() == ("Uploading", 1)
        answer = await get_log(rig, request_id=2)
        assert answer.status == "AcceptedCanceled"
        await until_notifications(rig, ("Uploading", 1), ("Uploading", 2), ("Uploaded", 2))
        await trio.sleep(3600)
        assert len(port.attempts) == 2  # request 1 was not retried


# -- Rejected ---------------------------------------------------------------------------------


async def test_a_get_log_with_nothing_to_upload_leaves_the_upload_under_way(
    tmp_path, autojump_clock
):
    port = ScriptedLogs(outcomes=[False, True])  # the retry, 30 s on, reads the file
    async with running(tmp_path, host=logs_host(port)) as rig:
        rig.cp.station.security_event("SettingSystemTime", "an event to upload")
        assert (await get_log(rig, request_id=1, retries=1, retry_interval=30)).status == (
            "Accepted"
        )
        await trio.sleep(5)  # the first attempt failed
        a_year_ago = rig.cp.station.ctx.clock.now() - timedelta(days=365)
        empty = await get_log(rig, request_id=2, latest_timestamp=a_year_ago)
        assert (empty.status, empty.filename) == ("Rejected", None)
        # the retry still finds its file
        await until_notifications(rig, ("Uploading", 1), ("Uploaded", 1))
        assert len(port.attempts) == 2


async def test_rejected_without_a_log_to_upload(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:  # a host without a diagnostics port
        for log_type in ("SecurityLog", "DiagnosticsLog"):
            answer = await get_log(rig, log_type=log_type)
            assert answer.status == "Rejected" and answer.filename is None
    port = ScriptedLogs(file_name=None)  # the host has no diagnostics
    async with running(tmp_path, host=logs_host(port)) as rig:
        assert (await get_log(rig, log_type="DiagnosticsLog")).status == "Rejected"
    # a port that cannot upload the engine's file has no security log to offer
    async with running(tmp_path, host=logs_host(DiagnosticsOnly())) as rig:
        assert (await get_log(rig, log_type="SecurityLog")).status == "Rejected"
        assert (await get_log(rig, log_type="DiagnosticsLog")).status == "Accepted"
    port = ScriptedLogs()  # no security log kept (LogMessagesFormat without "security")
    async with running(
        tmp_path, host=logs_host(port), Internal={"LogMessagesFormat": ["log"]}
    ) as rig:
        assert (await get_log(rig, log_type="SecurityLog")).status == "Rejected"
        await trio.testing.wait_all_tasks_blocked()
        assert port.attempts == [] and notifications(rig) == []


# -- ExtendedTriggerMessage(LogStatusNotification) ----------------------------------------------


async def test_triggered_status_is_idle_or_uploading_with_the_request_id(tmp_path, autojump_clock):
    port = ScriptedLogs(hold=trio.Event())
    async with running(tmp_path, host=logs_host(port)) as rig:
        session = await rig.session()
        trigger = v16.ExtendedTriggerMessageRequest(requested_message="LogStatusNotification")
        assert (await session.call(trigger)).status == "Accepted"
        await until_notifications(rig, ("Idle", None))
        await get_log(rig, request_id=77)
        await until_notifications(rig, ("Idle", None), ("Uploading", 77))
        assert (await session.call(trigger)).status == "Accepted"
        await until_notifications(rig, ("Idle", None), ("Uploading", 77), ("Uploading", 77))
        port.hold.set()
        await until_notifications(
            rig, ("Idle", None), ("Uploading", 77), ("Uploading", 77), ("Uploaded", 77)
        )
        assert (await session.call(trigger)).status == "Accepted"
        await rig.csms.wait_until(lambda: notifications(rig)[-1] == ("Idle", None))
