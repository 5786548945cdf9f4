"""The station's own events: what the link, the outbox and the transactions tell the station.

The station has no chart file yet: these events go to its event stream
(chargebox.station), which reacts to them. They are named as the triggers of
a station chart would be, so that they can become its events.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class StationEvent(ChartEvent):
    """An event for the station itself."""

    chart: ClassVar[str] = "station"


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
class LinkStateChanged(StationEvent):
    """The link entered or left Accepted (the transactions' `online` input follows)."""

    trigger: ClassVar[str] = "link_state_changed"
    accepted: bool


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
class TransactionStopped(StationEvent):
    """The transaction of a connector reached Stopped."""

    trigger: ClassVar[str] = "transaction_stopped"
    connector_id: int


@attrs.frozen(kw_only=True)
class StopTransactionDone(StationEvent):
    """A StopTransaction left the queue (delivered, or dropped after its attempts)."""

    trigger: ClassVar[str] = "stop_transaction_done"
    #: the store's reference of its transaction
    tx_ref: int
