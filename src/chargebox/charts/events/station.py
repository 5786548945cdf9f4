"""The events of statecharts/station.yaml: the station coordinator's joint table.

Three kinds reach the station's chart:
- news of the other actors, which its model mirrors: `ConnectorChanged`,
  `TransactionChanged` and `ReservationChanged` (reported by those charts,
  see their `reports`), `LinkStateChanged` and the registration news of the
  link, `StopTransactionDone` of the outbox;
- what the store kept over a restart (power-loss recovery):
  `OpenTransactionFound`, `RecoveryListed`, and the host's `ResumeAnswered`;
- the requests it decides, asked by the handle (`TokenPresented`) and the
  features (`ChangeAvailability`, `RemoteStart`, `Reset`, `ReserveNow` ...),
  answered with the transition's Reply; `ParentFound` and `HostReserved` bring
  back what a request waited for.

A request that may wait carries `request`: the station's actor numbers the ask
there, and the model keeps the number until it can reply.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class StationEvent(ChartEvent):
    """An event of the station's chart."""

    chart: ClassVar[str] = "station"


# -- what the other actors tell the station ---------------------------------------------


@attrs.frozen(kw_only=True)
class ConnectorChanged(StationEvent):
    """A connector (0: the Charge Point) changed status, or whether a session holds it."""

    trigger: ClassVar[str] = "connector_changed"
    connector_id: int
    status: str
    #: a session holds the connector, also under a fault (ConnectorModel.in_session)
    in_session: bool = False


@attrs.frozen(kw_only=True)
class TransactionChanged(StationEvent):
    """The transaction chart of a connector moved (its state, idTag or transactionId)."""

    trigger: ClassVar[str] = "transaction_changed"
    connector_id: int
    state: str
    id_tag: str | None = None
    transaction_id: int | None = None
    #: the parentIdTag known for id_tag (added by the station's actor from the Authorizer)
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class ReservationChanged(StationEvent):
    """The reservation of a connector (0: for any connector) changed."""

    trigger: ClassVar[str] = "reservation_changed"
    connector_id: int
    state: str
    reservation_id: int | None = None
    id_tag: str | None = None
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class LinkStateChanged(StationEvent):
    """The link entered or left Accepted (the transactions' `online` input follows)."""

    trigger: ClassVar[str] = "link_state_changed"
    accepted: bool


@attrs.frozen(kw_only=True)
class RegistrationAccepted(StationEvent):
    """BootNotification was Accepted: every connector's status goes out."""

    trigger: ClassVar[str] = "registration_accepted"
    heartbeat_interval: int


@attrs.frozen(kw_only=True)
class Reconnected(StationEvent):
    """The link is back while the registration stands: every status goes out again."""

    trigger: ClassVar[str] = "reconnected"
    heartbeat_interval: int


@attrs.frozen(kw_only=True)
class SecurityProfileConfirmed(StationEvent):
    """A new SecurityProfile connected: it is kept (and a security event recorded)."""

    trigger: ClassVar[str] = "security_profile_confirmed"
    security_profile: int


@attrs.frozen(kw_only=True)
class SecurityProfileReverted(StationEvent):
    """A new SecurityProfile failed its connection attempt: back to the previous one."""

    trigger: ClassVar[str] = "security_profile_reverted"
    failed: int
    security_profile: int


@attrs.frozen(kw_only=True)
class StopTransactionDone(StationEvent):
    """A StopTransaction left the queue (delivered, or dropped after its attempts)."""

    trigger: ClassVar[str] = "stop_transaction_done"
    #: the store's reference of its transaction
    tx_ref: int


@attrs.frozen(kw_only=True)
class FirmwareHold(StationEvent):
    """The firmware procedure holds every connector out of service, or gives them back."""

    trigger: ClassVar[str] = "firmware_hold"
    holding: bool


# -- power-loss recovery --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OpenTransactionFound(StationEvent):
    """At start: a transaction the store holds open (a power loss interrupted it)."""

    trigger: ClassVar[str] = "open_transaction_found"
    tx_ref: int
    connector_id: int
    id_tag: str
    session_id: str | None = None
    transaction_id: int | None = None


@attrs.frozen(kw_only=True)
class RecoveryListed(StationEvent):
    """At start: every open transaction was listed; `stops_queued` StopTransactions wait
    in the queue from before."""

    trigger: ClassVar[str] = "recovery_listed"
    stops_queued: int = 0


@attrs.frozen(kw_only=True)
class ResumeAnswered(StationEvent):
    """The host's answer (SystemPort.resume_session) for an interrupted transaction."""

    trigger: ClassVar[str] = "resume_answered"
    tx_ref: int
    resumed: bool


# -- requests -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TokenPresented(StationEvent):
    """An idTag was presented (the handle's token_presented), at a connector or not."""

    trigger: ClassVar[str] = "token_presented"
    id_tag: str
    connector_id: int | None = None
    #: the parentIdTag known for id_tag (the station's actor adds it), or the one an
    #: Authorize.req found (looked_up)
    parent_id_tag: str | None = None
    #: the parentIdTag was asked for already (Authorize.req), so it is not asked again
    looked_up: bool = False
    request: int = 0


@attrs.frozen(kw_only=True)
class ContractPresented(StationEvent):
    """An EV presented its contract (Plug&Charge) at a connector: may its eMAID begin there?"""

    trigger: ClassVar[str] = "contract_presented"
    #: the contract's eMAID, the transaction's idTag
    id_tag: str
    connector_id: int
    #: the parentIdTag known for the eMAID (the station's actor adds it)
    parent_id_tag: str | None = None
    request: int = 0


@attrs.frozen(kw_only=True)
class ParentFound(StationEvent):
    """The Authorize.req a presented idTag waited for answered with this parentIdTag."""

    trigger: ClassVar[str] = "parent_found"
    request: int
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class ChangeAvailability(StationEvent):
    """ChangeAvailability.req for a connector (0: the Charge Point and every connector)."""

    trigger: ClassVar[str] = "change_availability"
    connector_id: int
    operative: bool


@attrs.frozen(kw_only=True)
class RemoteStartConnector(StationEvent):
    """Which connector a RemoteStartTransaction would use (answered, nothing sent)."""

    trigger: ClassVar[str] = "remote_start_connector"
    id_tag: str
    connector_id: int | None = None
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class RemoteStart(StationEvent):
    """RemoteStartTransaction.req: a connector is chosen and its transaction told."""

    trigger: ClassVar[str] = "remote_start"
    id_tag: str
    connector_id: int | None = None
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class RemoteStop(StationEvent):
    """RemoteStopTransaction.req for a transactionId."""

    trigger: ClassVar[str] = "remote_stop"
    transaction_id: int


@attrs.frozen(kw_only=True)
class Reset(StationEvent):
    """Reset.req: Soft or Hard."""

    trigger: ClassVar[str] = "reset"
    kind: str


@attrs.frozen(kw_only=True)
class ResetTimeout(StationEvent):
    """Timer: WaitForStopTransactionsOnResetTimeout passed."""

    trigger: ClassVar[str] = "reset_timeout"


@attrs.frozen(kw_only=True)
class ReserveNow(StationEvent):
    """ReserveNow.req; `now` is the station clock's time when it arrived."""

    trigger: ClassVar[str] = "reserve_now"
    connector_id: int
    reservation_id: int
    id_tag: str
    expiry_date: datetime
    now: datetime
    parent_id_tag: str | None = None
    request: int = 0


@attrs.frozen(kw_only=True)
class HostReserved(StationEvent):
    """The host's reservation port answered a ReserveNow (no port: True at once)."""

    trigger: ClassVar[str] = "host_reserved"
    request: int
    accepted: bool


@attrs.frozen(kw_only=True)
class CancelReservation(StationEvent):
    """CancelReservation.req for a reservationId."""

    trigger: ClassVar[str] = "cancel_reservation"
    reservation_id: int
