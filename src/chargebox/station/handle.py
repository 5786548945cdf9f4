"""The handle a host calls to tell the engine what happens, and `open_charge_point`.

Every method is a coroutine that returns once the engine has taken the event
in: the charts have moved, and whatever must survive a power cut (a
transaction's start or end, its meter readings) is in the store. So a host
that awaits `transaction_started(...)` knows the StartTransaction cannot be
lost any more.

A call the engine cannot take in raises, and changes nothing: StateError when
it does not fit (an unknown connector, an event the connector's or the
transaction's chart refuses in its state), StoreWriteError when what it hands
over cannot be written. The engine runs on; the next call that fits works.
Every method delivers its typed event the same way (`_event`): it asks the
actor (ActorGroup.ask), whose answer says whether the chart took it. A presented
idTag is the station's to route (statecharts/station.yaml): the handle asks the
station's actor and logs what it decided.

    async with open_charge_point(config, host, data_dir=path) as cp:
        await cp.session_started(1)                   # cable plugged in
        await cp.token_presented("04A2B3C4", 1)       # RFID card
        ...                                           # the engine calls host.evse.authorize
        await cp.transaction_started(1, meter_start=1200)
        await cp.resumed(1)                           # energy flows: Charging
        await cp.meter_values(1, {"Energy.Active.Import.Register": 1500})
        await cp.transaction_stopped(1, meter_stop=9800, reason="Local")
        await cp.session_stopped(1)                   # cable removed
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, overload

import trio

from chargebox.actors.clock import StationClock
from chargebox.actors.context import Options
from chargebox.actors.iso15118 import ISO15118_2_SCHEMA, request_ev_certificate
from chargebox.actors.messages import AskFailed
from chargebox.charts.addresses import Address
from chargebox.charts.events import ChartEvent
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import station as station_events
from chargebox.charts.events import transaction as transaction_events
from chargebox.charts.events.connector import ConnectorEvent
from chargebox.charts.events.transaction import TransactionEvent
from chargebox.charts.machine import NotAllowed
from chargebox.config import ChargePointConfig
from chargebox.errors import StateError, StationError
from chargebox.host import ContractAuthorization, Host, OcspRequestData, Reading, readings
from chargebox.ocpp import v16
from chargebox.ocpp.timestamps import format_datetime
from chargebox.ocpp.v16 import ACTION_OF, ACTIONS, Initiator
from chargebox.station.station import Station
from chargebox.store import Storage, Store

log = logging.getLogger(__name__)

E = TypeVar("E", bound=ChartEvent)

#: the actions a charge point sends (ChargePoint.call)
_OUR_ACTIONS = sorted(a for a, s in ACTIONS.items() if s.initiator is not Initiator.CentralSystem)


class ChargePoint:
    """What the host calls. Connector ids start at 1 (0 is the Charge Point itself)."""

    def __init__(self, station: Station) -> None:
        self._station = station
        #: the active errors of each connector: error code -> is_fault
        self._faults: dict[int, dict[str, bool]] = {}
        #: the active errors' (info, vendorId, vendorErrorCode), to report what remains
        self._error_details: dict[int, dict[str, tuple[str | None, ...]]] = {}

    # -- reading the engine's state -------------------------------------------------------

    @property
    def station(self) -> Station:
        return self._station

    @property
    def config(self) -> ChargePointConfig:
        return self._station.cfg

    @property
    def clock(self) -> StationClock:
        return self._station.ctx.clock

    @property
    def registered(self) -> bool:
        """BootNotification was Accepted and the link is up."""
        return self._station.endpoint.accepted

    @property
    def link_state(self) -> str:
        return self._station.link.model.state

    async def wait_until(self, predicate: Any) -> Any:
        """Wait until `predicate()` is truthy (checked whenever the engine's state moves)."""
        return await self._station.wait_until(predicate)

    def status(self, connector_id: int) -> str:
        """The connector's ChargePointStatus (0: the Charge Point)."""
        if connector_id == 0:
            return self._station.connector0.model.state
        return self._connector(connector_id).model.state

    def transaction_id(self, connector_id: int) -> int | None:
        tx = self._station.transactions[connector_id]
        return tx.model.transaction_id if tx.active else None

    def transaction_state(self, connector_id: int) -> str:
        return self._station.transactions[connector_id].model.state

    def _connector(self, connector_id: int) -> Any:
        try:
            return self._station.connectors[connector_id]
        except (KeyError, TypeError):
            raise StateError(
                f"connector {connector_id!r} does not exist: connectors are 1 to "
                f"{self._station.cfg.number_of_connectors} (NumberOfConnectors)"
            ) from None

    # -- delivering events --------------------------------------------------------------

    async def _event(self, address: Address[E], event: E) -> Any:
        """Deliver the event of a handle call and wait until it is handled; returns the
        transition's Reply.

        Raises StateError when the chart refuses it (nothing changed), or the
        error that kept it from being taken in (StoreWriteError: the transition
        was undone).
        """
        try:
            answer = await self._station.actors.ask(address, event)
        except AskFailed as failed:
            if isinstance(failed.error, StationError):
                raise failed.error from failed.error.__cause__
            raise StationError(
                f"{address}: the engine failed while handling {event.trigger}: {failed.error}"
            ) from failed.error
        if isinstance(answer.outcome, NotAllowed):
            raise StateError(self._refusal(address, answer.outcome))
        return answer.reply

    def _refusal(self, address: Address[Any], refused: NotAllowed) -> str:
        """What a refused call says: the connector, the state, and what the event needs."""
        kind = address.kind
        subject = (
            "the Charge Point" if address.number in (0, None) else f"connector {address.number}"
        )
        expected = _EXPECTED.get(refused.trigger)
        if expected is None:
            assert self._station.group is not None
            chart = self._station.group.actors[address].chart
            states = sorted(
                {s for t in chart.transitions if t.trigger == refused.trigger for s in t.sources}
            )
            expected = f"it is possible when the {kind} is {' or '.join(states)}"
        call = _CALLS.get(refused.trigger, refused.trigger)
        return f"{subject}: {call} is not possible while the {kind} is {refused.state}; {expected}"

    async def _to(self, address: Address[E], event: E) -> None:
        """Deliver an event that follows the call's own event; a refusal is only logged."""
        await self._station.deliver(address, event)

    async def settled(self, *addresses: Address[Any] | str) -> None:
        """Wait until the actors at `addresses` handled everything sent to them so far
        (an address, or its text: "transaction/1")."""
        for address in addresses:
            await self._station.settle(
                Address.parse(address) if isinstance(address, str) else address
            )

    async def drain(self, timeout: float) -> bool:
        """Wait, at most `timeout` seconds, until everything decided so far was delivered:
        no CALL in flight or waiting its turn, the transaction-message queue empty. True
        if so; False at the timeout or when the link is not Accepted (the messages then
        wait for the next connection, or the next start, on disk)."""
        with trio.move_on_after(timeout):
            return await self._station.drained()
        return False

    async def _connector_event(self, connector_id: int, event: ConnectorEvent) -> None:
        self._connector(connector_id)
        await self._event(Address.connector(connector_id), event)

    async def _transaction_event(self, connector_id: int, event: TransactionEvent) -> None:
        self._connector(connector_id)
        await self._event(Address.transaction(connector_id), event)

    # -- sessions -----------------------------------------------------------------------

    async def session_started(
        self, connector_id: int, *, session_id: str | None = None, log_folder: Path | None = None
    ) -> None:
        """A user started using the connector (cable plugged in, bay occupied)."""
        await self._connector_event(connector_id, connector_events.UsageInitiated())
        await self._event(
            Address.transaction(connector_id),
            transaction_events.SessionStarted(session_id=session_id),
        )
        if log_folder is not None and self._station.ctx.message_log is not None:
            self._station.ctx.message_log.session_started(
                session_id=session_id or f"session-{connector_id}", folder=log_folder
            )

    async def session_stopped(self, connector_id: int) -> None:
        """The session is over (cable removed); a transaction still running ends first."""
        tx = self._station.transactions[self._connector(connector_id).connector_id]
        if tx.pending:
            # the connector first: a reservation the idTag had claimed then finds it
            # Available and reserves it again (B1, then A7)
            await self._connector_event(connector_id, connector_events.UsageEnded())
            transaction = Address.transaction(connector_id)
            await self._to(transaction, transaction_events.SessionCancelled())
            await self.settled(transaction)
        else:
            if tx.active:
                # the cable is gone: StopTransactionOnEVSideDisconnect decides, for a
                # transaction held back too (a refused idTag); one already stopping goes on
                transaction = Address.transaction(connector_id)
                await self._to(transaction, transaction_events.EvSideDisconnected())
                await self.settled(transaction)
            await self._connector_event(connector_id, connector_events.UsageEnded())
        log_ = self._station.ctx.message_log
        if log_ is not None and tx.model.session_id is not None:
            log_.session_stopped(session_id=tx.model.session_id)

    async def plugin_timeout(self, connector_id: int) -> None:
        """A cable was plugged in but no authorization came within ConnectionTimeOut."""
        await self._connector_event(
            connector_id, connector_events.ConnectionTimeout(info="ConnectionTimeout")
        )

    async def token_presented(self, id_tag: str, connector_id: int | None = None) -> None:
        """An idTag was presented (RFID card, app, PIN).

        It stops the transaction it (or an idTag of its group) started; otherwise it
        is authorized for the given connector, or for the one a user is at. The
        station's chart decides (statecharts/station.yaml); returns once it has.
        """
        verdict = await self._event(
            Address.station(),
            station_events.TokenPresented(id_tag=id_tag, connector_id=connector_id),
        )
        if verdict.status == "Unknown":
            self._connector(verdict.connector_id)  # raises: names the connectors there are
        if verdict.why is not None:
            log.info("%s", verdict.why)

    # -- transactions ---------------------------------------------------------------------

    async def transaction_started(
        self,
        connector_id: int,
        *,
        meter_start: int,
        id_tag: str | None = None,
        timestamp: datetime | None = None,
        reservation_id: int | None = None,
    ) -> None:
        """The host started a transaction; StartTransaction is stored before this returns.

        The connector's transaction must be Authorized (an idTag was presented and the
        engine called `evse.authorize`), or `id_tag` given for a transaction the host
        authorized itself.
        """
        self._connector(connector_id)
        when = timestamp or self.clock.now()
        await self._transaction_event(
            connector_id,
            transaction_events.TransactionStarted(
                meter_start=meter_start,
                timestamp=format_datetime(when),
                id_tag=id_tag,
                reservation_id=reservation_id,
            ),
        )

    async def transaction_stopped(
        self,
        connector_id: int,
        *,
        meter_stop: int,
        timestamp: datetime | None = None,
        reason: str | None = None,
        id_tag: str | None = None,
    ) -> None:
        """The host ended the transaction; StopTransaction is stored before this returns."""
        when = timestamp or self.clock.now()
        finished = transaction_events.TransactionFinished(
            meter_stop=meter_stop, timestamp=format_datetime(when), reason=reason, id_tag=id_tag
        )
        # the transaction's chart tells the connector (Finishing), unless the cable went at
        # the EV side (statecharts/transaction.yaml, T18)
        await self._transaction_event(connector_id, finished)

    async def ev_disconnected(self, connector_id: int) -> None:
        """The cable was disconnected at the EV during a transaction."""
        await self._transaction_event(connector_id, transaction_events.EvSideDisconnected())

    async def ev_reconnected(self, connector_id: int) -> None:
        """The cable is back at the EV after `ev_disconnected` (the transaction went on)."""
        await self._transaction_event(connector_id, transaction_events.EvReconnected())
        connector = Address.connector(connector_id)
        await self._to(connector, connector_events.ResumedByEv())
        await self.settled(connector)

    # -- energy ---------------------------------------------------------------------------

    async def resumed(self, connector_id: int) -> None:
        """Energy flows (charging started or resumed)."""
        connector = self._connector(connector_id)
        await self._connector_event(connector_id, connector.model.resume_event())

    async def suspended_ev(self, connector_id: int) -> None:
        """The EV does not take the energy offered."""
        await self._connector_event(connector_id, connector_events.SuspendedByEv())

    async def suspended_evse(self, connector_id: int) -> None:
        """The EVSE offers no energy (a limit, a pause)."""
        await self._connector_event(connector_id, connector_events.SuspendedByEvse())

    async def meter_values(
        self,
        connector_id: int,
        values: Sequence[Reading] | Mapping[str, Any],
    ) -> None:
        """The latest readings of a connector (0: the station's main meter).

        The energy register never goes back: a lower Energy.Active.Import.Register
        than the connector had is taken as that value (with a warning).
        """
        st = self._station
        if connector_id != 0:
            self._connector(connector_id)
        st.meter.update(
            connector_id, readings(dict(values) if isinstance(values, Mapping) else values)
        )
        if connector_id in st.transactions:
            await st.transactions[connector_id].record_energy()

    # -- Plug&Charge (the ISO 15118 stack) -----------------------------------------------------

    async def contract_presented(
        self,
        connector_id: int,
        emaid: str,
        *,
        certificate: str | None = None,
        ocsp: Sequence[OcspRequestData] | None = None,
    ) -> None:
        """An EV presented its contract over ISO 15118 (PaymentDetailsReq): its eMAID, with
        the contract certificate chain (PEM, leaf first) and/or the chain's OCSP request
        data. Returns once the connector's transaction is Authorizing; the verdict goes to
        `Host.iso15118.authorization_response`, and an Accepted contract authorizes the
        connector like an idTag (`evse.authorize(connector_id, emaid)`).

        Raises StateError for a connector that does not exist or is busy, and for an
        eMAID that cannot be an idTag (empty, or longer than 20 characters).
        """
        connector = self._connector(connector_id)
        if not emaid or len(emaid) > 20:
            raise StateError(
                f"connector {connector_id}: eMAID {emaid!r} cannot be the transaction's idTag "
                "(1 to 20 characters, CiString20)"
            )
        st = self._station
        # the reservations decide whether the eMAID may begin there (statecharts/station.yaml)
        verdict = await self._event(
            Address.station(),
            station_events.ContractPresented(id_tag=emaid, connector_id=connector.connector_id),
        )
        if verdict.status != "Accepted":
            c = connector_id
            log.info("connector %d is reserved for another idTag; the contract is refused", c)
            tell = getattr(st.host.iso15118, "authorization_response", None)
            if tell is not None:
                refused = ContractAuthorization(
                    emaid,
                    "Invalid",
                    source="station",
                    reason=f"connector {c} is reserved for another idTag",
                )
                st.ctx.host_later("refuse the contract", lambda: tell(c, refused))
            return
        await self._transaction_event(
            connector_id,
            transaction_events.ContractPresented(
                id_tag=emaid,
                certificate=certificate,
                ocsp=tuple(ocsp) if ocsp else None,
                reservation_id=verdict.reservation_id,
                reservation_connector=verdict.reservation_connector,
            ),
        )

    async def ev_certificate_requested(
        self,
        connector_id: int,
        exi_request: str,
        *,
        action: str = "Install",
        schema_version: str = ISO15118_2_SCHEMA,
    ) -> None:
        """An EV asked for its contract certificate (CertificateInstallationReq, action
        Install; CertificateUpdateReq, Update): `exi_request` is the base64 of its EXI,
        passed to the Central System unchanged (Get15118EVCertificate). Returns at once;
        the answer goes to `Host.iso15118.certificate_response` (Failed when Plug&Charge
        is off, the link is down or the Central System does not answer)."""
        self._connector(connector_id)
        st = self._station

        async def ask() -> None:
            response = await request_ev_certificate(st.ctx, exi_request, action, schema_version)
            log.info(
                "connector %d: Get15118EVCertificate %s: %s%s",
                connector_id,
                action,
                response.status,
                f" ({response.reason})" if response.reason else "",
            )
            tell = getattr(st.host.iso15118, "certificate_response", None)
            if tell is not None:
                st.ctx.host_later(
                    "hand the EV its certificate response", lambda: tell(connector_id, response)
                )

        st.ctx.spawn(ask, name=f"Get15118EVCertificate {connector_id}")

    # -- any CALL -------------------------------------------------------------------------

    @overload
    async def call(
        self, request: v16.AuthorizeRequest, *, wait: float = ..., timeout: float | None = ...
    ) -> v16.AuthorizeResponse: ...
    @overload
    async def call(
        self,
        request: v16.BootNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.BootNotificationResponse: ...
    @overload
    async def call(
        self, request: v16.DataTransferRequest, *, wait: float = ..., timeout: float | None = ...
    ) -> v16.DataTransferResponse: ...
    @overload
    async def call(
        self,
        request: v16.DiagnosticsStatusNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.DiagnosticsStatusNotificationResponse: ...
    @overload
    async def call(
        self,
        request: v16.FirmwareStatusNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.FirmwareStatusNotificationResponse: ...
    @overload
    async def call(
        self, request: v16.HeartbeatRequest, *, wait: float = ..., timeout: float | None = ...
    ) -> v16.HeartbeatResponse: ...
    @overload
    async def call(
        self,
        request: v16.LogStatusNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.LogStatusNotificationResponse: ...
    @overload
    async def call(
        self, request: v16.MeterValuesRequest, *, wait: float = ..., timeout: float | None = ...
    ) -> v16.MeterValuesResponse: ...
    @overload
    async def call(
        self,
        request: v16.SecurityEventNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.SecurityEventNotificationResponse: ...
    @overload
    async def call(
        self, request: v16.SignCertificateRequest, *, wait: float = ..., timeout: float | None = ...
    ) -> v16.SignCertificateResponse: ...
    @overload
    async def call(
        self,
        request: v16.SignedFirmwareStatusNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.SignedFirmwareStatusNotificationResponse: ...
    @overload
    async def call(
        self,
        request: v16.StartTransactionRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.StartTransactionResponse: ...
    @overload
    async def call(
        self,
        request: v16.StatusNotificationRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.StatusNotificationResponse: ...
    @overload
    async def call(
        self,
        request: v16.StopTransactionRequest,
        *,
        wait: float = ...,
        timeout: float | None = ...,
    ) -> v16.StopTransactionResponse: ...
    async def call(self, request: Any, *, wait: float = 0.0, timeout: float | None = None) -> Any:
        """Send any OCPP 1.6 CALL a charge point sends and return the Central System's
        response, an instance of the action's response class.

        It takes its place in line with the engine's own CALLs (one in flight, a
        CALL of the Central System answered first) and goes once the registration
        is Accepted. `wait`: how long to wait for that (0: Offline at once);
        `timeout`: how long its answer may take (None: the engine's CALL timeout).
        The charts do not see it: its answer changes nothing in the engine (a
        StartTransaction sent this way is not a transaction of the engine's).
        Raises Offline, ConnectionLost, CallTimeout, CallFailed (all in
        chargebox.station); TypeError for an object that is not an OCPP 1.6
        request, StateError for a request only the Central System sends.
        """
        action = ACTION_OF.get(type(request))
        if action is None:
            raise TypeError(f"{type(request).__name__} is not an OCPP 1.6 request class")
        if ACTIONS[action].initiator is Initiator.CentralSystem:
            raise StateError(
                f"{action} is sent by the Central System, not by a charge point; "
                f"a charge point sends {', '.join(_OUR_ACTIONS)}"
            )
        return await self._station.endpoint.call(request, wait=wait, timeout=timeout)

    # -- DataTransfer ---------------------------------------------------------------------

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> tuple[str, str | None]:
        """Send a DataTransfer.req to the Central System: (DataTransferStatus, data).

        Raises chargebox.actors.endpoint.Offline when the link is not up (the host
        decides whether to try again later).
        """
        from chargebox.ocpp.v16 import DataTransferRequest

        response = await self._station.endpoint.call(
            DataTransferRequest(vendor_id=vendor_id, message_id=message_id, data=data)
        )
        return str(response.status), response.data

    # -- errors and availability ----------------------------------------------------------

    async def error_raised(
        self,
        connector_id: int,
        error_code: str,
        *,
        info: str | None = None,
        vendor_id: str | None = None,
        vendor_error_code: str | None = None,
        is_fault: bool = True,
    ) -> None:
        """An error. A fault (is_fault) makes the connector Faulted until every fault clears;
        another error is reported with the current status."""
        connector = self._station.connector0 if connector_id == 0 else self._connector(connector_id)
        self._faults.setdefault(connector_id, {})[error_code] = is_fault
        details = (info, vendor_id, vendor_error_code)
        self._error_details.setdefault(connector_id, {})[error_code] = details
        if is_fault:
            await self._event(
                Address.any_connector(connector_id),
                connector_events.FaultDetected(
                    error_code=error_code,
                    info=info,
                    vendor_id=vendor_id,
                    vendor_error_code=vendor_error_code,
                ),
            )
        else:
            self._report_error(connector, error_code, *details)

    def _report_error(
        self,
        connector: Any,
        error_code: str,
        info: str | None = None,
        vendor_id: str | None = None,
        vendor_error_code: str | None = None,
    ) -> None:
        """A StatusNotification of the connector's current status with an error (or NoError)."""
        from chargebox.actors.connector import Status

        self._station.reporter.notify(
            Status(
                connector.connector_id,
                connector.status().status,
                error_code,
                info,
                vendor_id,
                vendor_error_code,
                self.clock.now(),
            )
        )

    async def error_cleared(self, connector_id: int, error_code: str | None = None) -> None:
        """An error (or, without a code, every error) of the connector is gone.

        The last fault gone, the connector leaves Faulted; a warning (not a fault)
        gone, the Central System hears the current status with the warning that
        remains, or NoError (as libocpp does), so it does not keep a stale warning.
        """
        if connector_id != 0:
            self._connector(connector_id)
        faults = self._faults.setdefault(connector_id, {})
        details = self._error_details.setdefault(connector_id, {})
        if error_code is None:
            cleared = dict(faults)
            faults.clear()
            details.clear()
        else:
            cleared = {error_code: faults.pop(error_code)} if error_code in faults else {}
            details.pop(error_code, None)
        if any(faults.values()) or not cleared:
            return  # still Faulted, or nothing was active
        if any(cleared.values()):
            await self._event(Address.any_connector(connector_id), connector_events.FaultCleared())
        else:
            connector = (
                self._station.connector0 if connector_id == 0 else self._connector(connector_id)
            )
            if faults:
                latest = next(reversed(faults))
                self._report_error(connector, latest, *details.get(latest, ()))
            else:
                self._report_error(connector, "NoError")

    async def enabled(self, connector_id: int) -> None:
        """The host made the connector operative again."""
        await self._connector_event(connector_id, connector_events.BecomeOperative())

    async def disabled(self, connector_id: int) -> None:
        """The host took the connector out of service."""
        await self._connector_event(connector_id, connector_events.BecomeInoperative())


# The handle method that delivers each trigger (for the message of a refused call).
_CALLS = {
    "usage_initiated": "session_started",
    "usage_ended": "session_stopped",
    "connection_timeout": "plugin_timeout",
    "id_tag_presented": "token_presented",
    "contract_presented": "contract_presented",
    "stop_requested": "token_presented",
    "transaction_finished": "transaction_stopped",
    "ev_side_disconnected": "ev_disconnected",
    "charging_started": "resumed",
    "resumed_by_ev": "resumed",
    "resumed_by_evse": "resumed",
    "suspended_by_ev": "suspended_ev",
    "suspended_by_evse": "suspended_evse",
    "fault_detected": "error_raised",
    "fault_cleared": "error_cleared",
    "become_operative": "enabled",
    "become_inoperative": "disabled",
}

# What a refused event needs, where the states alone do not say it.
_EXPECTED = {
    "transaction_started": (
        "it needs an idTag authorized on the connector (token_presented, then the engine "
        "calls evse.authorize) or id_tag= for a transaction the host authorized itself, "
        "and no transaction running there"
    ),
    "transaction_finished": "it needs a transaction running on the connector (transaction_started)",
    "ev_side_disconnected": "it needs a transaction running on the connector",
    "ev_reconnected": "it needs a transaction suspended by ev_disconnected",
}


@asynccontextmanager
async def open_charge_point(
    config: ChargePointConfig | Path | str,
    host: Host,
    *,
    data_dir: Path | str | None = None,
    options: Options | None = None,
    clock: StationClock | None = None,
    message_log: Any = None,
    store: Storage | None = None,
) -> AsyncIterator[ChargePoint]:
    """Run a charge point for the block's duration; the engine stops when it ends.

    `config`: a loaded ChargePointConfig, or the path of a configuration file
    (its user overlay is then `<data_dir>/user-config.json`). `data_dir`: where
    the SQLite store lives (None: in memory, nothing survives a restart).
    `store`: a store of the caller's instead (chargebox.store.Storage: a
    MemoryStore, a SharedStore's, a Store opened before), left open at the end.
    """
    data = Path(data_dir) if data_dir is not None else None
    if not isinstance(config, ChargePointConfig):
        overlay = data / "user-config.json" if data is not None else None
        config = ChargePointConfig.load(Path(config), overlay)
    options = options or Options()
    clock = clock or StationClock()
    config.clock = clock.now
    # the store first: a damaged one (StoreDamaged) stops everything before it starts
    owned = store is None
    if store is None:
        store = Store(
            data / f"{_safe(config.charge_point_id)}.db" if data is not None else None,
            durability=options.durability,
        )
    station: Station | None = None
    try:
        if message_log is None:
            message_log = _message_log(config, options, data, clock)
        async with trio.open_nursery() as nursery:
            station = Station(config, host, store, options, clock, message_log, nursery)
            try:
                await station.start()
                yield ChargePoint(station)
            finally:
                if trio.current_effective_deadline() == -math.inf:
                    # cancelled (from outside, or by an actor's failure): the actors are
                    # cancelled with the block, so no close can run through them; they take
                    # no message any more, and the websocket goes with its tasks
                    station.stop()
                await close_websocket(station)
                # the station's tasks end by themselves; anything left (a feature's
                # service, a host command under way) is cancelled
                try:
                    await station.end()
                finally:
                    nursery.cancel_scope.cancel()
    finally:
        try:
            if station is not None:
                # its nursery is closed: the station hears nothing more of the store (whose
                # close may still write) nor of the clock, which may outlive it (passed in)
                station.detach()
            if owned:
                store.close()
        finally:
            if message_log is not None:
                message_log.close()


#: seconds the websocket's closing handshake may take when a station stops
CLOSE_TIMEOUT = 3.0


async def close_websocket(station: Station) -> None:
    """Close the station's websocket properly, so that the Central System learns at once
    that it went (bounded by CLOSE_TIMEOUT, even in a cancelled scope). Without a websocket
    there is nothing to close (the engine ends next: no reconnection is tried, and the
    actors hear nothing of the link's end)."""
    station.ctx.ending = True
    if not station.endpoint.connected:
        return
    with trio.move_on_after(CLOSE_TIMEOUT) as scope:
        scope.shield = True
        try:
            await station.close()
            await station.settle(Address.link())
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the actors are gone already (the engine failed): nothing to close


def _message_log(
    config: ChargePointConfig, options: Options, data: Path | None, clock: StationClock
) -> Any:
    """The message log the configuration asks for (LogMessages), in MessageLogPath."""
    from chargebox.messagelog import LogSettings, MessageLog, default_message_log_path

    settings = LogSettings.from_config(config)
    path = options.message_log_path
    if path is None and data is not None:
        path = default_message_log_path(data)
    if path is None or not settings.enabled:
        return None
    return MessageLog(path, settings, config.charge_point_id, clock=clock.now)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "chargepoint"
