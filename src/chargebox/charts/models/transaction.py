"""Model of statecharts/transaction.yaml: one transaction on one connector, from idTag to stop.

The configuration keys that decide the transaction's course
(AuthorizeRemoteTxRequests, StopTransactionOnInvalidId,
StopTransactionOnEVSideDisconnect, UnlockConnectorOnEVSideDisconnect) and
whether the link is up are inputs: plain attributes the owner keeps current
(chargebox.actors.messages.SetInputs) and the chart's guards read by name. A
changed ConnectionTimeOut or MeterValueSampleInterval is an event. A finished
transaction's model is used again by the next one: the transitions out of
Stopped that begin it drop what it remembered (start_over).
"""

from __future__ import annotations

from typing import Any, Self

import attrs

from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    CancelTimer,
    Effect,
    HostCommand,
    SampleMeterValues,
    Send,
    SendRequest,
    StartTimer,
)
from chargebox.charts.events import reservation as reservation_events
from chargebox.charts.events.connector import (
    ConnectorEvent,
    SuspendedByEv,
    SuspendedByEvse,
    TransactionStopped,
    UsageEnded,
    UsageInitiated,
)
from chargebox.charts.events.station import TransactionChanged
from chargebox.charts.model import ChartModel

CONNECTION_TIMEOUT = "connection_timeout"
SAMPLE = "sample_due"

#: the states in which a transaction runs (started, not yet stopped)
ACTIVE_STATES = frozenset({"Starting", "StartedOffline", "Active", "Suspended", "Stopping"})
#: the states in which an idTag is being authorized or waits for the transaction to start
PENDING_STATES = frozenset({"Authorizing", "Authorized"})
#: what a transaction tells the reservation it uses
_ReservationNews = (
    reservation_events.Claimed
    | reservation_events.ClaimDropped
    | reservation_events.TransactionStarted
)


@attrs.frozen
class NewTransaction(Effect):
    """A new transaction begins on the connector: the stored record of the last one is
    not this one's (its owner forgets which record it writes to)."""


@attrs.frozen
class AuthorizeContract(Effect):
    """Decide on the contract an EV presented (Plug&Charge): DataTransfer Authorize, or
    the station's own validation offline. The verdict comes back as
    `authorization_accepted` or `authorization_rejected`."""

    connector_id: int
    emaid: str
    certificate: str | None = attrs.field(default=None, repr=False)
    ocsp: tuple[Any, ...] | None = None


class TransactionModel(ChartModel):
    """One transaction attempt on connector `connector_id`."""

    __slots__ = (
        "authorize_remote_tx_requests",
        "connection_timeout",
        "connector_id",
        "id_tag",
        "meter_value_sample_interval",
        "online",
        "reservation_claimed",
        "reservation_connector",
        "reservation_id",
        "session_id",
        "stop_id_tag",
        "stop_reason",
        "stop_transaction_on_ev_side_disconnect",
        "stop_transaction_on_invalid_id",
        "suspended_for",
        "transaction_id",
        "unlock_connector_on_ev_side_disconnect",
    )
    chart_name = "transaction"

    def __init__(
        self,
        connector_id: int,
        *,
        connection_timeout: int = 120,
        authorize_remote_tx_requests: bool = True,
        stop_transaction_on_invalid_id: bool = True,
        stop_transaction_on_ev_side_disconnect: bool = True,
        unlock_connector_on_ev_side_disconnect: bool = True,
        online: bool = True,
        meter_value_sample_interval: int = 0,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        self.connector_id = connector_id
        #: ConnectionTimeOut (seconds): how long an authorization waits for the transaction.
        self.connection_timeout = connection_timeout
        self.authorize_remote_tx_requests = authorize_remote_tx_requests
        self.stop_transaction_on_invalid_id = stop_transaction_on_invalid_id
        self.stop_transaction_on_ev_side_disconnect = stop_transaction_on_ev_side_disconnect
        self.unlock_connector_on_ev_side_disconnect = unlock_connector_on_ev_side_disconnect
        #: The link is Accepted by the Central System; else a StartTransaction waits in the queue.
        self.online = online
        #: MeterValueSampleInterval (seconds, 0: no sampled meter values during the transaction).
        self.meter_value_sample_interval = meter_value_sample_interval
        self.id_tag: str | None = None
        self.reservation_id: int | None = None
        #: The connector whose reservation the idTag uses (0: the reservation for any connector).
        self.reservation_connector: int | None = None
        #: The reservation was told it is claimed (so it must hear how the claim ends).
        self.reservation_claimed = False
        self.transaction_id: int | None = None
        #: Why energy is suspended while Suspended: "EVDisconnected" or "DeAuthorized".
        self.suspended_for: str | None = None
        self.stop_reason: str | None = None
        #: The idTag that ended the transaction (StopTransaction.idTag): the one a user
        #: presented to stop it, or the one the host names when it ends it.
        self.stop_id_tag: str | None = None
        #: The host's id of the session on the connector (it outlives a transaction).
        self.session_id: str | None = None

    @classmethod
    def example(cls) -> Self:
        return cls(1, connection_timeout=60, meter_value_sample_interval=60)

    # -- what the state says (read by the actors, the features and the handle) ------------

    @property
    def active(self) -> bool:
        """A transaction runs: started, not yet stopped."""
        return self.state in ACTIVE_STATES

    @property
    def authorizing(self) -> bool:
        """An idTag (or a contract) is being authorized: its answer is awaited."""
        return self.state == "Authorizing"

    @property
    def pending(self) -> bool:
        """An idTag is being authorized or waits for the transaction to start."""
        return self.state in PENDING_STATES

    @property
    def stopping(self) -> bool:
        """The stop is decided; the host has not ended the transaction yet."""
        return self.state == "Stopping"

    @property
    def stopped(self) -> bool:
        """The transaction is over (its StopTransaction is queued); the next one begins from
        here with a clean memory (start_over)."""
        return self.state == "Stopped"

    def report(self) -> TransactionChanged:
        """What the station's chart mirrors of this transaction (the chart's `reports`)."""
        return TransactionChanged(
            connector_id=self.connector_id,
            state=self.state,
            id_tag=self.id_tag,
            transaction_id=self.transaction_id,
        )

    def _to_connector(self, event: ConnectorEvent) -> None:
        self.record(Send(Address.connector(self.connector_id), event))

    # -- guards ---------------------------------------------------------------------------

    def id_tag_known(self, *, id_tag: str | None = None, **_event: Any) -> bool:
        """An idTag is authorized here, or the host names one (a transaction it authorized)."""
        return self.id_tag is not None or id_tag is not None

    def names_id_tag(self, *, id_tag: str | None = None, **_event: Any) -> bool:
        """The host names the idTag of a transaction it started (after the last one ended,
        no idTag of this connector is authorized)."""
        return id_tag is not None

    def transaction_id_given(self, *, transaction_id: int | None = None, **_event: Any) -> bool:
        """The resumed transaction got its transactionId before the power loss."""
        return transaction_id is not None

    def suspended_for_ev_disconnect(self, **_event: Any) -> bool:
        """Suspended because the EV side disconnected (not because the idTag was refused)."""
        return self.suspended_for == "EVDisconnected"

    # -- actions --------------------------------------------------------------------------

    def start_over(self, **_event: Any) -> None:
        """The last transaction is over and a new one begins: nothing of the old one stays
        (the session's id and the inputs do)."""
        self.id_tag = None
        self.reservation_id = None
        self.reservation_connector = None
        self.reservation_claimed = False
        self.transaction_id = None
        self.suspended_for = None
        self.stop_reason = None
        self.stop_id_tag = None
        self.record(NewTransaction())

    def remember_session(self, *, session_id: str | None = None, **_event: Any) -> None:
        self.session_id = session_id

    def remember_id_tag(
        self,
        *,
        id_tag: str,
        reservation_id: int | None = None,
        reservation_connector: int | None = None,
        **_event: Any,
    ) -> None:
        self.id_tag = id_tag
        self.reservation_id = reservation_id
        if reservation_id is not None:
            self.reservation_connector = (
                reservation_connector if reservation_connector is not None else self.connector_id
            )

    def forget_id_tag(self, **_event: Any) -> None:
        """No transaction for this idTag: a claimed reservation holds its connector again."""
        if self.reservation_claimed:
            self._tell_reservation(reservation_events.ClaimDropped)
        self.id_tag = None
        self.reservation_id = None
        self.reservation_connector = None
        self.reservation_claimed = False
        self.record(CancelTimer(CONNECTION_TIMEOUT))

    def _tell_reservation(self, event: type[_ReservationNews]) -> None:
        assert self.reservation_connector is not None
        self.record(
            Send(
                Address.reservation(self.reservation_connector),
                event(reservation_id=self.reservation_id),
            )
        )

    def request_authorization(self, **_event: Any) -> None:
        self.record(SendRequest("Authorize", {"id_tag": self.id_tag}))

    def request_contract_authorization(
        self,
        *,
        certificate: str | None = None,
        ocsp: tuple[Any, ...] | None = None,
        **_event: Any,
    ) -> None:
        assert self.id_tag is not None
        self.record(AuthorizeContract(self.connector_id, self.id_tag, certificate, ocsp))

    def await_transaction_start(self, **_event: Any) -> None:
        """Authorized: the host may start; ConnectionTimeOut bounds the wait for the plug.

        With a reservation the connector leaves Reserved (G2) and the reservation is claimed.
        """
        self.record(HostCommand("authorize", self.connector_id, {"id_tag": self.id_tag}))
        self._to_connector(UsageInitiated(reservation_id=self.reservation_id))
        if self.reservation_id is not None:
            self._tell_reservation(reservation_events.Claimed)
            self.reservation_claimed = True
        self.record(StartTimer(CONNECTION_TIMEOUT, seconds=self.connection_timeout))

    def give_up_waiting(self, **_event: Any) -> None:
        """ConnectionTimeOut passed without a transaction: the connector's usage ends (B1)."""
        self.record(HostCommand("withdraw_authorization", self.connector_id))
        self._to_connector(UsageEnded(info="ConnectionTimeout"))

    def send_start_transaction(
        self,
        *,
        meter_start: int = 0,
        timestamp: str | None = None,
        id_tag: str | None = None,
        reservation_id: int | None = None,
        **_event: Any,
    ) -> None:
        """StartTransaction.req goes to the transaction-message queue, online or not."""
        if id_tag is not None and self.id_tag is None:
            self.id_tag = id_tag
        if reservation_id is not None and self.reservation_id is None:
            # a host that handled the reservation itself says which one it used: the
            # connector leaves Reserved (G2) and the reservation ends by being used (5.13);
            # it is this connector's or connector 0's, and the one holding it hears
            self.reservation_id = reservation_id
            self._to_connector(UsageInitiated(reservation_id=reservation_id))
            for holder in (self.connector_id, 0):
                self.record(
                    Send(
                        Address.reservation(holder),
                        reservation_events.UsedByHost(reservation_id=reservation_id),
                    )
                )
        self.record(CancelTimer(CONNECTION_TIMEOUT))
        payload: dict[str, Any] = {
            "connector_id": self.connector_id,
            "id_tag": self.id_tag,
            "meter_start": meter_start,
            "timestamp": timestamp,
        }
        if self.reservation_id is not None:
            payload["reservation_id"] = self.reservation_id
        self.record(SendRequest("StartTransaction", payload))
        if self.reservation_claimed:
            # the reservation ends by being used (spec 5.13)
            self._tell_reservation(reservation_events.TransactionStarted)
            self.reservation_claimed = False
        self._arm_sample()

    def _arm_sample(self) -> None:
        if self.meter_value_sample_interval > 0:
            self.record(StartTimer(SAMPLE, seconds=self.meter_value_sample_interval))

    def rearm_sample(self, *, interval: int, **_event: Any) -> None:
        """MeterValueSampleInterval changed during the transaction: the next sample is one
        new interval from now (none at the change itself); 0 stops the samples."""
        self.meter_value_sample_interval = interval
        if interval > 0:
            self.record(StartTimer(SAMPLE, seconds=interval))
        else:
            self.record(CancelTimer(SAMPLE))

    def remember_sample_interval(self, *, interval: int, **_event: Any) -> None:
        self.meter_value_sample_interval = interval

    def remember_connection_timeout(self, *, seconds: int, **_event: Any) -> None:
        self.connection_timeout = seconds

    def sample_meter_values(self, **_event: Any) -> None:
        """MeterValueSampleInterval: the sampled meter values of the transaction, then re-arm."""
        self.record(SampleMeterValues(self.connector_id, "Sample.Periodic"))
        self._arm_sample()

    def remember_transaction_id(self, *, transaction_id: int, **_event: Any) -> None:
        self.transaction_id = transaction_id

    def stop_for_invalid_id(self, **_event: Any) -> None:
        """StopTransactionOnInvalidId: pause the energy and stop (reason DeAuthorized)."""
        self.record(HostCommand("pause_charging", self.connector_id))
        self._request_stop("DeAuthorized")

    def suspend_for_invalid_id(self, **_event: Any) -> None:
        """StopTransactionOnInvalidId false: the transaction runs on without energy (C5)."""
        self.suspended_for = "DeAuthorized"
        self.record(HostCommand("pause_charging", self.connector_id))
        self._to_connector(SuspendedByEvse())

    def stop_for_ev_side_disconnect(self, **_event: Any) -> None:
        """StopTransactionOnEVSideDisconnect: stop; the connector goes Finishing (C6)."""
        self._request_stop("EVDisconnected")
        self._to_connector(TransactionStopped(info="EV side disconnected"))

    def unlock_connector(self, **_event: Any) -> None:
        """UnlockConnectorOnEVSideDisconnect: release the cable at the Charge Point."""
        self.record(HostCommand("unlock_connector", self.connector_id))

    def suspend_for_ev_side_disconnect(self, **_event: Any) -> None:
        """StopTransactionOnEVSideDisconnect false: keep the transaction and the lock (C4)."""
        self.suspended_for = "EVDisconnected"
        self._to_connector(SuspendedByEv(info="EV side disconnected"))

    def resume_after_reconnect(self, **_event: Any) -> None:
        self.suspended_for = None

    def request_stop(self, *, reason: str = "Remote", **_event: Any) -> None:
        """Stop asked by the Central System or the engine: the host ends the transaction."""
        self._request_stop(reason)

    def remember_stop_id_tag(self, *, id_tag: str, **_event: Any) -> None:
        self.stop_id_tag = id_tag

    def request_local_stop(self, **_event: Any) -> None:
        """A user presented an idTag that may end the transaction: the host stops it."""
        self._request_stop("Local")

    def take_up(
        self,
        *,
        id_tag: str,
        transaction_id: int | None = None,
        session_id: str | None = None,
        **_event: Any,
    ) -> None:
        """A transaction a power loss interrupted goes on: its idTag, transactionId and
        session, and its samples every MeterValueSampleInterval from now (errata 3.15)."""
        self.id_tag = id_tag
        self.transaction_id = transaction_id
        self.session_id = session_id
        self._arm_sample()

    def _request_stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.record(HostCommand("stop_transaction", self.connector_id, {"reason": reason}))

    def send_stop_transaction(
        self,
        *,
        meter_stop: int = 0,
        timestamp: str | None = None,
        reason: str | None = None,
        id_tag: str | None = None,
        **_event: Any,
    ) -> None:
        """StopTransaction.req goes to the queue; a missing transactionId is filled in there.

        `id_tag` is the idTag that ended it when the host names one (else the one that
        asked for the stop, if any): StopTransaction.idTag.
        """
        if id_tag is not None:
            self.stop_id_tag = id_tag
        payload: dict[str, Any] = {
            "transaction_id": self.transaction_id,
            "id_tag": self.id_tag,
            "meter_stop": meter_stop,
            "timestamp": timestamp,
        }
        final_reason = reason or self.stop_reason
        if final_reason is not None:
            payload["reason"] = final_reason
        if self.stop_id_tag is not None:
            payload["stop_id_tag"] = self.stop_id_tag
        self.record(CancelTimer(SAMPLE))
        self.record(SendRequest("StopTransaction", payload))
        if final_reason != "EVDisconnected":
            # the user's session goes on at the connector until the cable is out: Finishing
            # (a cable out at the EV side told the connector already); its status is
            # decided before the StopTransaction goes (the outbox hears of it last)
            self.record(Send(Address.connector(self.connector_id), TransactionStopped(), wait=True))
