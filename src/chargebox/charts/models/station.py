"""Model of statecharts/station.yaml: the station coordinator, the joint table of the actors.

Every rule that needs the state of more than one actor is decided here: who
may stop a transaction with an idTag, which connector an idTag or a
RemoteStartTransaction goes to, who may use a reserved connector, what
ChangeAvailability, ReserveNow and CancelReservation are answered, when a
Reset may reboot, what power-loss recovery does with each interrupted
transaction.

The model mirrors what those rules read of the other actors, in small frozen
values: each connector's status, each transaction's state, idTag and
transactionId, each reservation, whether the link is Accepted, how many
StopTransactions wait in the queue. The other charts send it (their
`reports`, the link's and the outbox's news); nothing else writes it.

A request that must wait (for the host's reservation port, for an
Authorize.req that finds a parentIdTag) is kept under its request number;
the transition that can answer replies with that number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Self

import attrs

from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    CancelTimer,
    Effect,
    HostCommand,
    RaiseSecurityEvent,
    Reply,
    Send,
    StartTimer,
)
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import reservation as reservation_events
from chargebox.charts.events import station as events
from chargebox.charts.events import transaction as transaction_events
from chargebox.charts.events.firmware import TransactionsChanged
from chargebox.charts.events.link import Connect
from chargebox.charts.model import ChartModel
from chargebox.charts.models.reservation import ReservationStates
from chargebox.charts.models.transaction import ACTIVE_STATES, PENDING_STATES

RESET_TIMEOUT = "reset_timeout"

# -- what the station mirrors --------------------------------------------------------------


@attrs.frozen
class ConnectorView:
    """A connector's status (0: the Charge Point's) and whether a session holds it."""

    status: str = "Available"
    in_session: bool = False

    @property
    def available(self) -> bool:
        return self.status == "Available"

    @property
    def preparing(self) -> bool:
        return self.status == "Preparing"

    @property
    def free(self) -> bool:
        return self.status in ("Available", "Preparing")

    @property
    def reserved(self) -> bool:
        return self.status == "Reserved"

    @property
    def unavailable(self) -> bool:
        return self.status == "Unavailable"

    @property
    def faulted(self) -> bool:
        return self.status == "Faulted"

    @property
    def out_of_service(self) -> bool:
        return self.status in ("Unavailable", "Faulted")


@attrs.frozen
class TransactionView:
    """A connector's transaction: its state, idTag (with the parentIdTag known for it)
    and transactionId."""

    state: str = "Idle"
    id_tag: str | None = None
    transaction_id: int | None = None
    parent_id_tag: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def busy(self) -> bool:
        """A transaction runs, or an idTag is authorized or being authorized."""
        return self.active or self.pending

    @property
    def stopping(self) -> bool:
        return self.state == "Stopping"

    @property
    def stopped(self) -> bool:
        return self.state == "Stopped"


@attrs.frozen
class ReservationView(ReservationStates):
    """A connector's reservation (0: the one for any connector)."""

    state: str = "Idle"
    reservation_id: int | None = None
    id_tag: str | None = None
    parent_id_tag: str | None = None

    def serves(self, id_tag: str, parent: str | None) -> bool:
        """The idTag (with its parentIdTag, when known) may use this reservation (5.13):
        the reserved idTag, or one of its group. A presented idTag is never compared
        with a parentIdTag (3.10: a parent id need not be a token anyone presents)."""
        return _same(id_tag, self.id_tag) or _same(parent, self.parent_id_tag)


@attrs.frozen
class OpenTransaction:
    """A transaction the store held open at start (a power loss interrupted it)."""

    tx_ref: int
    connector_id: int
    id_tag: str
    session_id: str | None = None
    transaction_id: int | None = None


@attrs.frozen
class PendingReservation:
    """A ReserveNow waiting for the host's reservation port."""

    request: int
    connector_id: int
    reservation_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry_date: datetime
    #: the same reservationId on the same connector: replaced in place
    in_place: bool


@attrs.frozen
class PendingToken:
    """A presented idTag waiting for its parentIdTag (Authorize.req)."""

    request: int
    id_tag: str
    connector_id: int | None


@attrs.frozen
class Admission:
    """Whether an idTag may begin on a connector, and the reservation it uses there."""

    allowed: bool
    reservation_id: int | None = None
    #: the connector holding that reservation (0: the reservation for any connector)
    reservation_connector: int | None = None


REFUSED = Admission(False)
UNRESERVED = Admission(True)


@attrs.frozen
class Verdict:
    """The station's answer to a request: an OCPP status (or, for a presented idTag,
    what became of it), why when it is worth a log line, and the connector chosen."""

    status: str
    why: str | None = None
    connector_id: int | None = None
    #: for an admitted idTag or contract: the reservation it uses, and the connector
    #: holding it (0: the reservation for any connector)
    reservation_id: int | None = None
    reservation_connector: int | None = None


# -- effects the station's actor performs ------------------------------------------------


@attrs.frozen
class LookUpParent(Effect):
    """Authorize the idTag to learn its parentIdTag; the answer is `parent_found`."""

    request: int
    id_tag: str


@attrs.frozen
class AskHostToReserve(Effect):
    """Ask the host's reservation port; the answer is `host_reserved` (no port: True)."""

    request: int
    connector_id: int
    reservation_id: int
    id_tag: str
    expiry_date: datetime


@attrs.frozen
class PersistAvailability(Effect):
    """Keep the operative flags of these connectors (0: the Charge Point) in the store."""

    connector_ids: tuple[int, ...]
    operative: bool


@attrs.frozen
class AskToResume(Effect):
    """Ask the host whether it resumes an interrupted session (SystemPort.resume_session);
    the answer is `resume_answered` (no such port: not resumed)."""

    tx_ref: int
    connector_id: int
    session_id: str | None


@attrs.frozen
class StopForPowerLoss(Effect):
    """Close the stored transaction with StopTransaction reason PowerLoss (queued), at the
    highest energy register known for its connector."""

    tx_ref: int
    connector_id: int
    transaction_id: int | None


@attrs.frozen
class ReportEveryStatus(Effect):
    """Send every connector's current status (after a registration or a reconnect)."""


@attrs.frozen
class RefreshTransactionInputs(Effect):
    """The transactions' inputs follow the link (online) and the configuration."""


@attrs.frozen
class ConfirmSecurityProfile(Effect):
    """The new SecurityProfile connected: the configuration keeps it."""

    security_profile: int


@attrs.frozen
class SecurityProfileFailed(Effect):
    """A new SecurityProfile failed its connection attempt (the link went back): logged."""

    failed: int
    security_profile: int


# -- the model ----------------------------------------------------------------------------


def _same(a: str | None, b: str | None) -> bool:
    # idTags are case-insensitive (IdToken is a CiString20)
    return a is not None and b is not None and a.casefold() == b.casefold()


def _put(views: tuple[Any, ...], index: int, view: Any) -> tuple[Any, ...]:
    return (*views[:index], view, *views[index + 1 :])


class StationModel(ChartModel):
    """The station coordinator: the mirror of the other actors and the decisions over it."""

    __slots__ = (
        "connectors",
        "firmware_holding",
        "link_accepted",
        "listed",
        "recovering",
        "reservations",
        "reserve_connector_zero_supported",
        "reserving",
        "reset_kind",
        "reset_port",
        "reset_wait",
        "stops_queued",
        "tokens",
        "transactions",
    )
    chart_name = "station"

    def __init__(
        self,
        connectors: int = 2,
        *,
        statuses: dict[int, str] | None = None,
        reserve_connector_zero_supported: bool = False,
        reset_port: bool = True,
        reset_wait: float = 60,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        statuses = statuses or {}
        #: connector id -> its view (0: the Charge Point)
        self.connectors: tuple[ConnectorView, ...] = tuple(
            ConnectorView(statuses.get(c, "Available")) for c in range(connectors + 1)
        )
        #: connector id -> its transaction (index 0 unused)
        self.transactions: tuple[TransactionView, ...] = (TransactionView(),) * (connectors + 1)
        #: connector id -> its reservation (0: the one for any connector)
        self.reservations: tuple[ReservationView, ...] = (ReservationView(),) * (connectors + 1)
        self.link_accepted = False
        #: a firmware update holds every connector out of service until its install
        self.firmware_holding = False
        #: StopTransactions in the queue (a Reset waits until none is left)
        self.stops_queued = 0
        #: the kind of the Reset under way (Soft, Hard)
        self.reset_kind: str | None = None
        #: interrupted transactions waiting for the host's answer (power-loss recovery)
        self.recovering: tuple[OpenTransaction, ...] = ()
        #: every interrupted transaction was listed
        self.listed = False
        #: presented idTags waiting for their parentIdTag
        self.tokens: tuple[PendingToken, ...] = ()
        #: ReserveNows waiting for the host's reservation port
        self.reserving: tuple[PendingReservation, ...] = ()
        #: ReserveConnectorZeroSupported
        self.reserve_connector_zero_supported = reserve_connector_zero_supported
        #: the host's system port can reset the station
        self.reset_port = reset_port
        #: WaitForStopTransactionsOnResetTimeout (seconds)
        self.reset_wait = reset_wait

    @classmethod
    def example(cls) -> Self:
        return cls(2)

    @classmethod
    def seeds(cls) -> list[Self]:
        """Models the generated paths start from: at start, and at work in the situations
        the joint table tells apart (chargebox.charts.paths). Each is a mirror the other
        actors' reports could have built; starting there keeps the paths short."""
        return _seeds(cls)

    # -- what the state says --------------------------------------------------------------

    @property
    def recovered(self) -> bool:
        """Power-loss recovery is over: the station runs (or resets)."""
        return self.state != "Recovering"

    def awaits(self, request: int) -> bool:
        """A request of this number waits for something before it can be answered."""
        return any(t.request == request for t in self.tokens) or any(
            r.request == request for r in self.reserving
        )

    # -- reading the mirror -----------------------------------------------------------------

    def _ids(self) -> range:
        return range(1, len(self.connectors))

    def _known(self, connector_id: Any) -> bool:
        """A connector of the station (1 and up); anything else a caller names is not."""
        return isinstance(connector_id, int) and 0 < connector_id < len(self.connectors)

    def _any_busy(self, transactions: tuple[TransactionView, ...] | None = None) -> bool:
        return any(tx.busy for tx in (transactions or self.transactions))

    def _quiet(self, transactions: tuple[TransactionView, ...], stops: int) -> bool:
        """No transaction runs and no StopTransaction waits in the queue (a Reset's end)."""
        return stops == 0 and not any(tx.active for tx in transactions)

    def _held(self) -> Iterator[tuple[int, ReservationView]]:
        return ((c, r) for c, r in enumerate(self.reservations) if r.holding)

    def _find(self, reservation_id: int) -> int | None:
        """The connector holding the reservation with this id (0: for any connector)."""
        return next((c for c, r in self._held() if r.reservation_id == reservation_id), None)

    def _reserved_connector_for(self, id_tag: str, parent: str | None) -> int | None:
        """The connector reserved for this idTag (or its known group), if any."""
        for c in self._ids():
            if self.reservations[c].waiting and self.reservations[c].serves(id_tag, parent):
                return c
        return None

    def _verdict(self, c: int, ignoring: int | None) -> str:
        """What connector c says to a new reservation (`ignoring`: a reservation moving)."""
        connector = self.connectors[c]
        if connector.faulted:
            return "Faulted"
        if connector.unavailable:
            return "Unavailable"
        busy = self.transactions[c].busy
        held = self.reservations[c]
        if held.holding or connector.reserved:
            # reserved for the same or another idTag: Occupied (5.13), unless it is the
            # very reservation that moves away from here
            moving = held.waiting and held.reservation_id == ignoring
            return "Accepted" if moving and not busy else "Occupied"
        if busy or not connector.available:
            return "Occupied"  # Preparing, Charging, ... Finishing
        return "Accepted"

    def _free(self, ignoring: int | None = None) -> list[int]:
        """Connectors a new user could take now."""
        return [c for c in self._ids() if self._verdict(c, ignoring) == "Accepted"]

    def _status_for(self, c: int, ignoring: int | None) -> str:
        """The answer a new reservation on connector c gets from the current states."""
        station = self.connectors[0]
        if station.faulted:
            return "Faulted"
        if station.unavailable:
            return "Unavailable"
        anywhere = self.reservations[0]
        if c == 0:
            if anywhere.holding and anywhere.reservation_id != ignoring:
                return "Occupied"  # the Charge Point is reserved already
            verdicts = {self._verdict(c, ignoring) for c in self._ids()}
            for status in ("Accepted", "Occupied", "Faulted"):
                if status in verdicts:
                    return status
            return "Unavailable"
        verdict = self._verdict(c, ignoring)
        if (
            verdict == "Accepted"
            and anywhere.waiting
            and anywhere.reservation_id != ignoring
            and self._free(ignoring) == [c]
        ):
            # the reservation for any connector keeps one connector free (5.13)
            return "Occupied"
        return verdict

    def _admit(self, c: int, id_tag: str, parent: str | None) -> Admission:
        """May `id_tag` (with its known parentIdTag) begin on connector c?"""
        own = self.reservations[c]
        if own.waiting:
            return Admission(True, own.reservation_id, c) if own.serves(id_tag, parent) else REFUSED
        if own.claimed:
            return REFUSED  # its identity is at the connector
        anywhere = self.reservations[0]
        if anywhere.waiting:
            if anywhere.serves(id_tag, parent):
                return Admission(True, anywhere.reservation_id, 0)
            if self._free() == [c]:
                return REFUSED  # the last free connector is kept for the reservation
        return UNRESERVED

    def _group_matters(self, c: int, id_tag: str) -> bool:
        """A group reservation the idTag could use by its parentIdTag alone waits."""
        return any(
            r.waiting and r.parent_id_tag is not None and not _same(id_tag, r.id_tag)
            for r in (self.reservations[c], self.reservations[0])
        )

    # -- a presented idTag ------------------------------------------------------------------

    def _stop_target(self, event: Mapping[str, Any]) -> tuple[int | None, bool]:
        """(the connector whose transaction the idTag stops, whether its parentIdTag must
        be asked for first): the idTag that started it, or one of its group (3.5.5)."""
        id_tag, parent = event["id_tag"], event.get("parent_id_tag")
        for c in self._ids():
            tx = self.transactions[c]
            if not tx.active or tx.id_tag is None:
                continue
            if tx.id_tag.lower() == id_tag.lower():
                return c, False
            if tx.parent_id_tag is None:
                continue
            if parent is None:
                if not event.get("looked_up"):
                    return None, True
                continue
            if parent.lower() == tx.parent_id_tag.lower():
                return c, False
        return None, False

    def _token_connector(self, event: Mapping[str, Any]) -> Any:
        """The connector an idTag is for: the one given, the one reserved for it, the one a
        user is at, then a free one."""
        if event.get("connector_id") is not None:
            return event["connector_id"]
        reserved = self._reserved_connector_for(event["id_tag"], event.get("parent_id_tag"))
        if reserved is not None:
            return reserved
        for wanted in ("preparing", "available"):
            for c in self._ids():
                if getattr(self.connectors[c], wanted) and not self.transactions[c].busy:
                    return c
        return None

    def _token_admission(self, event: Mapping[str, Any]) -> Admission:
        c = self._token_connector(event)
        return self._admit(c, event["id_tag"], event.get("parent_id_tag"))

    def parent_needed_to_stop(self, **event: Any) -> bool:
        """A transaction of a group runs, and the idTag's parentIdTag is not known."""
        return self._stop_target(event)[1]

    def stops_a_stopping_transaction(self, **event: Any) -> bool:
        """The idTag's transaction is already stopping."""
        c = self._stop_target(event)[0]
        return c is not None and self.transactions[c].stopping

    def stops_a_transaction(self, **event: Any) -> bool:
        """The idTag started a running transaction, or is of its group."""
        return self._stop_target(event)[0] is not None

    def names_an_unknown_connector(self, *, connector_id: int | None = None, **_: Any) -> bool:
        return connector_id is not None and not self._known(connector_id)

    def no_connector_for_token(self, **event: Any) -> bool:
        """No connector was given, none is reserved for the idTag, and none is free."""
        return self._token_connector(event) is None

    def token_connector_busy(self, **event: Any) -> bool:
        return self.transactions[self._token_connector(event)].busy

    def token_connector_out_of_service(self, **event: Any) -> bool:
        """The connector, or the Charge Point, is Unavailable or Faulted."""
        c = self._token_connector(event)
        return self.connectors[c].out_of_service or not self.connectors[0].available

    def parent_needed_to_admit(self, **event: Any) -> bool:
        """A group reservation waits that the idTag could use by its parentIdTag alone,
        and the parentIdTag is not known (5.13: asked for with Authorize.req)."""
        if event.get("parent_id_tag") is not None or event.get("looked_up"):
            return False
        return self._group_matters(self._token_connector(event), event["id_tag"])

    def token_refused_by_reservation(self, **event: Any) -> bool:
        """The connector is reserved for another identity, or is the last one free while
        a reservation for any connector waits."""
        return not self._token_admission(event).allowed

    def token_waits(self, *, request: int, **_: Any) -> bool:
        """The parentIdTag is for an idTag waiting here."""
        return any(t.request == request for t in self.tokens)

    # -- actions for a presented idTag --------------------------------------------------------

    def _answer(self, request: int, verdict: Verdict) -> None:
        """Reply to the ask of this number; a presented idTag no longer waits."""
        self.tokens = tuple(t for t in self.tokens if t.request != request)
        self.record(Reply(verdict, request=request))

    def look_up_parent(
        self, *, id_tag: str, connector_id: int | None = None, request: int = 0, **_: Any
    ) -> None:
        """Ask the Central System for the idTag's parentIdTag (Authorize.req); the
        presentation is taken again once it is known."""
        self.tokens = (*self.tokens, PendingToken(request, id_tag, connector_id))
        self.record(LookUpParent(request, id_tag))

    def present_again(self, *, request: int, parent_id_tag: str | None = None, **_: Any) -> None:
        """The parentIdTag is known: the presentation is decided with it (the request
        waits until then)."""
        token = next(t for t in self.tokens if t.request == request)
        again = events.TokenPresented(
            id_tag=token.id_tag,
            connector_id=token.connector_id,
            parent_id_tag=parent_id_tag,
            looked_up=True,
            request=request,
        )
        self.record(Send(Address.station(), again))

    def answer_already_stopping(self, *, request: int = 0, **event: Any) -> None:
        c = self._stop_target(event)[0]
        why = f"connector {c}: the transaction is already stopping"
        self._answer(request, Verdict("Stopping", why, c))

    def stop_presented(self, *, id_tag: str, request: int = 0, **event: Any) -> None:
        """The transaction stops (reason Local); its StopTransaction carries the idTag."""
        c = self._stop_target({**event, "id_tag": id_tag})[0]
        assert c is not None
        self.record(Send(Address.transaction(c), transaction_events.StopPresented(id_tag=id_tag)))
        self._answer(request, Verdict("Stopping", None, c))

    def answer_unknown_connector(
        self, *, connector_id: int | None = None, request: int = 0, **_: Any
    ) -> None:
        self._answer(request, Verdict("Unknown", None, connector_id))

    def answer_no_free_connector(self, *, request: int = 0, **_: Any) -> None:
        why = "an idTag was presented, but no connector is free for it"
        self._answer(request, Verdict("Refused", why))

    def answer_busy(self, *, request: int = 0, **event: Any) -> None:
        c = self._token_connector(event)
        self._answer(request, Verdict("Refused", f"connector {c} is busy; the idTag is ignored", c))

    def answer_out_of_service(self, *, request: int = 0, **event: Any) -> None:
        c = self._token_connector(event)
        why = f"connector {c} is {self.connectors[c].status}; the idTag is refused"
        self._answer(request, Verdict("Refused", why, c))

    def answer_resetting(self, *, request: int = 0, **event: Any) -> None:
        why = "a Reset is under way: no new transaction begins; the idTag is refused"
        self._answer(request, Verdict("Refused", why, event.get("connector_id")))

    def answer_reserved_for_another(self, *, request: int = 0, **event: Any) -> None:
        c = self._token_connector(event)
        why = f"connector {c} is reserved for another idTag; the idTag is refused"
        self._answer(request, Verdict("Refused", why, c))

    def present_to_transaction(self, *, request: int = 0, **event: Any) -> None:
        """The connector's transaction authorizes the idTag, with the reservation it uses."""
        c = self._token_connector(event)
        admission = self._token_admission(event)
        presented = transaction_events.IdTagPresented(
            id_tag=event["id_tag"],
            reservation_id=admission.reservation_id,
            reservation_connector=admission.reservation_connector,
        )
        self.record(Send(Address.transaction(c), presented))
        self._answer(request, Verdict("Accepted", None, c))

    def admit_contract(self, *, request: int = 0, **event: Any) -> None:
        """A contract's eMAID may begin on the connector: the reservation it uses goes back
        with the verdict (the handle then presents the contract to the transaction)."""
        c = self._token_connector(event)
        admission = self._token_admission(event)
        self._answer(
            request,
            Verdict(
                "Accepted",
                None,
                c,
                reservation_id=admission.reservation_id,
                reservation_connector=admission.reservation_connector,
            ),
        )

    # -- ChangeAvailability ---------------------------------------------------------------

    def _targets(self, connector_id: int) -> list[int]:
        return list(self._ids()) if connector_id == 0 else [connector_id]

    def availability_connector_unknown(self, *, connector_id: int, **_: Any) -> bool:
        return connector_id != 0 and not self._known(connector_id)

    def inoperative_while_preparing(self, *, connector_id: int, operative: bool, **_: Any) -> bool:
        """No Preparing -> Unavailable in the table of 4.9, nor a transaction to wait for."""
        return not operative and any(
            self.connectors[c].preparing for c in self._targets(connector_id)
        )

    def becomes_operative(self, *, operative: bool, **_: Any) -> bool:
        return operative

    def a_session_to_wait_for(self, *, connector_id: int, **_: Any) -> bool:
        """A session (also under a fault) holds a connector: Inoperative waits for its end."""
        return any(self.connectors[c].in_session for c in self._targets(connector_id))

    def held_for_firmware(self, **_: Any) -> bool:
        """A firmware update holds the connectors out of service until its install."""
        return self.firmware_holding

    def note_firmware_hold(self, *, holding: bool, **_: Any) -> None:
        self.firmware_holding = holding

    def keep_availability(self, *, connector_id: int, operative: bool, **_: Any) -> None:
        """Keep the operative flags; the connectors follow when the hold ends (the firmware
        procedure gives them the availability the store holds). The Charge Point itself
        (connector 0) is not held: it follows at once."""
        self._change_availability(connector_id, operative, connectors_follow=False)

    def refuse_availability(self, **_: Any) -> None:
        self.record(Reply(Verdict("Rejected")))

    def apply_availability(self, *, connector_id: int, operative: bool, **_: Any) -> None:
        """Keep the operative flags (first: a failed write undoes the change), then tell
        the connectors (connector 0 first when it is the Charge Point's)."""
        self._change_availability(connector_id, operative, connectors_follow=True)

    def _change_availability(
        self, connector_id: int, operative: bool, *, connectors_follow: bool
    ) -> None:
        targets = self._targets(connector_id)
        kept = (0, *targets) if connector_id == 0 else (connector_id,)
        self.record(PersistAvailability(kept, operative))
        change: connector_events.Connector0Event = (
            connector_events.BecomeOperative()
            if operative
            else connector_events.BecomeInoperative()
        )
        if connector_id == 0:
            self.record(Send(Address.connector0(), change))
        if connectors_follow:
            for c in targets:
                self.record(Send(Address.connector(c), change))

    def accept_availability(self, **_: Any) -> None:
        self.record(Reply(Verdict("Accepted")))

    def schedule_availability(self, **_: Any) -> None:
        self.record(Reply(Verdict("Scheduled")))

    # -- RemoteStartTransaction, RemoteStopTransaction ---------------------------------------

    def link_not_accepted(self, **_: Any) -> bool:
        """The registration is not Accepted: remote start and stop are refused (4.2.1)."""
        return not self.link_accepted

    def _remote_start_connector(self, event: Mapping[str, Any]) -> int | None:
        """The connector given, else the one reserved for the idTag first, else the first
        that may take it: not busy, free or Reserved, and the idTag admitted there."""
        id_tag, parent = event["id_tag"], event.get("parent_id_tag")
        if event.get("connector_id") is not None:
            candidates = [event["connector_id"]]
        else:
            candidates = list(self._ids())
            reserved = self._reserved_connector_for(id_tag, parent)
            if reserved is not None:
                # the idTag's own reservation first, so that it is used, not left waiting
                candidates.remove(reserved)
                candidates.insert(0, reserved)
        for c in candidates:
            if not self._known(c) or self.transactions[c].busy:
                continue
            # a Reserved connector only for its reservation's identity (5.13)
            view = self.connectors[c]
            if (view.free or view.reserved) and self._admit(c, id_tag, parent).allowed:
                return c
        return None

    def no_remote_start_connector(self, **event: Any) -> bool:
        return self._remote_start_connector(event) is None

    def refuse_remote(self, **_: Any) -> None:
        self.record(Reply(Verdict("Rejected")))

    def answer_remote_start_connector(self, **event: Any) -> None:
        self.record(Reply(Verdict("Accepted", None, self._remote_start_connector(event))))

    def start_remotely(self, **event: Any) -> None:
        """The chosen connector's transaction takes the RemoteStartTransaction."""
        c = self._remote_start_connector(event)
        assert c is not None
        admission = self._admit(c, event["id_tag"], event.get("parent_id_tag"))
        start = transaction_events.RemoteStart(
            id_tag=event["id_tag"],
            reservation_id=admission.reservation_id,
            reservation_connector=admission.reservation_connector,
        )
        self.record(Send(Address.transaction(c), start))
        self.record(Reply(Verdict("Accepted", None, c)))

    def _running(self, transaction_id: int) -> int | None:
        return next(
            (
                c
                for c in self._ids()
                if self.transactions[c].active
                and self.transactions[c].transaction_id == transaction_id
            ),
            None,
        )

    def runs_transaction(self, *, transaction_id: int, **_: Any) -> bool:
        """A running transaction has this transactionId."""
        return self._running(transaction_id) is not None

    def stop_remotely(self, *, transaction_id: int, **_: Any) -> None:
        c = self._running(transaction_id)
        assert c is not None
        self.record(Send(Address.transaction(c), transaction_events.StopRequested(reason="Remote")))
        self.record(Reply(Verdict("Accepted", None, c)))

    # -- Reset ----------------------------------------------------------------------------

    def nothing_to_wait_for(self, **_: Any) -> bool:
        """No transaction runs and no StopTransaction waits in the queue."""
        return self._quiet(self.transactions, self.stops_queued)

    def refuse_reset(self, **_: Any) -> None:
        self.record(Reply(Verdict("Rejected")))

    def accept_reset(self, *, kind: str, **_: Any) -> None:
        self.reset_kind = kind
        self.record(Reply(Verdict("Accepted")))

    def accept_again(self, **_: Any) -> None:
        """A Reset while one is under way: that one goes on."""
        self.record(Reply(Verdict("Accepted")))

    def stop_for_reset(self, **_: Any) -> None:
        """Every running transaction stops (SoftReset, HardReset); the wait for their
        StopTransaction is bounded by WaitForStopTransactionsOnResetTimeout."""
        reason = self._reset_reason()
        for c in self._ids():
            if self.transactions[c].active:
                self.record(
                    Send(Address.transaction(c), transaction_events.StopRequested(reason=reason))
                )
        self.record(StartTimer(RESET_TIMEOUT, seconds=self.reset_wait))

    def begins_during_reset(self, *, connector_id: int, **event: Any) -> bool:
        """With this news, a transaction runs on a connector where none ran before."""
        now = self._with_transaction({**event, "connector_id": connector_id})[connector_id]
        return now.active and not self.transactions[connector_id].active

    def stop_begun_for_reset(self, *, connector_id: int, **_: Any) -> None:
        """The transaction that began during the Reset stops with the Reset's reason."""
        stop = transaction_events.StopRequested(reason=self._reset_reason())
        self.record(Send(Address.transaction(connector_id), stop))

    def _reset_reason(self) -> str:
        """The StopTransaction reason of the Reset under way."""
        return "SoftReset" if self.reset_kind == "Soft" else "HardReset"

    def disarm_reset_wait(self, **_: Any) -> None:
        self.record(CancelTimer(RESET_TIMEOUT))

    def reboot(self, **_: Any) -> None:
        """The host resets the station (after the security event ResetOrReboot)."""
        kind = self.reset_kind or "Hard"
        self.record(
            RaiseSecurityEvent("ResetOrReboot", f"{kind} reset requested by the Central System")
        )
        self.record(HostCommand("reset", 0, {"kind": kind}))

    # -- ReserveNow, CancelReservation --------------------------------------------------------

    def reservation_of_zero_refused(self, *, connector_id: int, **_: Any) -> bool:
        return connector_id == 0 and not self.reserve_connector_zero_supported

    def reservation_connector_unknown(self, *, connector_id: int, **_: Any) -> bool:
        return connector_id != 0 and not self._known(connector_id)

    def expiry_passed(self, *, expiry_date: datetime, now: datetime, **_: Any) -> bool:
        return expiry_date <= now

    def replaces_in_place(self, *, connector_id: int, reservation_id: int, **_: Any) -> bool:
        """The same reservationId on the same connector: replaced in place (5.13)."""
        return self._find(reservation_id) == connector_id

    def reservation_faulted(self, *, connector_id: int, reservation_id: int, **_: Any) -> bool:
        return self._status_for(connector_id, reservation_id) == "Faulted"

    def reservation_unavailable(self, *, connector_id: int, reservation_id: int, **_: Any) -> bool:
        return self._status_for(connector_id, reservation_id) == "Unavailable"

    def reservation_occupied(self, *, connector_id: int, reservation_id: int, **_: Any) -> bool:
        return self._status_for(connector_id, reservation_id) == "Occupied"

    def refuse_zero(self, *, request: int = 0, **_: Any) -> None:
        self._answer(request, Verdict("Rejected", "reservations of connector 0 are off"))

    def refuse_unknown_connector(self, *, request: int = 0, **_: Any) -> None:
        self._answer(request, Verdict("Rejected", "no such connector"))

    def refuse_expired(self, *, request: int = 0, **_: Any) -> None:
        self._answer(request, Verdict("Rejected", "expiryDate has passed"))

    def answer_faulted(self, *, request: int = 0, **_: Any) -> None:
        self._answer(request, Verdict("Faulted"))

    def answer_unavailable(self, *, request: int = 0, **_: Any) -> None:
        self._answer(request, Verdict("Unavailable"))

    def answer_occupied(self, *, request: int = 0, **_: Any) -> None:
        self._answer(request, Verdict("Occupied"))

    def _ask_host(self, in_place: bool, event: dict[str, Any]) -> None:
        pending = PendingReservation(
            request=event["request"],
            connector_id=event["connector_id"],
            reservation_id=event["reservation_id"],
            id_tag=event["id_tag"],
            parent_id_tag=event.get("parent_id_tag"),
            expiry_date=event["expiry_date"],
            in_place=in_place,
        )
        self.reserving = (*self.reserving, pending)
        self.record(
            AskHostToReserve(
                pending.request,
                pending.connector_id,
                pending.reservation_id,
                pending.id_tag,
                pending.expiry_date,
            )
        )

    def ask_host_to_replace(self, **event: Any) -> None:
        """The host's reservation port is asked; the reservation is replaced once it agrees."""
        self._ask_host(True, event)

    def ask_host_to_reserve(self, *, reservation_id: int, **event: Any) -> None:
        """A reservation with this id elsewhere ends first; then the host is asked."""
        moving = self._find(reservation_id)
        if moving is not None:
            self.record(Send(Address.reservation(moving), reservation_events.CancelReservation()))
        self._ask_host(False, {**event, "reservation_id": reservation_id})

    def _pending(self, request: int) -> PendingReservation | None:
        return next((p for p in self.reserving if p.request == request), None)

    def host_replaces(self, *, request: int, accepted: bool, **_: Any) -> bool:
        pending = self._pending(request)
        return accepted and pending is not None and pending.in_place

    def host_reserves(self, *, request: int, accepted: bool, **_: Any) -> bool:
        return accepted and self._pending(request) is not None

    def reservation_waits(self, *, request: int, **_: Any) -> bool:
        return self._pending(request) is not None

    def _settle(self, request: int) -> PendingReservation:
        pending = self._pending(request)
        assert pending is not None
        self.reserving = tuple(p for p in self.reserving if p.request != request)
        return pending

    def replace_reservation(self, *, request: int, **_: Any) -> None:
        p = self._settle(request)
        self.record(
            Send(
                Address.reservation(p.connector_id),
                reservation_events.ReserveNow(
                    expiry_date=p.expiry_date, id_tag=p.id_tag, parent_id_tag=p.parent_id_tag
                ),
            )
        )
        self._answer(request, Verdict("Accepted"))

    def make_reservation(self, *, request: int, **_: Any) -> None:
        p = self._settle(request)
        self.record(
            Send(
                Address.reservation(p.connector_id),
                reservation_events.Reserve(
                    reservation_id=p.reservation_id,
                    id_tag=p.id_tag,
                    expiry_date=p.expiry_date,
                    parent_id_tag=p.parent_id_tag,
                ),
            )
        )
        self._answer(request, Verdict("Accepted"))

    def host_refused(self, *, request: int, **_: Any) -> None:
        self._settle(request)
        self._answer(request, Verdict("Rejected", "the host refused it"))

    def holds_reservation(self, *, reservation_id: int, **_: Any) -> bool:
        return self._find(reservation_id) is not None

    def cancel_held_reservation(self, *, reservation_id: int, **_: Any) -> None:
        c = self._find(reservation_id)
        assert c is not None
        self.record(Send(Address.reservation(c), reservation_events.CancelReservation()))
        self.record(Reply(Verdict("Accepted", None, c)))

    # -- power-loss recovery ----------------------------------------------------------------

    def connector_gone(self, *, connector_id: int, **_: Any) -> bool:
        """The interrupted transaction's connector is not one of the station's any more."""
        return not self._known(connector_id)

    def stop_for_power_loss(
        self, *, tx_ref: int, connector_id: int, transaction_id: int | None = None, **_: Any
    ) -> None:
        """Closed with reason PowerLoss: its StopTransaction is queued."""
        self.stops_queued += 1
        self.record(StopForPowerLoss(tx_ref, connector_id, transaction_id))

    def ask_to_resume(
        self,
        *,
        tx_ref: int,
        connector_id: int,
        id_tag: str,
        session_id: str | None = None,
        transaction_id: int | None = None,
        **_: Any,
    ) -> None:
        """The host is asked whether the session goes on."""
        record = OpenTransaction(tx_ref, connector_id, id_tag, session_id, transaction_id)
        self.recovering = (*self.recovering, record)
        self.record(AskToResume(tx_ref, connector_id, session_id))

    def _recovering(self, tx_ref: int) -> OpenTransaction | None:
        return next((r for r in self.recovering if r.tx_ref == tx_ref), None)

    def host_resumes(self, *, tx_ref: int, resumed: bool, **_: Any) -> bool:
        return resumed and self._recovering(tx_ref) is not None

    def resume_awaited(self, *, tx_ref: int, **_: Any) -> bool:
        return self._recovering(tx_ref) is not None

    def last_to_recover(self, *, tx_ref: int, **_: Any) -> bool:
        """Every interrupted transaction was listed and this is the last answer."""
        return self.listed and [r.tx_ref for r in self.recovering] == [tx_ref]

    def _recovered(self, tx_ref: int) -> OpenTransaction:
        record = self._recovering(tx_ref)
        assert record is not None
        self.recovering = tuple(r for r in self.recovering if r.tx_ref != tx_ref)
        return record

    def resume_transaction(self, *, tx_ref: int, **_: Any) -> None:
        """The transaction goes on: its actor takes up the stored record."""
        r = self._recovered(tx_ref)
        self.record(
            Send(
                Address.transaction(r.connector_id),
                transaction_events.Resume(
                    tx_ref=r.tx_ref,
                    id_tag=r.id_tag,
                    session_id=r.session_id,
                    transaction_id=r.transaction_id,
                ),
            )
        )

    def stop_unresumed(self, *, tx_ref: int, **_: Any) -> None:
        r = self._recovered(tx_ref)
        self.stop_for_power_loss(
            tx_ref=r.tx_ref, connector_id=r.connector_id, transaction_id=r.transaction_id
        )

    def nothing_left_to_recover(self, **_: Any) -> bool:
        return not self.recovering

    def note_listed(self, *, stops_queued: int = 0, **_: Any) -> None:
        """Every interrupted transaction is known; StopTransactions from before count."""
        self.listed = True
        self.stops_queued += stops_queued

    def start_service(self, **_: Any) -> None:
        """Running: the host learns which connectors are out of service, the security log
        StartupOfTheDevice, and the link connects (BootNotification follows)."""
        for c, view in enumerate(self.connectors):
            if view.unavailable:
                self.record(HostCommand("disable", c))
        self.record(RaiseSecurityEvent("StartupOfTheDevice"))
        self.record(Send(Address.link(), Connect()))

    # -- the mirror ---------------------------------------------------------------------------

    def _with_transaction(self, event: Mapping[str, Any]) -> tuple[TransactionView, ...]:
        view = TransactionView(
            event["state"],
            event.get("id_tag"),
            event.get("transaction_id"),
            event.get("parent_id_tag"),
        )
        return _put(self.transactions, event["connector_id"], view)

    def _stops_after(self, event: Mapping[str, Any]) -> int:
        """A transaction that reached Stopped has its StopTransaction in the queue."""
        reached = (
            event["state"] == "Stopped" and not self.transactions[event["connector_id"]].stopped
        )
        return self.stops_queued + (1 if reached else 0)

    def quiet_after_transaction(self, **event: Any) -> bool:
        """With this news, no transaction runs and no StopTransaction waits."""
        return self._quiet(self._with_transaction(event), self._stops_after(event))

    def busy_changes(self, **event: Any) -> bool:
        """With this news, whether a transaction runs or waits to start somewhere changes."""
        return self._any_busy(self._with_transaction(event)) != self._any_busy()

    def note_transaction(self, **event: Any) -> None:
        self.stops_queued = self._stops_after(event)
        self.transactions = self._with_transaction(event)

    def tell_firmware(self, **_: Any) -> None:
        """The firmware procedure waits for the transactions, and decides by them."""
        self.record(Send(Address.firmware(), TransactionsChanged(running=self._any_busy())))

    def note_connector(
        self, *, connector_id: int, status: str, in_session: bool = False, **_: Any
    ) -> None:
        self.connectors = _put(self.connectors, connector_id, ConnectorView(status, in_session))

    def charge_point_out_of_service_under_reservations(
        self, *, connector_id: int, status: str, **_: Any
    ) -> bool:
        """Connector 0 (the Charge Point) goes Faulted or Unavailable while reservations wait."""
        return (
            connector_id == 0
            and status in ("Faulted", "Unavailable")
            and any(r.waiting for r in self.reservations)
        )

    def end_waiting_reservations(self, **_: Any) -> None:
        """Each reservation waiting for its identity ends as if its connector were lost
        (spec 5.13: the Charge Point set to Faulted or Unavailable ends them)."""
        for c, reservation in enumerate(self.reservations):
            if reservation.waiting:
                self.record(Send(Address.reservation(c), reservation_events.ConnectorLost()))

    def note_reservation(
        self,
        *,
        connector_id: int,
        state: str,
        reservation_id: int | None = None,
        id_tag: str | None = None,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> None:
        view = ReservationView(state, reservation_id, id_tag, parent_id_tag)
        self.reservations = _put(self.reservations, connector_id, view)

    def quiet_after_stop(self, **_: Any) -> bool:
        return self._quiet(self.transactions, max(self.stops_queued - 1, 0))

    def note_stop_done(self, **_: Any) -> None:
        self.stops_queued = max(self.stops_queued - 1, 0)

    def note_link(self, *, accepted: bool, **_: Any) -> None:
        self.link_accepted = accepted
        self.record(RefreshTransactionInputs())

    def report_every_status(self, **_: Any) -> None:
        """Registered (again): every connector's status goes out, the transactions are
        online."""
        self.record(ReportEveryStatus())
        self.record(RefreshTransactionInputs())

    def confirm_security_profile(self, *, security_profile: int, **_: Any) -> None:
        self.record(ConfirmSecurityProfile(security_profile))
        self.record(
            RaiseSecurityEvent(
                "ReconfigurationOfSecurityParameters", f"SecurityProfile {security_profile}"
            )
        )

    def security_profile_failed(self, *, failed: int, security_profile: int, **_: Any) -> None:
        self.record(SecurityProfileFailed(failed, security_profile))


# -- seeds of the generated paths ----------------------------------------------------------

_EXPIRY = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _seeds(cls: type[StationModel]) -> list[Any]:
    def running(
        *,
        statuses: dict[int, str] | None = None,
        sessions: tuple[int, ...] = (),
        transactions: dict[int, TransactionView] | None = None,
        reservations: dict[int, ReservationView] | None = None,
        link_accepted: bool = True,
        stops_queued: int = 0,
        tokens: tuple[PendingToken, ...] = (),
        reserving: tuple[PendingReservation, ...] = (),
        state: str = "Running",
    ) -> StationModel:
        model = cls(2, statuses=statuses, state=state)
        model.connectors = tuple(
            attrs.evolve(view, in_session=c in sessions) for c, view in enumerate(model.connectors)
        )
        for c, tx in (transactions or {}).items():
            model.transactions = _put(model.transactions, c, tx)
        for c, r in (reservations or {}).items():
            model.reservations = _put(model.reservations, c, r)
        model.link_accepted = link_accepted
        model.stops_queued = stops_queued
        model.tokens = tokens
        model.reserving = reserving
        if state != "Running":
            model.reset_kind = "Soft"
        return model

    at_work: dict[str, Any] = dict(
        statuses={1: "Charging", 2: "Charging"},
        sessions=(1, 2),
        transactions={
            1: TransactionView("Active", "TAG-1", 4711, "FAMILY"),
            2: TransactionView("Stopping", "TAG-2", 4712),
        },
        tokens=(PendingToken(1, "MEMBER", None),),
    )
    reserved: dict[str, Any] = dict(
        statuses={1: "Reserved", 2: "Preparing"},
        reservations={
            0: ReservationView("Reserved", 8, "TAG-0"),
            1: ReservationView("Reserved", 7, "TAG-R", "GROUP"),
        },
        stops_queued=1,
        reserving=(
            PendingReservation(2, 1, 7, "TAG-R", None, _EXPIRY, True),
            PendingReservation(3, 2, 9, "TAG-9", None, _EXPIRY, False),
        ),
    )
    out_of_service: dict[str, Any] = dict(
        statuses={0: "Available", 1: "Faulted", 2: "Unavailable"}, stops_queued=1
    )
    offline: dict[str, Any] = dict(link_accepted=False, stops_queued=1)
    situations: list[dict[str, Any]] = [at_work, reserved, out_of_service, offline]
    recovering = cls(2)
    recovering.recovering = (OpenTransaction(3, 1, "TAG-1", None, 4711),)
    listed = recovering.clone()
    listed.listed = True
    return [
        running(**at_work),
        cls.example(),
        running(),
        *(running(**s) for s in situations[1:]),
        *(running(**s, state="Resetting") for s in situations),
        *(running(**s, state="Rebooting") for s in situations),
        running(
            state="Resetting",
            statuses={1: "Charging"},
            sessions=(1,),
            transactions={1: TransactionView("Active", "TAG-1", 4711)},
        ),
        running(state="Resetting", stops_queued=1),
        running(state="Rebooting"),
        recovering,
        listed,
    ]
