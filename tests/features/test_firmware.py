"""FirmwareManagement profile: UpdateFirmware with every FirmwareStatusNotification.

The procedure's timing (retrieveDate, retries, waiting for transactions) runs
on the mock clock with a firmware port that answers from a script; the
transfer itself is tested for real, over HTTP from a loopback server, in
tests/features/test_file_transfer.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import attrs
import pytest
import trio
import trio.testing

from chargebox.actors import StationClock
from chargebox.ocpp import v16
from chargebox.station import Host
from tests.support import RecordingEvse, RecordingSystem, running

TWO = {"Core": {"NumberOfConnectors": 2}}
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@attrs.define
class ScriptedFirmware:
    """A firmware port whose attempts succeed or fail as `downloads` says, in order."""

    downloads: list[bool] = attrs.Factory(lambda: [True])
    install_result: bool = True
    version: str = "2.0"
    attempts: list[tuple[float, str]] = attrs.Factory(list)
    #: what the host sees when it is asked to install (set by the test)
    look: object = None
    seen_at_install: object = None
    installed: str | None = None

    async def download_firmware(self, location):
        self.attempts.append((trio.current_time(), location))
        return self.downloads.pop(0) if self.downloads else False

    async def install_firmware(self):
        if self.look is not None:
            self.seen_at_install = self.look()
        if self.install_result:
            self.installed = self.version
        return self.install_result


def firmware_host(firmware=None):
    return Host(evse=RecordingEvse(), system=RecordingSystem(), firmware=firmware)


async def update(rig, retrieve_in=0.0, retries=None, retry_interval=None, location=None):
    session = await rig.session()
    answer = await session.call(
        v16.UpdateFirmwareRequest(
            location=location or "https://fw.example/station-2.0.bin",
            retrieve_date=rig.cp.clock.now() + timedelta(seconds=retrieve_in),
            retries=retries,
            retry_interval=retry_interval,
        )
    )
    assert answer == v16.UpdateFirmwareResponse()  # UpdateFirmware.conf has no fields


def firmware_statuses(rig):
    return [str(n.status) for n in rig.csms.received("CP-1", "FirmwareStatusNotification")]


async def until_statuses(rig, *expected):
    await rig.csms.wait_until(lambda: firmware_statuses(rig) == list(expected))


async def test_the_update_waits_for_retrieve_date_then_installs_and_restarts(
    tmp_path, autojump_clock
):
    firmware = ScriptedFirmware()
    host = firmware_host(firmware)
    clock = StationClock(START)
    async with running(tmp_path, host=host, clock=clock, **TWO) as rig:
        cp = rig.cp
        firmware.look = lambda: (cp.status(1), cp.status(2))
        await update(rig, retrieve_in=3600)
        retrieve = cp.clock.deadline(cp.clock.now() + timedelta(seconds=3600))
        await trio.sleep(3599)
        assert firmware.attempts == [] and firmware_statuses(rig) == []
        await until_statuses(rig, "Downloading", "Downloaded", "Installing")
        # the download started at retrieveDate, on the station clock
        assert firmware.attempts[0] == (
            pytest.approx(retrieve),
            "https://fw.example/station-2.0.bin",
        )
        # both connectors were out of service before the installation
        assert firmware.seen_at_install == ("Unavailable", "Unavailable")
        await rig.system.reset_done.wait()
        assert rig.system.resets == ["Hard"]
        # not Installed yet: the new firmware has not booted (5.19, errata's good practice)
        await trio.sleep(60)
        assert firmware_statuses(rig) == ["Downloading", "Downloaded", "Installing"]
        assert cp.station.features.firmware.status() == "Installing"
    # the host restarts with the new firmware in its configuration; Installed follows the boot
    async with running(
        tmp_path, clock=clock, Internal={"FirmwareVersion": firmware.installed}
    ) as rig:
        boot = await rig.csms.wait_for("BootNotification")
        assert boot.firmware_version == "2.0"
        await until_statuses(rig, "Installed")
        actions = rig.csms.actions("CP-1")
        assert actions.index("BootNotification") < actions.index("FirmwareStatusNotification")
        assert rig.cp.status(1) == "Available"  # the hold was not persisted
        assert rig.cp.station.features.firmware.status() == "Idle"
        events = await rig.csms.wait_for(
            "SecurityEventNotification", lambda e: e.type == "FirmwareUpdated"
        )
        assert events.tech_info == "https://fw.example/station-2.0.bin"
    # reported once: the next start has nothing left to report
    async with running(tmp_path, clock=clock) as rig:
        await rig.csms.wait_for("StatusNotification")
        await trio.sleep(60)
        assert firmware_statuses(rig) == []


async def test_a_failed_download_is_retried_after_the_interval(tmp_path, autojump_clock):
    firmware = ScriptedFirmware(downloads=[False, False, True])
    async with running(tmp_path, host=firmware_host(firmware)) as rig:
        await update(rig, retries=2, retry_interval=30)
        await until_statuses(rig, "Downloading", "Downloaded", "Installing")
        times = [t for t, _ in firmware.attempts]
        assert [b - a for a, b in pairwise(times)] == [
            pytest.approx(30),
            pytest.approx(30),
        ]


async def test_download_failed_after_the_last_attempt(tmp_path, autojump_clock):
    firmware = ScriptedFirmware(downloads=[False, False])
    async with running(tmp_path, host=firmware_host(firmware), **TWO) as rig:
        await update(rig, retries=1, retry_interval=5)
        await until_statuses(rig, "Downloading", "DownloadFailed")
        await trio.testing.wait_all_tasks_blocked()
        assert len(firmware.attempts) == 2  # one try plus one retry
        assert (rig.cp.status(1), rig.cp.status(2)) == ("Available", "Available")
        assert rig.system.resets == []
        assert rig.cp.station.features.firmware.status() == "Idle"


async def test_installation_waits_for_running_transactions(tmp_path, autojump_clock):
    firmware = ScriptedFirmware()
    async with running(tmp_path, host=firmware_host(firmware), **TWO) as rig:
        cp = rig.cp
        firmware.look = lambda: [tx.active for tx in cp.station.transactions.values()]
        await cp.session_started(1)
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        await update(rig)
        await until_statuses(rig, "Downloading", "Downloaded")
        await trio.sleep(600)
        # the transaction goes on; the idle connector is out of service; no new transactions
        assert (cp.status(1), cp.status(2)) == ("Charging", "Unavailable")
        assert firmware_statuses(rig) == ["Downloading", "Downloaded"]
        session = await rig.session()
        refused = await session.call(v16.RemoteStartTransactionRequest(id_tag="NEW"))
        assert refused.status == "Rejected"
        triggered = await session.call(
            v16.TriggerMessageRequest(requested_message="FirmwareStatusNotification")
        )
        assert triggered.status == "Accepted"
        await until_statuses(rig, "Downloading", "Downloaded", "Downloaded")
        await cp.token_presented("TAG-1")  # the user ends the transaction
        await cp.transaction_stopped(1, meter_stop=900, reason="Local")
        await until_statuses(rig, "Downloading", "Downloaded", "Downloaded", "Installing")
        await rig.system.reset_done.wait()
        assert firmware.seen_at_install == [False, False]
        await cp.session_stopped(1)
        assert cp.status(1) == "Unavailable"  # the scheduled change applied at the session's end


async def test_a_failed_installation_gives_the_connectors_back(tmp_path, autojump_clock):
    firmware = ScriptedFirmware(install_result=False)
    async with running(tmp_path, host=firmware_host(firmware), **TWO) as rig:
        cp = rig.cp
        session = await rig.session()
        await session.call(v16.ChangeAvailabilityRequest(connector_id=2, type="Inoperative"))
        await update(rig)
        await until_statuses(rig, "Downloading", "Downloaded", "Installing", "InstallationFailed")
        await cp.wait_until(lambda: cp.status(1) == "Available")
        assert cp.status(2) == "Unavailable"  # the Central System's own choice stays
        assert rig.system.resets == []


@attrs.define
class GatedInstall(ScriptedFirmware):
    """A port whose installation ends (as `install_result` says) when the test opens it."""

    gate: trio.Event = attrs.Factory(trio.Event)

    async def install_firmware(self):
        await self.gate.wait()
        return await super().install_firmware()


@pytest.mark.parametrize("inoperative", [2, 0], ids=["connector-2", "charge-point"])
async def test_the_central_system_cannot_lift_the_hold_of_an_install(
    tmp_path, autojump_clock, inoperative
):
    firmware = GatedInstall(install_result=False)
    async with running(tmp_path, host=firmware_host(firmware), **TWO) as rig:
        cp = rig.cp
        session = await rig.session()
        change = v16.ChangeAvailabilityRequest(connector_id=inoperative, type="Inoperative")
        await session.call(change)
        await update(rig)
        await until_statuses(rig, "Downloading", "Downloaded", "Installing")
        await cp.wait_until(lambda: (cp.status(1), cp.status(2)) == ("Unavailable",) * 2)
        # Operative while installing: kept for after the install, the connectors stay held
        # (L01.FR.07), and nothing can start on them
        for connector in (0, 2):
            operative = v16.ChangeAvailabilityRequest(connector_id=connector, type="Operative")
            assert (await session.call(operative)).status == "Scheduled"
        remote = v16.RemoteStartTransactionRequest(id_tag="NEW", connector_id=1)
        assert (await session.call(remote)).status == "Rejected"
        await cp.token_presented("TAG-1", 1)
        assert ("authorize", 1, "TAG-1") not in rig.evse.calls
        assert (cp.status(1), cp.status(2)) == ("Unavailable", "Unavailable")
        # the Charge Point itself is not held: it is Available again at once
        await cp.wait_until(lambda: cp.status(0) == "Available")
        # the install ends (failed: no restart): the connectors take what was asked since
        firmware.gate.set()
        await until_statuses(rig, "Downloading", "Downloaded", "Installing", "InstallationFailed")
        await cp.wait_until(lambda: (cp.status(1), cp.status(2)) == ("Available",) * 2)
        assert rig.system.resets == []
        await cp.token_presented("TAG-2", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-2")


async def test_without_a_firmware_port_the_download_fails_at_retrieve_date(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:  # the default test host has no firmware port
        await update(rig, retrieve_in=120)
        start = trio.current_time()
        await until_statuses(rig, "DownloadFailed")
        assert trio.current_time() - start == pytest.approx(120)


async def test_a_new_update_replaces_one_still_waiting(tmp_path, autojump_clock):
    firmware = ScriptedFirmware()
    async with running(tmp_path, host=firmware_host(firmware)) as rig:
        await update(rig, retrieve_in=600, location="https://fw.example/old.bin")
        await update(rig, retrieve_in=60, location="https://fw.example/new.bin")
        await until_statuses(rig, "Downloading", "Downloaded", "Installing")
        assert [location for _, location in firmware.attempts] == ["https://fw.example/new.bin"]


@attrs.define
class StuckFirmware(ScriptedFirmware):
    """A port whose download or installation never ends: the power goes first."""

    stuck_in: str = "download"

    async def download_firmware(self, location):
        if self.stuck_in == "download":
            await trio.sleep_forever()
        return await super().download_firmware(location)

    async def install_firmware(self):
        await trio.sleep_forever()


@pytest.mark.parametrize(
    ("stuck_in", "before", "after"),
    [
        ("download", ["Downloading"], "DownloadFailed"),
        ("install", ["Downloading", "Downloaded", "Installing"], "InstallationFailed"),
    ],
)
async def test_a_power_loss_during_the_update_is_reported_after_the_restart(
    tmp_path, autojump_clock, stuck_in, before, after
):
    clock = StationClock(START)
    firmware = StuckFirmware(stuck_in=stuck_in)
    async with running(tmp_path, host=firmware_host(firmware), clock=clock, **TWO) as rig:
        await update(rig)
        await until_statuses(rig, *before)
        await trio.sleep(30)
    # the power comes back: the procedure was kept, its failure is reported after the boot
    async with running(tmp_path, host=firmware_host(ScriptedFirmware()), clock=clock) as rig:
        await until_statuses(rig, after)
        actions = rig.csms.actions("CP-1")
        assert actions.index("BootNotification") < actions.index("FirmwareStatusNotification")
        assert rig.cp.station.features.firmware.status() == "Idle"
        assert rig.cp.status(1) == "Available"


async def test_an_update_waiting_for_its_retrieve_date_survives_a_restart(tmp_path, autojump_clock):
    clock = StationClock(START)
    async with running(tmp_path, host=firmware_host(ScriptedFirmware()), clock=clock) as rig:
        await update(rig, retrieve_in=3600)
        retrieve = clock.deadline(clock.now() + timedelta(seconds=3600))
        await trio.sleep(600)
    firmware = ScriptedFirmware()
    async with running(tmp_path, host=firmware_host(firmware), clock=clock) as rig:
        await until_statuses(rig, "Downloading", "Downloaded", "Installing")
        assert firmware.attempts == [
            (pytest.approx(retrieve), "https://fw.example/station-2.0.bin")
        ]
