"""The station actor: statecharts/station.yaml, the coordinator of the other actors.

The chart decides every rule that needs the state of more than one actor (the
joint table: a presented idTag, ChangeAvailability, RemoteStart- and
RemoteStopTransaction, Reset, ReserveNow, CancelReservation, power-loss
recovery) from its mirror of the others, which they keep current with their
reports. This actor performs what the chart decides:

- an event for another actor is asked, not only delivered: the station waits
  until that actor handled it, so that its report is in the station's inbox
  before the station's next event (a second idTag finds the first one's
  connector busy);
- a request that may wait (a presented idTag, a ReserveNow) gets a number when
  it is asked; the model keeps the number while it waits for the host's
  reservation port or an Authorize.req, and the Reply naming the number answers
  the ask;
- the Authorizer's knowledge is added to the events that need it (the
  parentIdTag known for an idTag: the list, the cache, this run's answers); a
  parentIdTag that is not known is asked for with Authorize.req when the chart
  says so;
- the host is asked (resume_session, the reservation port, reset), the store
  written (the operative flags, a PowerLoss StopTransaction), security events
  recorded, every connector's status sent after a registration.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import Callable
from typing import Any

import attrs
import trio

from chargebox.actors import meter as metering
from chargebox.actors.actor import Actor, Rejected
from chargebox.actors.connector import Status, StatusReporter, host_command
from chargebox.actors.context import StationContext
from chargebox.actors.messages import Ask, AskFailed
from chargebox.actors.transaction import fit
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, HostCommand, RaiseSecurityEvent, Reply, Send
from chargebox.charts.events import station as events
from chargebox.charts.events.outbox import Enqueued
from chargebox.charts.machine import Outcome
from chargebox.charts.models.station import (
    AskHostToReserve,
    AskToResume,
    ConfirmSecurityProfile,
    LookUpParent,
    PersistAvailability,
    RefreshTransactionInputs,
    ReportEveryStatus,
    SecurityProfileFailed,
    StationModel,
    StopForPowerLoss,
)
from chargebox.errors import StoreWriteError
from chargebox.host import ResetKind
from chargebox.ocpp import codec
from chargebox.ocpp.v16 import MeterValue, Reason, StopTransactionRequest

log = logging.getLogger(__name__)

#: the events to which the actor adds the parentIdTag known for their idTag
_WITH_PARENT = (
    events.TokenPresented,
    events.ContractPresented,
    events.RemoteStart,
    events.RemoteStartConnector,
    events.TransactionChanged,
)


class StationActor(Actor[StationModel]):
    """Runs statecharts/station.yaml for one station.

    `statuses` gives every connector's current status (sent after a registration),
    `refresh_inputs` brings the transactions' inputs up to date (the link, the
    configuration).
    """

    def __init__(
        self,
        ctx: StationContext,
        model: StationModel,
        *,
        authorizer: Any,
        meter: metering.Meter,
        reporter: StatusReporter,
        statuses: Callable[[], list[Status]],
        refresh_inputs: Callable[[], None],
    ) -> None:
        super().__init__(Address.station(), model, clock=ctx.clock, inbox_size=4096)
        self.ctx = ctx
        self.authorizer = authorizer
        self.meter = meter
        self.reporter = reporter
        self.statuses = statuses
        self.refresh_inputs = refresh_inputs
        system = ctx.host.system
        model.reset_port = system is not None and hasattr(system, "reset")
        #: called with (connector, transactionId) when power-loss recovery stops a
        #: transaction (its TxProfiles go with it)
        self.power_loss_stops: list[Callable[[int, int | None], None]] = []
        #: request number -> the ask waiting for its Reply
        self._waiting: dict[int, Ask] = {}
        self._numbers = itertools.count(1)

    # -- events -------------------------------------------------------------------------

    async def _take(self, message: Any) -> Outcome | None:
        if isinstance(message, Ask) and hasattr(message.event, "request"):
            number = next(self._numbers)
            event: Any = message.event
            message.event = attrs.evolve(event, request=number)
            self._waiting[number] = message
        outcome = await super()._take(message)
        if not isinstance(message, Ask):
            self._settle(message, outcome)
        return outcome

    def keeps(self, ask: Ask) -> bool:
        """An ask whose request the model still works on is answered by a later Reply."""
        number: int | None = getattr(ask.event, "request", None)
        if number is None or number not in self._waiting:
            return False
        taken = ask.error is None and ask.outcome is not None and ask.outcome.allowed
        if taken and self.model.awaits(number):
            return True
        del self._waiting[number]
        return False

    def _settle(self, event: Any, outcome: Outcome | None) -> None:
        """A later event of a waiting request left nothing to wait for and no answer (it
        was refused, say): the ask hears what became of it."""
        number: int | None = getattr(event, "request", None)
        ask = self._waiting.get(number) if number is not None else None
        if ask is None or number is None or self.model.awaits(number):
            return
        del self._waiting[number]
        if outcome is not None and not outcome.allowed:
            ask.outcome = outcome
        ask.done.set()

    async def handle(self, message: Any) -> Outcome | None:
        self._keep_inputs()
        if isinstance(message, _WITH_PARENT):
            message = self._with_parent(message)
        return await super().handle(message)

    def _keep_inputs(self) -> None:
        """The configuration keys the chart reads, as they are now."""
        cfg = self.ctx.cfg
        self.model.reserve_connector_zero_supported = bool(
            cfg.get("ReserveConnectorZeroSupported", False)
        )
        self.model.reset_wait = cfg.get("WaitForStopTransactionsOnResetTimeout", 60)

    def _with_parent(self, event: Any) -> Any:
        """The event with the parentIdTag known for its idTag (the list, the cache, or an
        answer of this run), unless it has one or an Authorize.req looked it up."""
        if event.parent_id_tag is not None or event.id_tag is None:
            return event
        if getattr(event, "looked_up", False):
            return event
        parent = self.authorizer.known_parent(event.id_tag)
        return event if parent is None else attrs.evolve(event, parent_id_tag=parent)

    def reply(self, effect: Reply) -> None:
        if effect.request is None:
            super().reply(effect)
            return
        ask = self._waiting.pop(effect.request, None)
        if ask is None:
            return
        ask.reply = effect.value
        if ask is not self._asking:
            ask.done.set()  # the ask being handled is answered once its effects are done

    # -- effects ------------------------------------------------------------------------

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, Send):
            await self._send(effect)
        elif isinstance(effect, LookUpParent):
            self._spawn(self._look_up_parent, effect)
        elif isinstance(effect, AskHostToReserve):
            self._spawn(self._ask_host_to_reserve, effect)
        elif isinstance(effect, PersistAvailability):
            try:
                for c in effect.connector_ids:
                    self.ctx.store.set_operative(c, effect.operative)
            except StoreWriteError as e:
                raise Rejected(e) from e
        elif isinstance(effect, AskToResume):
            self._post(await self._ask_to_resume(effect))
        elif isinstance(effect, StopForPowerLoss):
            await self._stop_for_power_loss(effect)
        elif isinstance(effect, ReportEveryStatus):
            self.reporter.send_all(self.statuses())
        elif isinstance(effect, RefreshTransactionInputs):
            self.refresh_inputs()
        elif isinstance(effect, ConfirmSecurityProfile):
            self.ctx.cfg.confirm_security_profile(effect.security_profile)
        elif isinstance(effect, SecurityProfileFailed):
            log.warning(
                "SecurityProfile %s failed its connection attempt; back to %s",
                effect.failed,
                effect.security_profile,
            )
        elif isinstance(effect, RaiseSecurityEvent):
            self.ctx.security_event(effect.kind, effect.tech_info)
        elif isinstance(effect, HostCommand) and effect.command == "reset":
            self.ctx.spawn(self._reset, ResetKind(effect.params["kind"]), name="Reset")
        elif isinstance(effect, HostCommand):
            await host_command(self.ctx, effect)
        else:
            await super().perform(effect)

    async def _send(self, effect: Send[Any]) -> None:
        """Another actor's event is asked: its report reaches the station's inbox before
        the station's next event. An event for the station itself waits its turn."""
        if effect.to == self.address:
            self._post(effect.event)
            return
        assert self.group is not None
        try:
            await self.group.ask(effect.to, effect.event)
        except AskFailed as failed:
            log.warning("%s", failed)

    def _post(self, event: events.StationEvent) -> None:
        """An event for the station's own chart, after those already in its inbox."""
        try:
            self.inbox.send_nowait(event)
        except trio.WouldBlock:
            self._spawn(self.inbox.send, event)

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(fn, *args)

    async def _look_up_parent(self, effect: LookUpParent) -> None:
        """Authorize.req for the idTag (5.13, 3.5.5); its parentIdTag comes back, if the
        idTag is valid (an invalid one stops no transaction of its group: 3.10)."""
        found = await self.authorizer.authorize(effect.id_tag)
        parent = found.parent_id_tag if found.accepted else None
        await self.inbox.send(events.ParentFound(request=effect.request, parent_id_tag=parent))

    async def _ask_host_to_reserve(self, effect: AskHostToReserve) -> None:
        """The host's reservation port agrees (no port: the engine reserves on its own)."""
        port = self.ctx.host.reservation
        accepted = True
        if port is not None and hasattr(port, "reserve"):
            answer = await self.ctx.host_in_order(
                "reserve",
                lambda: port.reserve(
                    effect.connector_id, effect.reservation_id, effect.id_tag, effect.expiry_date
                ),
            )
            accepted = bool(answer)
        await self.inbox.send(events.HostReserved(request=effect.request, accepted=accepted))

    async def _ask_to_resume(self, effect: AskToResume) -> events.ResumeAnswered:
        resume = getattr(self.ctx.host.system, "resume_session", None)
        resumed = False
        if resume is not None:
            try:
                answer = resume(effect.connector_id, effect.session_id)
                resumed = bool(await answer if inspect.isawaitable(answer) else answer)
            except Exception:
                log.exception("the host failed to say whether a session resumes")
        return events.ResumeAnswered(tx_ref=effect.tx_ref, resumed=resumed)

    async def _stop_for_power_loss(self, effect: StopForPowerLoss) -> None:
        """StopTransaction with reason PowerLoss and the last meter value, into the queue."""
        store = self.ctx.store
        cfg = self.ctx.cfg
        record = store.transaction(effect.tx_ref)
        if record is None:
            log.error("transaction %d is not in the store any more", effect.tx_ref)
            return
        # the highest register the connector reported: a PowerLoss meterStop is never
        # below a reading the Central System has seen
        meter_stop = max(record.last_meter, self.meter.floor(record.connector) or 0)
        end = metering.energy_value(meter_stop, "Transaction.End", record.last_meter_time)
        data = list(record.tx_data)
        kept = metering.filter_wire(
            metering.wire(end), metering.selectors(cfg.get("StopTxnSampledData"))
        )
        if kept is not None:
            data.append(kept)
        message = StopTransactionRequest(
            meter_stop=meter_stop,
            timestamp=record.last_meter_time,
            transaction_id=record.transaction_id or 0,
            reason=Reason.PowerLoss,
            transaction_data=[codec.decode(MeterValue, v) for v in data] or None,
        )
        payload = fit(codec.encode(message), cfg.get("MaxMessageSize", 65000))
        if record.transaction_id is None:
            payload.pop("transactionId", None)
        try:
            store.end_transaction(
                record.ref, record.last_meter_time, "PowerLoss", payload, meter_stop=meter_stop
            )
        except StoreWriteError as e:
            log.error(
                "connector %d: the transaction a power loss interrupted stays open until "
                "the next start: %s",
                record.connector,
                e,
            )
            return
        for stopped in self.power_loss_stops:
            stopped(record.connector, record.transaction_id)
        log.warning(
            "connector %d: transaction interrupted by a power loss; stopped (PowerLoss) at %d Wh",
            record.connector,
            meter_stop,
        )
        assert self.group is not None
        await self.group.deliver(Address.outbox(), Enqueued())

    async def _reset(self, kind: ResetKind) -> None:
        system = self.ctx.host.system
        assert system is not None  # the chart resets only with a system port (reset_port)
        await self.ctx.call_host("reset", system.reset(kind))
