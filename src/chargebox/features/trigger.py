"""RemoteTrigger profile: TriggerMessage.

The Central System asks for a message now (spec 5.17). The answer goes
first (the endpoint sends no CALL of ours while it answers one), then the
message, through the endpoint's CONNECTED gate: a triggered message may go
before the registration is Accepted (spec 4.2). Every message reports the
current state, read from the charts:

- BootNotification: in every link state but Rejected (where nothing may be sent)
  and before a connection exists. The link chart sends it at once
  (boot_triggered). Before Accepted its answer moves the registration as any
  BootNotification's does. Once Accepted it is sent too, as libocpp and the OCA
  1.6 test cases do (errata 3.35 recommends refusing it, but allows either):
  an Accepted answer keeps the registration and its heartbeat interval applies;
  Pending or Rejected withdraw the registration, as the Central System says.
- Heartbeat: sent by the link actor as its own heartbeats are, so its currentTime
  sets the station clock and the host's time exactly when theirs does
  (Options.adopt_csms_time).
- StatusNotification: the current status of the connector, or of the Charge
  Point and every connector when no connectorId is given (0: the Charge Point).
- MeterValues: the latest readings of the measurands in MeterValuesSampledData,
  context Trigger, of the connector or of every connector (and the main meter, 0)
  with readings; Rejected when there are none. During a transaction they are a
  transaction message with its transactionId, queued in order with the others.
- FirmwareStatusNotification, DiagnosticsStatusNotification: the current status
  of the firmware and diagnostics charts (Idle when nothing is going on);
  NotImplemented when the FirmwareManagement profile is not supported.

Only StatusNotification and MeterValues are about a connector: for them a
connectorId of a connector that does not exist is Rejected. The other messages'
connectorId is ignored and the message is sent (spec 5.17: "if the specified
connectorId is not relevant to the message, it should be ignored").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from chargebox.actors import meter as metering
from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Gate, Offline
from chargebox.charts.addresses import Address
from chargebox.charts.events.link import BootTriggered
from chargebox.features import Handler
from chargebox.features.diagnostics import Diagnostics
from chargebox.features.firmware import Firmware
from chargebox.ocpp import v16
from chargebox.ocpp.v16 import TriggerMessageStatus

log = logging.getLogger(__name__)

#: the messages a TriggerMessage's connectorId is relevant to (spec 5.17)
CONNECTOR_MESSAGES = frozenset({"StatusNotification", "MeterValues"})


class RemoteTrigger:
    """The RemoteTrigger profile; `firmware` and `diagnostics` report their statuses."""

    def __init__(
        self, ctx: StationContext, actors: Actors, *, firmware: Firmware, diagnostics: Diagnostics
    ) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.actors = actors
        self.firmware = firmware
        self.diagnostics = diagnostics
        self._answers: dict[str, Callable[[int | None], Awaitable[TriggerMessageStatus]]] = {
            "BootNotification": self._boot_notification,
            "DiagnosticsStatusNotification": self._diagnostics_status,
            "FirmwareStatusNotification": self._firmware_status,
            "Heartbeat": self._heartbeat,
            "MeterValues": self._meter_values,
            "StatusNotification": self._status_notification,
        }

    def handlers(self) -> dict[str, Handler]:
        return {"TriggerMessage": self.trigger_message}

    async def trigger_message(self, req: v16.TriggerMessageRequest) -> Any:
        what = str(req.requested_message)
        c = req.connector_id
        if what in CONNECTOR_MESSAGES and not self._names_a_connector(c):
            status = TriggerMessageStatus.Rejected
        elif what not in self._answers:
            status = TriggerMessageStatus.NotImplemented
        else:
            status = await self._answers[what](c)
        if status != TriggerMessageStatus.Accepted:
            log.info("TriggerMessage %s (connector %s): %s", what, c, status)
        return v16.TriggerMessageResponse(status=status)

    def _names_a_connector(self, c: int | None) -> bool:
        """No connectorId (every connector), 0 (the Charge Point) or an existing connector."""
        return c is None or c == 0 or c in self.actors.connectors

    # -- sending, after the answer -------------------------------------------------------

    def _later(self, what: str, send: Callable[[], Awaitable[None]]) -> None:
        # a CALL of ours waits until the answer to the Central System's CALL has gone
        self.ctx.spawn(send, name=f"triggered {what}")

    async def _call(self, request: Any) -> Any:
        try:
            return await self.ctx.endpoint.call(request, gate=Gate.CONNECTED)
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.info("triggered %s not delivered: %s", type(request).__name__, e)
            return None

    # -- the messages -------------------------------------------------------------------

    async def _boot_notification(self, c: int | None) -> TriggerMessageStatus:
        if not self.actors.link.model.boot_triggerable:
            return TriggerMessageStatus.Rejected
        await self.actors.deliver(Address.link(), BootTriggered())
        return TriggerMessageStatus.Accepted

    async def _heartbeat(self, c: int | None) -> TriggerMessageStatus:
        link = self.actors.link
        self._later("Heartbeat", lambda: link.heartbeat(gate=Gate.CONNECTED))
        return TriggerMessageStatus.Accepted

    async def _status_notification(self, c: int | None) -> TriggerMessageStatus:
        actors = self.actors
        targets = [c] if c is not None else [0, *actors.connectors]

        async def send() -> None:
            for target in targets:
                connector = actors.connector0 if target == 0 else actors.connectors[target]
                await self._call(connector.status().request())

        self._later("StatusNotification", send)
        return TriggerMessageStatus.Accepted

    async def _meter_values(self, c: int | None) -> TriggerMessageStatus:
        actors = self.actors
        measurands = metering.selectors(self.cfg.get("MeterValuesSampledData"))
        targets = [c] if c is not None else [0, *actors.connectors]
        now = self.ctx.clock.now()
        values = {
            target: value
            for target in targets
            if (value := actors.meter.meter_value(target, measurands, "Trigger", now)) is not None
        }
        if not values:
            return TriggerMessageStatus.Rejected  # no readings to report (the host gave none yet)

        async def send() -> None:
            for target, value in values.items():
                tx = actors.transactions.get(target)
                if tx is not None and tx.active and tx.ref is not None:
                    await tx.sample("Trigger")  # a transaction message, queued in order
                else:
                    await self._call(
                        v16.MeterValuesRequest(connector_id=target, meter_value=[value])
                    )

        self._later("MeterValues", send)
        return TriggerMessageStatus.Accepted

    def _firmware_management(self) -> bool:
        return "FirmwareManagement" in self.cfg.supported_feature_profiles

    async def _firmware_status(self, c: int | None) -> TriggerMessageStatus:
        if not self._firmware_management():
            return TriggerMessageStatus.NotImplemented
        status = self.firmware.status()
        self._later(
            "FirmwareStatusNotification",
            lambda: self._sent(v16.FirmwareStatusNotificationRequest(status=status)),
        )
        return TriggerMessageStatus.Accepted

    async def _diagnostics_status(self, c: int | None) -> TriggerMessageStatus:
        if not self._firmware_management():
            return TriggerMessageStatus.NotImplemented
        status = self.diagnostics.status()
        self._later(
            "DiagnosticsStatusNotification",
            lambda: self._sent(v16.DiagnosticsStatusNotificationRequest(status=status)),
        )
        return TriggerMessageStatus.Accepted

    async def _sent(self, request: Any) -> None:
        await self._call(request)
