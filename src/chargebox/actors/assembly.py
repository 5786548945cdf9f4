"""Every actor of one station, built from its context: what the station runs and the
features are handed.

`Actors(ctx)` builds them before they run: the station's coordinator (its
mirror of the others as they start), connector 0 and the connectors with
the availability the store keeps, one transaction actor per connector, the
link, the outbox, a reservation actor per connector and one for connector 0,
the firmware, diagnostics, log and signing procedures, Plug&Charge's V2G
certificate (its signing, its OCSP refresh and renewal check); and what they
share: the Authorizer and the ContractAuthorizer (Plug&Charge), the meter
(whose registers the store keeps as floors) and the StatusReporter.
`restore()` gives them what the store kept for them (the reservations held
before a restart). Once `start` has run them in a group,
they are reached by typed address (chargebox.charts.addresses) through
`deliver`, `ask`, `set_inputs`, `settle` and `wait_until`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from chargebox.actors import meter as metering
from chargebox.actors.actor import Actor
from chargebox.actors.authorization import Authorizer
from chargebox.actors.connector import ConnectorActor, Status, StatusReporter
from chargebox.actors.context import StationContext
from chargebox.actors.firmware import FirmwareActor
from chargebox.actors.iso15118 import ContractAuthorizer
from chargebox.actors.link import LinkActor
from chargebox.actors.messages import Answer
from chargebox.actors.outbox import OutboxActor
from chargebox.actors.reservation import ReservationActor, restore_reservations
from chargebox.actors.signing import SigningActor, V2gSigningActor
from chargebox.actors.station import StationActor
from chargebox.actors.supervision import ActorGroup
from chargebox.actors.transaction import TransactionActor, configured_inputs
from chargebox.actors.transfer import DiagnosticsActor, LogActor
from chargebox.actors.v2g import V2gActor
from chargebox.charts.addresses import Address
from chargebox.charts.events import ChartEvent
from chargebox.charts.models import Connector0Model, ConnectorModel, StationModel

E = TypeVar("E", bound=ChartEvent)

#: (chart, chart): which actor may ask which while it handles a message (an ask waits
#: until the other handled the event). A partial order, so that no two actors wait for
#: each other: the station's coordinator asks the actors whose state it decides on, a
#: transaction asks its connector (Finishing before the StopTransaction goes); connectors,
#: reservations, the link, the outbox and the procedures ask nobody.
ASK_ORDER: frozenset[tuple[str, str]] = frozenset(
    {
        ("station", "connector0"),
        ("station", "connector"),
        ("station", "transaction"),
        ("station", "reservation"),
        ("station", "link"),
        ("station", "firmware"),
        ("transaction", "connector"),
    }
)


class Actors:
    """The actors of one station (connector ids start at 1; 0 is the Charge Point)."""

    def __init__(self, ctx: StationContext) -> None:
        self.ctx = ctx
        store = ctx.store
        floors = store.registers()
        for record in store.open_transactions():
            # a store written before it kept registers: the transactions' readings
            floors[record.connector] = max(floors.get(record.connector, 0), record.last_meter)
        #: the register of each connector the store has (written when a higher one goes out)
        self._reported_registers = dict(floors)
        self.meter = metering.Meter(floors, on_reported=self._register_reported)
        self.authorizer = Authorizer(ctx)
        #: decides on the contracts EVs present (Plug&Charge)
        self.contracts = ContractAuthorizer(ctx, self.authorizer)
        n = ctx.cfg.number_of_connectors
        self.reporter = StatusReporter(ctx, range(0, n + 1))
        inoperative = store.inoperative_connectors()
        station_down = 0 in inoperative
        self.connector0 = ConnectorActor(
            ctx,
            Connector0Model(state="Unavailable" if station_down else None),
            self.reporter,
        )
        self.connectors: dict[int, ConnectorActor] = {
            c: ConnectorActor(
                ctx,
                ConnectorModel(
                    c, state="Unavailable" if station_down or c in inoperative else None
                ),
                self.reporter,
            )
            for c in range(1, n + 1)
        }
        self.transactions: dict[int, TransactionActor] = {
            c: TransactionActor(ctx, c, self.authorizer, self.meter, self.contracts)
            for c in range(1, n + 1)
        }
        self.link = LinkActor(ctx)
        self.outbox = OutboxActor(ctx, self.authorizer)
        #: connector id -> its reservation actor (0: the reservation for any connector)
        self.reservations: dict[int, ReservationActor] = {
            c: ReservationActor(ctx, c) for c in range(0, n + 1)
        }
        self.firmware = FirmwareActor(ctx)
        self.diagnostics = DiagnosticsActor(ctx)
        self.log = LogActor(ctx)
        self.signing = SigningActor(ctx)
        #: the coordinator (statecharts/station.yaml), mirroring the others as they start
        self.station = StationActor(
            ctx,
            StationModel(
                n,
                statuses={c.connector_id: c.model.state for c in self._connector_actors()},
            ),
            authorizer=self.authorizer,
            meter=self.meter,
            reporter=self.reporter,
            statuses=self.statuses,
            refresh_inputs=self.refresh_transaction_inputs,
        )
        #: Plug&Charge: the V2G certificate's signing, its OCSP refresh and renewal check
        self.v2g_signing = V2gSigningActor(ctx)
        self.v2g = V2gActor(ctx, self.v2g_signing)
        #: the group they run in, once started
        self.group: ActorGroup | None = None

    def _connector_actors(self) -> list[ConnectorActor]:
        return [self.connector0, *self.connectors.values()]

    def restore(self) -> None:
        """What the store kept for the actors: the reservations are held again."""
        restore_reservations(self.ctx, self.reservations)

    def all(self) -> list[Actor[Any]]:
        """Every actor, in the order they start (the station first: the others report to it;
        the link last: it connects once told to)."""
        return [
            self.station,
            self.connector0,
            *self.connectors.values(),
            *self.transactions.values(),
            *self.reservations.values(),
            self.firmware,
            self.diagnostics,
            self.log,
            self.signing,
            self.v2g_signing,
            self.v2g,
            self.outbox,
            self.link,
        ]

    async def start(self, group: ActorGroup) -> None:
        """Run every actor in `group`; returns once each is ready to receive."""
        self.group = group
        for actor in self.all():
            await group.start(actor)

    # -- reaching them ------------------------------------------------------------------

    async def deliver(self, address: Address[E], event: E) -> None:
        """Put `event` into the inbox of the actor at `address`."""
        assert self.group is not None
        await self.group.deliver(address, event)

    async def ask(self, address: Address[E], event: E) -> Answer:
        """Deliver `event` and wait for what became of it (ActorGroup.ask).

        A request to the station's coordinator first waits until the actors that report
        to it are quiet (`quiet`): its mirror then holds every change they made before
        the request, and it decides on the states the caller has seen.
        """
        assert self.group is not None
        if address == Address.station():
            await self.quiet()
        return await self.group.ask(address, event)

    #: rounds of `quiet` at the most (a change travels transaction -> reservation ->
    #: connector: each round takes it at least one actor further)
    QUIET_ROUNDS = 4

    async def quiet(self) -> None:
        """Wait until the connectors, transactions and reservations handled everything sent
        to them, the messages they send one another included (a bounded number of rounds),
        so that their reports to the station are in its inbox."""
        assert self.group is not None
        reporting = [
            *self._connector_actors(),
            *self.transactions.values(),
            *self.reservations.values(),
        ]
        for _ in range(self.QUIET_ROUNDS):
            for actor in reporting:
                await self.group.settle(actor.address)
            if not any(self.group.waiting(actor.address) for actor in reporting):
                return

    async def set_inputs(self, address: Address[Any], values: Mapping[str, Any]) -> None:
        """Change inputs of the chart of the actor at `address` (ActorGroup.set_inputs)."""
        assert self.group is not None
        await self.group.set_inputs(address, values)

    async def settle(self, address: Address[Any]) -> None:
        """Wait until the actor at `address` handled everything sent to it so far."""
        assert self.group is not None
        await self.group.settle(address)

    async def wait_until(self, predicate: Callable[[], Any]) -> Any:
        """Wait until `predicate()` is truthy, checked after every message an actor handled."""
        assert self.group is not None
        return await self.group.wait_until(predicate)

    # -- what the station actor is handed --------------------------------------------------

    #: StatusNotification.info of connector 0 while the store cannot be written
    STORE_FAILURE_INFO = "data store cannot be written"

    def connector0_status(self) -> Status:
        """Connector 0's status; InternalError while the store cannot be written."""
        status = self.connector0.status()
        if self.ctx.store.failure is None:
            return status
        return attrs.evolve(status, error_code="InternalError", info=self.STORE_FAILURE_INFO)

    def statuses(self) -> list[Status]:
        """Every connector's current status, connector 0 first."""
        return [self.connector0_status()] + [c.status() for c in self.connectors.values()]

    def refresh_transaction_inputs(self) -> None:
        """The transactions' inputs follow the link (online) and the configuration: SetInputs
        to each, from a task of its own, so that the station's actor takes its next event
        at once (the StatusNotifications of a registration keep their places before the
        queued messages). The values are read as each is told: the last word is the latest."""

        async def tell() -> None:
            for c in self.transactions:
                values = {"online": self.ctx.endpoint.accepted, **configured_inputs(self.ctx.cfg)}
                await self.set_inputs(Address.transaction(c), values)

        self.ctx.spawn(tell, name="transaction inputs")

    # -- the meter's registers ----------------------------------------------------------

    def _register_reported(self, connector: int, wh: int) -> None:
        """A MeterValue carries the connector's energy register: the store keeps the highest."""
        floor = self._reported_registers.get(connector)
        if floor is not None and wh <= floor:
            return
        self._reported_registers[connector] = wh
        self.ctx.store.note_register(connector, wh)
