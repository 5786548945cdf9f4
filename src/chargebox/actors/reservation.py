"""Reservation actors (statecharts/reservation.yaml), one per connector and one for connector 0.

The chart holds a reservation, claims it when its identity arrives at the
connector and ends it at its expiryDate or when it is used or cancelled. This
actor keeps what the chart holds in the store after every event (a restart
finds the reservation again), and asks the host's reservation port to end a
reservation the chart ended. What ReserveNow is answered, and who may use a
reserved connector, is decided by the station's chart (statecharts/station.yaml)
from what every reservation reports.

At start, the stored reservations are held again (`restore_reservations`),
before any event from the Central System; one that expired or whose connector
became Inoperative while the station was down is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, HostCommand
from chargebox.charts.events.reservation import Restored
from chargebox.charts.machine import Outcome
from chargebox.charts.models import ReservationModel
from chargebox.store import StoredReservation

log = logging.getLogger(__name__)


class ReservationActor(Actor[ReservationModel]):
    """The reservation of one connector (0: for any connector); kept in the store."""

    def __init__(self, ctx: StationContext, connector_id: int) -> None:
        super().__init__(
            Address.reservation(connector_id),
            ReservationModel(connector_id),
            clock=ctx.clock,
            report=True,
        )
        self.ctx = ctx
        self._stored: StoredReservation | None = None

    async def handle(self, message: Any) -> Outcome | None:
        outcome = await super().handle(message)
        self._persist()
        return outcome

    def _persist(self) -> None:
        m = self.model
        stored = None
        if m.holding and m.reservation_id is not None and m.id_tag and m.expiry_date:
            stored = StoredReservation(
                m.connector_id, m.reservation_id, m.id_tag, m.parent_id_tag, m.expiry_date
            )
        if stored == self._stored:
            return
        if stored is None:
            self.ctx.store.delete_reservation(m.connector_id)
        else:
            self.ctx.store.put_reservation(stored)
        self._stored = stored

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, HostCommand) and effect.command == "cancel_reservation":
            port = self.ctx.host.reservation
            reservation_id = effect.params["reservation_id"]
            if port is not None and hasattr(port, "cancel"):
                self.ctx.host_later("end a reservation", lambda: port.cancel(reservation_id))
        else:
            await super().perform(effect)


def restore_reservations(ctx: StationContext, actors: Mapping[int, ReservationActor]) -> None:
    """Hold the stored reservations again; drop those that expired or lost their connector."""
    store = ctx.store
    now = ctx.clock.now()
    inoperative = store.inoperative_connectors()
    for stored in store.reservations():
        c = stored.connector
        lost = c not in actors or 0 in inoperative or c in inoperative
        if lost or stored.expiry_date <= now:
            log.info("reservation %d ended while the station was down", stored.reservation_id)
            store.delete_reservation(c)
            continue
        # handled as soon as the actor runs, before any event from the Central System
        actors[c].inbox.send_nowait(
            Restored(
                reservation_id=stored.reservation_id,
                id_tag=stored.id_tag,
                parent_id_tag=stored.parent_id_tag,
                expiry_date=stored.expiry_date,
            )
        )
