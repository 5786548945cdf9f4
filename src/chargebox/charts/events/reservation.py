"""The events of statecharts/reservation.yaml: the reservation one connector holds."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class ReservationEvent(ChartEvent):
    """An event of a connector's reservation chart (connector 0: for any connector)."""

    chart: ClassVar[str] = "reservation"


@attrs.frozen(kw_only=True)
class Reserve(ReservationEvent):
    """ReserveNow was accepted for this connector."""

    trigger: ClassVar[str] = "reserve"
    reservation_id: int
    id_tag: str
    #: when the reservation ends (an aware UTC datetime)
    expiry_date: datetime
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class Restored(ReservationEvent):
    """A reservation the store kept over a restart is held again."""

    trigger: ClassVar[str] = "restored"
    reservation_id: int
    id_tag: str
    expiry_date: datetime
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class ReserveNow(ReservationEvent):
    """A ReserveNow with the reservationId held here replaces the reservation."""

    trigger: ClassVar[str] = "reserve_now"
    expiry_date: datetime
    id_tag: str
    parent_id_tag: str | None = None


@attrs.frozen(kw_only=True)
class Claimed(ReservationEvent):
    """The reservation's identity is authorized at a connector."""

    trigger: ClassVar[str] = "claimed"
    reservation_id: int | None


@attrs.frozen(kw_only=True)
class ClaimDropped(ReservationEvent):
    """The claiming idTag did not start a transaction."""

    trigger: ClassVar[str] = "claim_dropped"
    reservation_id: int | None


@attrs.frozen(kw_only=True)
class TransactionStarted(ReservationEvent):
    """A transaction started with the reservation: it ends by being used."""

    trigger: ClassVar[str] = "transaction_started"
    reservation_id: int | None


@attrs.frozen(kw_only=True)
class UsedByHost(ReservationEvent):
    """The host started a transaction itself, naming this reservation: it ends by being used."""

    trigger: ClassVar[str] = "used_by_host"
    reservation_id: int | None


@attrs.frozen(kw_only=True)
class ExpiryReached(ReservationEvent):
    """Timer: expiryDate has come."""

    trigger: ClassVar[str] = "expiry_reached"


@attrs.frozen(kw_only=True)
class CancelReservation(ReservationEvent):
    """CancelReservation for the reservation held here (or it moves to another connector)."""

    trigger: ClassVar[str] = "cancel_reservation"


@attrs.frozen(kw_only=True)
class ConnectorLost(ReservationEvent):
    """The connector became Faulted or Unavailable: the reservation ends."""

    trigger: ClassVar[str] = "connector_lost"
