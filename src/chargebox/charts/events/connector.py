"""The events of statecharts/connector.yaml (connectorId > 0), and of connector0.yaml.

Connector 0 (the Charge Point) takes a subset of a connector's events: the
availability changes and the faults. Those classes are events of both charts
(they subclass ConnectorEvent and Connector0Event), so that the same event
reaches connector 0 and the others, and a connector-only event such as
UsageInitiated cannot be addressed to connector 0.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class ConnectorEvent(ChartEvent):
    """An event of a connector's chart (statecharts/connector.yaml)."""

    chart: ClassVar[str] = "connector"


@attrs.frozen
class Connector0Event(ChartEvent):
    """An event of the Charge Point's chart (statecharts/connector0.yaml); every one of
    them is an event of the connectors' chart too."""

    chart: ClassVar[str] = "connector0"


@attrs.frozen(kw_only=True)
class UsageInitiated(ConnectorEvent):
    """A user started using the connector (cable plugged in, or an authorized idTag)."""

    trigger: ClassVar[str] = "usage_initiated"
    reservation_id: int | None = None


@attrs.frozen(kw_only=True)
class UsageEnded(ConnectorEvent):
    """The session is over (cable removed, or ConnectionTimeOut without a transaction)."""

    trigger: ClassVar[str] = "usage_ended"
    info: str | None = None


@attrs.frozen(kw_only=True)
class ConnectionTimeout(ConnectorEvent):
    """The host says a plugged cable got no authorization within ConnectionTimeOut."""

    trigger: ClassVar[str] = "connection_timeout"
    info: str | None = None


@attrs.frozen(kw_only=True)
class ChargingStarted(ConnectorEvent):
    """Energy flows for the first time in the session."""

    trigger: ClassVar[str] = "charging_started"


@attrs.frozen(kw_only=True)
class SuspendedByEv(ConnectorEvent):
    """The EV does not take the energy offered."""

    trigger: ClassVar[str] = "suspended_by_ev"
    info: str | None = None


@attrs.frozen(kw_only=True)
class SuspendedByEvse(ConnectorEvent):
    """The EVSE offers no energy."""

    trigger: ClassVar[str] = "suspended_by_evse"


@attrs.frozen(kw_only=True)
class ResumedByEv(ConnectorEvent):
    """The EV takes energy again."""

    trigger: ClassVar[str] = "resumed_by_ev"


@attrs.frozen(kw_only=True)
class ResumedByEvse(ConnectorEvent):
    """The EVSE offers energy again."""

    trigger: ClassVar[str] = "resumed_by_evse"


@attrs.frozen(kw_only=True)
class TransactionStopped(ConnectorEvent):
    """The transaction on the connector ended (the connector goes Finishing)."""

    trigger: ClassVar[str] = "transaction_stopped"
    info: str | None = None


@attrs.frozen(kw_only=True)
class ReserveNow(ConnectorEvent):
    """A reservation holds the connector (from its reservation chart)."""

    trigger: ClassVar[str] = "reserve_now"
    #: the reservationId of ReserveNow
    reservation_id: int | None


@attrs.frozen(kw_only=True)
class ReservationEnded(ConnectorEvent):
    """The reservation holding the connector ended (expired, cancelled, lost)."""

    trigger: ClassVar[str] = "reservation_ended"


@attrs.frozen(kw_only=True)
class BecomeInoperative(ConnectorEvent, Connector0Event):
    """ChangeAvailability(Inoperative), or the host took the connector out of service."""

    trigger: ClassVar[str] = "become_inoperative"


@attrs.frozen(kw_only=True)
class BecomeOperative(ConnectorEvent, Connector0Event):
    """ChangeAvailability(Operative), or the host put the connector back in service."""

    trigger: ClassVar[str] = "become_operative"


@attrs.frozen(kw_only=True)
class FaultDetected(ConnectorEvent, Connector0Event):
    """A fault (a ChargePointErrorCode other than NoError) makes the connector Faulted."""

    trigger: ClassVar[str] = "fault_detected"
    error_code: str
    info: str | None = None
    vendor_error_code: str | None = None


@attrs.frozen(kw_only=True)
class FaultCleared(ConnectorEvent, Connector0Event):
    """The last fault is gone."""

    trigger: ClassVar[str] = "fault_cleared"
