"""The events of statecharts/transaction.yaml: one transaction on one connector."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class TransactionEvent(ChartEvent):
    """An event of a connector's transaction chart."""

    chart: ClassVar[str] = "transaction"


@attrs.frozen(kw_only=True)
class IdTagPresented(TransactionEvent):
    """An idTag was presented at the connector (and may begin there)."""

    trigger: ClassVar[str] = "id_tag_presented"
    id_tag: str
    #: the reservation this idTag uses on the connector, if any
    reservation_id: int | None = None
    #: the connector holding that reservation (0: the reservation for any connector)
    reservation_connector: int | None = None


@attrs.frozen(kw_only=True)
class ContractPresented(TransactionEvent):
    """An EV presented its contract over ISO 15118 (Plug&Charge); its eMAID is the idTag."""

    trigger: ClassVar[str] = "contract_presented"
    #: the contract's eMAID
    id_tag: str
    #: the contract certificate chain (PEM, leaf first), when the EV sent it
    certificate: str | None = None
    #: the OCSP request data of the chain (chargebox.host.OcspRequestData), when given
    ocsp: tuple[Any, ...] | None = None
    #: the reservation this eMAID uses on the connector, if any
    reservation_id: int | None = None
    #: the connector holding that reservation (0: the reservation for any connector)
    reservation_connector: int | None = None


@attrs.frozen(kw_only=True)
class RemoteStart(TransactionEvent):
    """RemoteStartTransaction was accepted for the connector."""

    trigger: ClassVar[str] = "remote_start"
    id_tag: str
    reservation_id: int | None = None
    reservation_connector: int | None = None


@attrs.frozen(kw_only=True)
class AuthorizationAccepted(TransactionEvent):
    """The idTag is Accepted (local list, cache or Authorize.conf)."""

    trigger: ClassVar[str] = "authorization_accepted"


@attrs.frozen(kw_only=True)
class AuthorizationRejected(TransactionEvent):
    """The idTag is not Accepted."""

    trigger: ClassVar[str] = "authorization_rejected"


@attrs.frozen(kw_only=True)
class SessionCancelled(TransactionEvent):
    """The user left before the transaction started."""

    trigger: ClassVar[str] = "session_cancelled"


@attrs.frozen(kw_only=True)
class ConnectionTimeout(TransactionEvent):
    """Timer: ConnectionTimeOut passed without a transaction."""

    trigger: ClassVar[str] = "connection_timeout"


@attrs.frozen(kw_only=True)
class TransactionStarted(TransactionEvent):
    """The host started the transaction."""

    trigger: ClassVar[str] = "transaction_started"
    #: energy register in Wh at the start
    meter_start: int
    #: when the transaction started (RFC 3339); None: now
    timestamp: str | None = None
    #: the idTag of a transaction the host authorized itself (free vend)
    id_tag: str | None = None
    #: the reservation the host used for it, if the host handled one
    reservation_id: int | None = None


@attrs.frozen(kw_only=True)
class StartAccepted(TransactionEvent):
    """StartTransaction.conf arrived with idTagInfo Accepted."""

    trigger: ClassVar[str] = "start_accepted"
    transaction_id: int
    #: the store's reference of the transaction the answer is for
    tx_ref: int | None = None


@attrs.frozen(kw_only=True)
class StartRejected(TransactionEvent):
    """StartTransaction.conf arrived with an idTagInfo other than Accepted."""

    trigger: ClassVar[str] = "start_rejected"
    transaction_id: int
    #: the AuthorizationStatus
    status: str
    tx_ref: int | None = None


@attrs.frozen(kw_only=True)
class EvSideDisconnected(TransactionEvent):
    """The cable was disconnected at the EV."""

    trigger: ClassVar[str] = "ev_side_disconnected"


@attrs.frozen(kw_only=True)
class EvReconnected(TransactionEvent):
    """The cable is back at the EV."""

    trigger: ClassVar[str] = "ev_reconnected"


@attrs.frozen(kw_only=True)
class StopRequested(TransactionEvent):
    """The transaction is to stop (the Central System, a local idTag, a reset, ...)."""

    trigger: ClassVar[str] = "stop_requested"
    #: the Reason for StopTransaction
    reason: str


@attrs.frozen(kw_only=True)
class SampleDue(TransactionEvent):
    """Timer: MeterValueSampleInterval passed."""

    trigger: ClassVar[str] = "sample_due"


@attrs.frozen(kw_only=True)
class TransactionFinished(TransactionEvent):
    """The host ended the transaction."""

    trigger: ClassVar[str] = "transaction_finished"
    #: energy register in Wh at the end
    meter_stop: int
    #: when the transaction ended (RFC 3339); None: now
    timestamp: str | None = None
    #: the Reason, when the host itself decided to stop
    reason: str | None = None
    #: the idTag that ended it, when the host says so (StopTransaction.idTag)
    id_tag: str | None = None


@attrs.frozen(kw_only=True)
class SessionStarted(TransactionEvent):
    """A user began a session on the connector; its id goes with the next transaction."""

    trigger: ClassVar[str] = "session_started"
    #: the host's id of the session (None: the host names none)
    session_id: str | None = None


@attrs.frozen(kw_only=True)
class SampleIntervalChanged(TransactionEvent):
    """ChangeConfiguration(MeterValueSampleInterval) was accepted."""

    trigger: ClassVar[str] = "sample_interval_changed"
    #: the new interval in seconds (0: no sampled meter values)
    interval: int


@attrs.frozen(kw_only=True)
class ConnectionTimeoutChanged(TransactionEvent):
    """ChangeConfiguration(ConnectionTimeOut) was accepted."""

    trigger: ClassVar[str] = "connection_timeout_changed"
    #: the new ConnectionTimeOut in seconds
    seconds: int


@attrs.frozen(kw_only=True)
class StopPresented(TransactionEvent):
    """A user presented the idTag that started the transaction, or one of its group."""

    trigger: ClassVar[str] = "stop_presented"
    id_tag: str


@attrs.frozen(kw_only=True)
class Resume(TransactionEvent):
    """At start: the host resumes a transaction a power loss interrupted."""

    trigger: ClassVar[str] = "resume"
    #: the stored transaction (the actor takes up its record)
    tx_ref: int
    id_tag: str
    session_id: str | None = None
    transaction_id: int | None = None
