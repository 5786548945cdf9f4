"""Reservation profile: ReserveNow and CancelReservation, answered by the station's chart.

The reservations themselves are charts (statecharts/reservation.yaml): one
actor per connector plus one for connector 0 (a reservation that any
connector may serve), each holding at most one reservation
(chargebox.actors.reservation), which they keep in the store so that it
survives a restart. What ReserveNow and CancelReservation are answered, and
who may use a reserved connector, needs the states of the connectors, the
transactions and every reservation: the station's chart decides it
(statecharts/station.yaml: Faulted, Unavailable, Occupied, Rejected, or
Accepted once the host's reservation port agrees). This module turns the
request into the station's event and its verdict into the response.
"""

from __future__ import annotations

import logging
from typing import Any

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.charts.addresses import Address
from chargebox.charts.events import station as station_events
from chargebox.charts.models import ReservationModel
from chargebox.charts.models.station import Verdict
from chargebox.features import Handler
from chargebox.ocpp import v16
from chargebox.ocpp.v16 import CancelReservationStatus, ReservationStatus

log = logging.getLogger(__name__)


class Reservations:
    """The Reservation profile of one station."""

    def __init__(self, ctx: StationContext, actors: Actors) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.actors = actors

    def handlers(self) -> dict[str, Handler]:
        return {
            "ReserveNow": self.reserve_now,
            "CancelReservation": self.cancel_reservation,
        }

    def model(self, connector_id: int) -> ReservationModel:
        """The reservation of a connector (0: for any connector), for reading."""
        return self.actors.reservations[connector_id].model

    async def _decide(self, event: station_events.StationEvent) -> Verdict:
        """The station's verdict (Rejected while the station reboots)."""
        answer = await self.actors.ask(Address.station(), event)
        if not answer.allowed:
            return Verdict("Rejected", "the station cannot take it now")
        verdict: Verdict = answer.reply
        return verdict

    # -- the Central System's calls -------------------------------------------------------

    async def reserve_now(self, req: v16.ReserveNowRequest) -> Any:
        verdict = await self._decide(
            station_events.ReserveNow(
                connector_id=req.connector_id,
                reservation_id=req.reservation_id,
                id_tag=req.id_tag,
                parent_id_tag=req.parent_id_tag,
                expiry_date=req.expiry_date,
                now=self.ctx.clock.now(),
            )
        )
        if verdict.why is not None:
            log.info("ReserveNow %d: %s (%s)", req.reservation_id, verdict.status, verdict.why)
        return v16.ReserveNowResponse(status=ReservationStatus(verdict.status))

    async def cancel_reservation(self, req: v16.CancelReservationRequest) -> Any:
        verdict = await self._decide(
            station_events.CancelReservation(reservation_id=req.reservation_id)
        )
        return v16.CancelReservationResponse(status=CancelReservationStatus(verdict.status))
