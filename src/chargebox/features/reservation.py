"""Reservation profile: ReserveNow, CancelReservation, and who may use a reserved connector.

The reservations themselves are charts (statecharts/reservation.yaml): one
actor per connector plus one for connector 0 (a reservation that any
connector may serve), each holding at most one reservation
(chargebox.actors.reservation). This module answers ReserveNow from the
current states of the connectors, transactions and reservations (read, never
written, here), asks the host's reservation port, and hands the reservation
to its actor, which reserves the connector, arms the expiry on the station
clock and ends it. It also decides whether an idTag may begin on a
connector: on a reserved one only the reserved idTag or one of its group
(parentIdTag), and never the last free connector while a reservation for any
connector waits for someone else (spec 5.13). The reservation actors keep
what they hold in the store, so it survives a restart.

The states are read through their models' predicates (`ConnectorModel.faulted`,
`ReservationModel.waiting`, ...), the names the station's chart will use as guards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.charts.addresses import Address
from chargebox.charts.events.reservation import (
    CancelReservation,
    ReservationEvent,
    Reserve,
    ReserveNow,
)
from chargebox.charts.models import ReservationModel
from chargebox.features import Handler
from chargebox.ocpp import v16
from chargebox.ocpp.v16 import CancelReservationStatus, ReservationStatus

log = logging.getLogger(__name__)


@attrs.frozen
class Admission:
    """Whether an idTag may begin on a connector, and the reservation it uses there if any."""

    allowed: bool
    reservation_id: int | None = None
    #: the connector holding that reservation (0: the reservation for any connector)
    reservation_connector: int | None = None


REFUSED = Admission(False)
UNRESERVED = Admission(True)


def _same(a: str | None, b: str | None) -> bool:
    # idTags are case-insensitive (IdToken is a CiString20)
    return a is not None and b is not None and a.casefold() == b.casefold()


def serves(model: ReservationModel, id_tag: str, parent: str | None) -> bool:
    """The idTag (with its parentIdTag, when known) may use this reservation (spec 5.13).

    The reserved idTag itself, or one of the reservation's group: an idTag whose
    parentIdTag is the reservation's. A presented idTag is never compared with a
    parentIdTag (spec 3.10: a parent id need not be a token anyone presents).
    """
    return _same(id_tag, model.id_tag) or _same(parent, model.parent_id_tag)


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

    # -- reading the states ---------------------------------------------------------------

    def model(self, connector_id: int) -> ReservationModel:
        return self.actors.reservations[connector_id].model

    def held(self) -> Iterator[ReservationModel]:
        """Every reservation held now."""
        return (a.model for a in self.actors.reservations.values() if a.model.holding)

    def find(self, reservation_id: int) -> ReservationModel | None:
        return next((m for m in self.held() if m.reservation_id == reservation_id), None)

    def _verdict(self, c: int, ignoring: int | None) -> ReservationStatus:
        """What connector c says to a new reservation (`ignoring`: a reservation being moved)."""
        actors = self.actors
        connector = actors.connectors[c].model
        if connector.faulted:
            return ReservationStatus.Faulted
        if connector.unavailable:
            return ReservationStatus.Unavailable
        tx = actors.transactions[c]
        busy = tx.active or tx.pending
        held = self.model(c)
        if held.holding or connector.reserved:
            # reserved for the same or another idTag: Occupied (spec 5.13), unless it is the
            # very reservation that moves away from here
            moving = held.waiting and held.reservation_id == ignoring
            return ReservationStatus.Accepted if moving and not busy else ReservationStatus.Occupied
        if busy or not connector.available:
            return ReservationStatus.Occupied  # Preparing, Charging, ... Finishing
        return ReservationStatus.Accepted

    def _free(self, ignoring: int | None = None) -> list[int]:
        """Connectors a new user could take now."""
        return [
            c
            for c in self.actors.connectors
            if self._verdict(c, ignoring) == ReservationStatus.Accepted
        ]

    def _any_connector_waits(self, ignoring: int | None = None) -> bool:
        """The reservation for any connector waits for its identity (not yet claimed)."""
        anywhere = self.model(0)
        return anywhere.waiting and anywhere.reservation_id != ignoring

    def status_for(self, connector_id: int, ignoring: int | None = None) -> ReservationStatus:
        """The answer a new reservation on `connector_id` gets from the current states."""
        station = self.actors.connector0.model
        if station.faulted:
            return ReservationStatus.Faulted
        if station.unavailable:
            return ReservationStatus.Unavailable
        if connector_id == 0:
            if self.model(0).holding and self.model(0).reservation_id != ignoring:
                return ReservationStatus.Occupied  # the Charge Point is reserved already
            verdicts = {self._verdict(c, ignoring) for c in self.actors.connectors}
            for status in (
                ReservationStatus.Accepted,
                ReservationStatus.Occupied,
                ReservationStatus.Faulted,
            ):
                if status in verdicts:
                    return status
            return ReservationStatus.Unavailable
        verdict = self._verdict(connector_id, ignoring)
        if (
            verdict == ReservationStatus.Accepted
            and self._any_connector_waits(ignoring)
            and self._free(ignoring) == [connector_id]
        ):
            # the reservation for any connector keeps one connector free (spec 5.13)
            return ReservationStatus.Occupied
        return verdict

    # -- who may use a connector ------------------------------------------------------------

    def reserved_connector_for(self, id_tag: str) -> int | None:
        """The connector reserved for this idTag (or its known group), if any."""
        parent = self.actors.authorizer.known_parent(id_tag)
        for c, actor in self.actors.reservations.items():
            if c > 0 and actor.model.waiting and serves(actor.model, id_tag, parent):
                return c
        return None

    def admit_now(self, connector_id: int, id_tag: str, parent: str | None = None) -> Admission:
        """May `id_tag` begin on the connector? Its parentIdTag from the list or cache only."""
        if parent is None:
            parent = self.actors.authorizer.known_parent(id_tag)
        own = self.model(connector_id)
        if own.waiting:
            return (
                Admission(True, own.reservation_id, connector_id)
                if serves(own, id_tag, parent)
                else REFUSED
            )
        if own.claimed:
            return REFUSED  # its identity is at the connector
        anywhere = self.model(0)
        if anywhere.waiting:
            if serves(anywhere, id_tag, parent):
                return Admission(True, anywhere.reservation_id, 0)
            if self._free() == [connector_id]:
                return REFUSED  # the last free connector is kept for the reservation
        return UNRESERVED

    async def admit(self, connector_id: int, id_tag: str) -> Admission:
        """Like admit_now, asking the Central System for the idTag's parentIdTag when needed.

        Spec 5.13: a parentIdTag not found in the list or the cache is asked for
        with Authorize.req (whose answer then also fills the cache).
        """
        authorizer = self.actors.authorizer
        parent = authorizer.known_parent(id_tag)
        if parent is None and self._group_matters(connector_id, id_tag):
            parent = (await authorizer.authorize(id_tag)).parent_id_tag
        return self.admit_now(connector_id, id_tag, parent)

    def _group_matters(self, connector_id: int, id_tag: str) -> bool:
        """A group reservation the idTag could use by its parentIdTag alone is waiting."""
        return any(
            model.waiting and model.parent_id_tag is not None and not _same(id_tag, model.id_tag)
            for model in (self.model(connector_id), self.model(0))
        )

    # -- the Central System's calls -------------------------------------------------------

    async def reserve_now(self, req: v16.ReserveNowRequest) -> Any:
        c = req.connector_id
        actors = self.actors
        if c == 0 and not self.cfg.get("ReserveConnectorZeroSupported", False):
            return _answer(ReservationStatus.Rejected, req, "reservations of connector 0 are off")
        if c != 0 and c not in actors.connectors:
            return _answer(ReservationStatus.Rejected, req, "no such connector")
        if req.expiry_date <= self.ctx.clock.now():
            return _answer(ReservationStatus.Rejected, req, "expiryDate has passed")
        existing = self.find(req.reservation_id)
        if existing is not None and existing.connector_id == c:
            # the same reservationId on the same connector: replaced in place (spec 5.13)
            if not await self._host_reserves(req):
                return _answer(ReservationStatus.Rejected, req, "the host refused it")
            await self._tell(
                c,
                ReserveNow(
                    expiry_date=req.expiry_date, id_tag=req.id_tag, parent_id_tag=req.parent_id_tag
                ),
            )
            return _answer(ReservationStatus.Accepted, req)
        status = self.status_for(c, ignoring=req.reservation_id)
        if status != ReservationStatus.Accepted:
            return _answer(status, req)
        if existing is not None:
            # the same reservationId for another connector: the old one ends first
            await self._tell(existing.connector_id, CancelReservation())
        if not await self._host_reserves(req):
            return _answer(ReservationStatus.Rejected, req, "the host refused it")
        await self._tell(
            c,
            Reserve(
                reservation_id=req.reservation_id,
                id_tag=req.id_tag,
                expiry_date=req.expiry_date,
                parent_id_tag=req.parent_id_tag,
            ),
        )
        return _answer(ReservationStatus.Accepted, req)

    async def cancel_reservation(self, req: v16.CancelReservationRequest) -> Any:
        held = self.find(req.reservation_id)
        if held is None:
            return v16.CancelReservationResponse(status=CancelReservationStatus.Rejected)
        await self._tell(held.connector_id, CancelReservation())
        return v16.CancelReservationResponse(status=CancelReservationStatus.Accepted)

    async def _tell(self, connector_id: int, event: ReservationEvent) -> None:
        """Give a reservation an event and wait until it is handled (and stored)."""
        await self.actors.ask(Address.reservation(connector_id), event)

    async def _host_reserves(self, req: v16.ReserveNowRequest) -> bool:
        """The host's reservation port agrees (no port: the engine reserves on its own)."""
        port = self.ctx.host.reservation
        if port is None or not hasattr(port, "reserve"):
            return True
        answer = await self.ctx.host_in_order(
            "reserve",
            lambda: port.reserve(req.connector_id, req.reservation_id, req.id_tag, req.expiry_date),
        )
        return bool(answer)


def _answer(
    status: ReservationStatus, req: v16.ReserveNowRequest, why: str | None = None
) -> v16.ReserveNowResponse:
    if why is not None:
        log.info("ReserveNow %d: %s (%s)", req.reservation_id, status, why)
    return v16.ReserveNowResponse(status=status)
