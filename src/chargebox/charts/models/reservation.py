"""Model of statecharts/reservation.yaml: the reservation one connector holds (0: any connector).

One model per connector, plus one for connector 0 whose reservation may be
served by any connector; each holds at most one reservation at a time, so a
station has a fixed set of small models and actors whatever the Central
System reserves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, Self

from chargebox.charts.addresses import Address
from chargebox.charts.effects import CancelTimer, HostCommand, Send, StartTimer
from chargebox.charts.events.connector import ConnectorEvent, ReservationEnded, ReserveNow
from chargebox.charts.events.station import ReservationChanged
from chargebox.charts.model import ChartModel

EXPIRY = "expiry_reached"


class _Stated(Protocol):
    @property
    def state(self) -> str: ...


class ReservationStates:
    """What a reservation's state says: one definition for the chart's model and for the
    station chart's mirror of it (models/station.py, ReservationView)."""

    __slots__ = ()

    @property
    def holding(self: _Stated) -> bool:
        """A reservation is held (Reserved or Claimed)."""
        return self.state != "Idle"

    @property
    def waiting(self: _Stated) -> bool:
        """A reservation is held and waits for its identity (Reserved, not yet claimed)."""
        return self.state == "Reserved"

    @property
    def claimed(self: _Stated) -> bool:
        """The reservation's identity is authorized at a connector (Claimed)."""
        return self.state == "Claimed"


class ReservationModel(ChartModel, ReservationStates):
    """The reservation of connector `connector_id` (0: a reservation for any connector)."""

    __slots__ = ("connector_id", "expiry_date", "id_tag", "parent_id_tag", "reservation_id")
    chart_name = "reservation"

    def __init__(self, connector_id: int = 1, *, state: str | None = None) -> None:
        super().__init__(state=state)
        self.connector_id = connector_id
        self.reservation_id: int | None = None
        self.id_tag: str | None = None
        self.parent_id_tag: str | None = None
        self.expiry_date: datetime | None = None

    @classmethod
    def example(cls) -> Self:
        return cls(1)

    def report(self) -> ReservationChanged:
        """What the station's chart mirrors of this reservation (the chart's `reports`)."""
        return ReservationChanged(
            connector_id=self.connector_id,
            state=self.state,
            reservation_id=self.reservation_id,
            id_tag=self.id_tag,
            parent_id_tag=self.parent_id_tag,
        )

    def _to_connector(self, event: ConnectorEvent) -> None:
        # connector 0 reserves no particular connector: there is no status to change
        if self.connector_id > 0:
            self.record(Send(Address.connector(self.connector_id), event))

    # -- guards ---------------------------------------------------------------------------

    def holds(self, *, reservation_id: int | None = None, **_event: Any) -> bool:
        """The event is about the reservation held here (not an earlier one with another id)."""
        return reservation_id is not None and reservation_id == self.reservation_id

    # -- actions --------------------------------------------------------------------------

    def take(
        self,
        *,
        reservation_id: int,
        id_tag: str,
        expiry_date: datetime,
        parent_id_tag: str | None = None,
        **_event: Any,
    ) -> None:
        """Remember the reservation made by ReserveNow (or stored before a restart)."""
        self.reservation_id = reservation_id
        self.id_tag = id_tag
        self.parent_id_tag = parent_id_tag
        self.expiry_date = aware(expiry_date)

    def hold_connector(self, **_event: Any) -> None:
        """Arm the expiry at expiryDate and make the connector Reserved (A7)."""
        assert self.expiry_date is not None
        self.record(StartTimer(EXPIRY, at=self.expiry_date))
        self._to_connector(ReserveNow(reservation_id=self.reservation_id))

    def replace(
        self,
        *,
        expiry_date: datetime,
        id_tag: str,
        parent_id_tag: str | None = None,
        **_event: Any,
    ) -> None:
        """A ReserveNow with the same reservationId replaces this reservation."""
        self.expiry_date = aware(expiry_date)
        self.id_tag = id_tag
        self.parent_id_tag = parent_id_tag
        self.record(StartTimer(EXPIRY, at=self.expiry_date))

    def disarm_expiry(self, **_event: Any) -> None:
        self.record(CancelTimer(EXPIRY))

    def release_connector(self, **_event: Any) -> None:
        """The connector is free again (G1, or G8 when Unavailable was scheduled)."""
        self._to_connector(ReservationEnded())

    def end(self, **_event: Any) -> None:
        """The reservation is over: the host's reservation port hears of it; the slot is free."""
        self.record(
            HostCommand(
                "cancel_reservation", self.connector_id, {"reservation_id": self.reservation_id}
            )
        )
        self.reservation_id = None
        self.id_tag = None
        self.parent_id_tag = None
        self.expiry_date = None


def aware(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is refused (its instant would be unknown)."""
    if moment.tzinfo is None:
        raise ValueError(f"expiryDate {moment.isoformat()} must carry a time zone")
    return moment.astimezone(UTC)
