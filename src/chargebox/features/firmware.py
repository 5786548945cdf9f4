"""FirmwareManagement profile, firmware half: UpdateFirmware, run by statecharts/firmware.yaml.

UpdateFirmware is answered at once (its answer has no status); the actor then
runs the procedure of the chart: the retrieve date, the download attempts on
the host's firmware port, the wait for running transactions with every
connector out of service, the installation, and the restart through the
host's system port (Hard), after which the host boots the station with the
new FirmwareVersion in its configuration. Every step's
FirmwareStatusNotification is sent in order. A host without a firmware port
still gets its UpdateFirmware answered; the chart reports DownloadFailed at
the retrieve date.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chargebox.charts.effects import (
    AwaitNoTransactions,
    Effect,
    HoldConnectors,
    HostCommand,
    SendRequest,
    Trigger,
)
from chargebox.charts.machine import Outcome
from chargebox.charts.models import FirmwareModel
from chargebox.features.transfer import TransferActor
from chargebox.ocpp import v16
from chargebox.station.host import ResetKind

if TYPE_CHECKING:
    from chargebox.station.station import Station

log = logging.getLogger(__name__)


def install(station: Station) -> None:
    firmware = Firmware(station)
    station.firmware = firmware  # type: ignore[attr-defined]
    station.handlers["UpdateFirmware"] = firmware.update_firmware


class FirmwareActor(TransferActor[FirmwareModel]):
    def __init__(self, station: Station) -> None:
        port = station.host.firmware
        model = FirmwareModel(firmware_port=port is not None and hasattr(port, "download_firmware"))
        super().__init__(station, "firmware", model)

    def busy(self) -> bool:
        """A transaction runs, or an authorized idTag waits to start one, on some connector."""
        return any(tx.active or tx.pending for tx in self.station.transactions.values())

    async def handle(self, message: Any) -> Outcome | None:
        # the chart's input, kept current: it decides whether the installation must wait
        self.model.transactions_running = self.busy()
        return await super().handle(message)

    async def perform(self, effect: Effect) -> None:
        st = self.station
        port = st.host.firmware
        if isinstance(effect, SendRequest):
            self.notify(effect)
        elif isinstance(effect, HostCommand) and effect.command == "download_firmware":
            assert port is not None
            location = effect.params["location"]
            self.attempt(
                "download the firmware",
                lambda: port.download_firmware(location),
                "download_succeeded",
                "download_failed",
            )
        elif isinstance(effect, HostCommand) and effect.command == "install_firmware":
            assert port is not None
            self.attempt(
                "install the firmware",
                port.install_firmware,
                "install_succeeded",
                "install_failed",
            )
        elif isinstance(effect, HostCommand) and effect.command == "reset":
            # after the Installed notification went out
            self.in_order(self._restart)
        elif isinstance(effect, HoldConnectors):
            await self._hold(effect.held)
        elif isinstance(effect, AwaitNoTransactions):
            assert self._nursery is not None
            self._nursery.start_soon(self._await_idle, effect.then)
        else:
            await super().perform(effect)

    async def _restart(self) -> None:
        system = self.station.host.system
        if system is None or not hasattr(system, "reset"):
            log.error("firmware installed, but the host has no system port to restart the station")
            return
        log.info("firmware installed: restarting the station")
        await self.ctx.call_host("restart after the firmware update", system.reset(ResetKind.Hard))

    async def _hold(self, held: bool) -> None:
        """Every connector out of service (held) or back to the availability the CSMS set."""
        st = self.station
        chosen = st.ctx.store.inoperative_connectors()
        for c in st.connectors:
            if held:
                trigger = "become_inoperative"
            elif c in chosen or 0 in chosen:
                continue  # ChangeAvailability made it Inoperative: it stays so
            else:
                trigger = "become_operative"
            await st.deliver(f"connector/{c}", Trigger(trigger))

    async def _await_idle(self, then: str) -> None:
        await self.station.wait_until(lambda: not self.busy())
        await self.inbox.send(Trigger(then))


class Firmware:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.actor = FirmwareActor(station)
        station.extra_actors.append(self.actor)

    def status(self) -> str:
        """The FirmwareStatus a TriggerMessage(FirmwareStatusNotification) reports now."""
        return self.actor.model.reported_status()

    async def update_firmware(self, req: v16.UpdateFirmwareRequest) -> Any:
        if not self.actor.model.firmware_port:
            log.warning(
                "UpdateFirmware, but the host has no firmware port: DownloadFailed will be "
                "reported at the retrieve date"
            )
        await self.station.deliver(
            self.actor.address,
            Trigger(
                "update_requested",
                {
                    "location": req.location,
                    "retrieve_date": req.retrieve_date,
                    "retries": req.retries,
                    "retry_interval": req.retry_interval,
                },
            ),
        )
        return v16.UpdateFirmwareResponse()
