"""Model of statecharts/reservation.yaml: one accepted ReserveNow, until it is used or ends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from chargebox.charts.effects import CancelTimer, Send, StartTimer, Trigger
from chargebox.charts.model import ChartModel

EXPIRY = "expiry_reached"


class ReservationModel(ChartModel):
    """Reservation `reservation_id` of connector `connector_id` for `id_tag`."""

    __slots__ = ("connector_id", "expiry_date", "id_tag", "parent_id_tag", "reservation_id")
    chart_name = "reservation"

    def __init__(
        self,
        reservation_id: int,
        connector_id: int,
        id_tag: str,
        expiry_date: datetime,
        *,
        parent_id_tag: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        self.reservation_id = reservation_id
        self.connector_id = connector_id
        self.id_tag = id_tag
        self.parent_id_tag = parent_id_tag
        self.expiry_date = _aware(expiry_date)

    @classmethod
    def example(cls) -> Self:
        return cls(7, 1, "TAG-1", datetime(2025, 1, 1, 12, 0, tzinfo=UTC))

    @property
    def _connector(self) -> str:
        return f"connector/{self.connector_id}"

    # -- actions --------------------------------------------------------------------------

    def hold_connector(self, **_event: Any) -> None:
        """Reserve the connector (A7) and arm the expiry at expiryDate."""
        self.record(StartTimer(EXPIRY, at=self.expiry_date))
        self.record(
            Send(self._connector, Trigger("reserve_now", {"reservation_id": self.reservation_id}))
        )

    def replace(
        self,
        *,
        expiry_date: datetime,
        id_tag: str,
        parent_id_tag: str | None = None,
        **_event: Any,
    ) -> None:
        """A ReserveNow with the same reservationId replaces this reservation."""
        self.expiry_date = _aware(expiry_date)
        self.id_tag = id_tag
        self.parent_id_tag = parent_id_tag
        self.record(StartTimer(EXPIRY, at=self.expiry_date))

    def disarm_expiry(self, **_event: Any) -> None:
        self.record(CancelTimer(EXPIRY))

    def release_connector(self, **_event: Any) -> None:
        """The connector is free again (G1, or G8 when Unavailable was scheduled)."""
        self.record(Send(self._connector, Trigger("reservation_ended")))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"expiryDate {moment.isoformat()} must carry a time zone")
    return moment.astimezone(UTC)
