"""Transaction actors (statecharts/transaction.yaml), one per connector.

Each runs the chart of its connector's transactions, one after the other:
the chart's transitions out of Stopped begin the next one with a clean
memory. Its inputs (configuration keys, whether the link is Accepted) come
as SetInputs messages; a change of ConnectionTimeOut or
MeterValueSampleInterval is an event. The
chart decides; this actor performs: it authorizes idTags (Authorizer),
commands the host, and writes StartTransaction, MeterValues and
StopTransaction to the store before the outbox is told, so that nothing the
host reported can be lost. The transactionData of StopTransaction is kept
with the transaction as its meter values go out, filtered by
StopTxnSampledData and StopTxnAlignedData.

When StartTransaction or StopTransaction cannot be written (the disk is
full), the host's event is rejected: the chart goes back to where it was and
the host's call raises StoreWriteError. Sampled meter values that cannot be
queued are sent at once if the link is up (they cannot wait on disk).
meterStart and meterStop never go below the connector's energy register
(chargebox.actors.meter).
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import trio

from chargebox.actors import meter as metering
from chargebox.actors.actor import Actor, Rejected
from chargebox.actors.connector import host_command
from chargebox.actors.context import StationContext
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, HostCommand, SampleMeterValues, SendRequest
from chargebox.charts.events import ChartEvent
from chargebox.charts.events.outbox import Enqueued
from chargebox.charts.events.transaction import (
    AuthorizationAccepted,
    AuthorizationRejected,
    Resume,
    StartAccepted,
    StartRejected,
)
from chargebox.charts.machine import Outcome
from chargebox.charts.models import TransactionModel
from chargebox.charts.models.transaction import SAMPLE, AuthorizeContract, NewTransaction
from chargebox.config import ChargePointConfig
from chargebox.errors import StoreWriteError
from chargebox.host import ContractAuthorization
from chargebox.ocpp import codec
from chargebox.ocpp.timestamps import parse_datetime
from chargebox.ocpp.v16 import (
    MeterValuesRequest,
    StartTransactionRequest,
    StopTransactionRequest,
)

log = logging.getLogger(__name__)

# the transaction messages: stored, then queued for the Central System (the outbox)
_QUEUED = frozenset({"StartTransaction", "StopTransaction"})
# scheduling steps a reading waits for the sample due at the same moment (the timer's
# expiry reaches the actor's inbox and the actor's task takes it: two or three)
_SAMPLE_STEPS = 8
_OUTBOX = Address.outbox()
_ENQUEUED = Enqueued()


def configured_inputs(cfg: ChargePointConfig) -> dict[str, Any]:
    """The inputs of the transaction chart that are configuration keys, as they are now
    (sent to each transaction actor with SetInputs when the configuration changes)."""
    return {
        "authorize_remote_tx_requests": bool(cfg.get("AuthorizeRemoteTxRequests", True)),
        "stop_transaction_on_invalid_id": bool(cfg.get("StopTransactionOnInvalidId", True)),
        "stop_transaction_on_ev_side_disconnect": bool(
            cfg.get("StopTransactionOnEVSideDisconnect", True)
        ),
        "unlock_connector_on_ev_side_disconnect": bool(
            cfg.get("UnlockConnectorOnEVSideDisconnect", True)
        ),
    }


@attrs.frozen
class AuthorizationAnswer:
    """The verdict (AuthorizationAccepted or AuthorizationRejected) of the authorization
    numbered `number`: dropped when the connector no longer waits for that one (its
    session ended before the answer came, or another authorization began)."""

    number: int
    event: ChartEvent


class TransactionActor(Actor[TransactionModel]):
    def __init__(
        self,
        ctx: StationContext,
        connector_id: int,
        authorizer: Any,
        meter: Any,
        contracts: Any = None,
    ) -> None:
        model = TransactionModel(
            connector_id,
            online=ctx.endpoint.accepted,
            connection_timeout=ctx.cfg.connection_timeout,
            meter_value_sample_interval=ctx.cfg.meter_value_sample_interval,
            **configured_inputs(ctx.cfg),
        )
        super().__init__(Address.transaction(connector_id), model, clock=ctx.clock, report=True)
        self.ctx = ctx
        self.connector_id = connector_id
        self.authorizer = authorizer
        #: decides on the contracts EVs present (chargebox.actors.iso15118.ContractAuthorizer)
        self.contracts = contracts
        self.meter = meter
        #: the store's reference of the current transaction (None before it starts)
        self.ref: int | None = None
        #: a Start/StopTransaction was stored by the event being handled: the outbox is
        #: told once the event's effects are done
        self._outbox_to_hear = False
        self._persisted_at = float("-inf")
        #: the energy (Wh) and the station time of the reading the last sample wrote
        self._sampled: tuple[int, Any] | None = None
        #: set when a sample writes a reading the host's call waits to see on disk
        self._reading_written: trio.Event | None = None
        #: the number of the last authorization begun (its answer is the one awaited)
        self._authorization = 0

    @property
    def active(self) -> bool:
        """A transaction runs (started, not yet stopped)."""
        return self.model.active

    @property
    def pending(self) -> bool:
        """An idTag is being authorized or waits for the transaction to start."""
        return self.model.pending

    async def handle(self, message: Any) -> Outcome | None:
        if (
            isinstance(message, StartAccepted | StartRejected)
            and message.tx_ref is not None
            and message.tx_ref != self.ref
        ):
            return None  # the answer for an earlier transaction: the store has its id
        if isinstance(message, AuthorizationAnswer):
            if message.number != self._authorization or not self.model.authorizing:
                log.info(
                    "connector %d: an authorization answered after its session ended: dropped",
                    self.connector_id,
                )
                return None
            message = message.event
        outcome = await super().handle(message)
        if self._outbox_to_hear:
            self._outbox_to_hear = False
            await self._enqueued()
        if isinstance(message, Resume) and outcome is not None and outcome.allowed:
            # the stored record is this transaction's from now on
            self.ref = message.tx_ref
            log.info("connector %d: transaction resumed after restart", self.connector_id)
        return outcome

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, NewTransaction):
            self.ref = None  # the next StartTransaction writes the new record
        elif isinstance(effect, SendRequest) and effect.action == "Authorize":
            assert self._nursery is not None
            ticket = self.ctx.endpoint.reserve()  # Authorize.req keeps its place among our CALLs
            self._authorization += 1
            self._nursery.start_soon(
                self._authorize, effect.payload["id_tag"], ticket, self._authorization
            )
        elif isinstance(effect, AuthorizeContract):
            assert self._nursery is not None
            self._authorization += 1
            self._nursery.start_soon(self._authorize_contract, effect, self._authorization)
        elif isinstance(effect, HostCommand):
            await host_command(self.ctx, effect)
        elif isinstance(effect, SendRequest) and effect.action in _QUEUED:
            try:
                await self._queue(effect)
            except StoreWriteError as e:
                raise Rejected(e) from e
        elif isinstance(effect, SampleMeterValues):
            await self.sample(effect.context)
        else:
            await super().perform(effect)

    async def _authorize(self, id_tag: str, ticket: int, number: int) -> None:
        try:
            outcome = await self.authorizer.authorize(id_tag, ticket=ticket)
        finally:
            self.ctx.endpoint.release(ticket)
        verdict = AuthorizationAccepted() if outcome.accepted else AuthorizationRejected()
        await self.inbox.send(AuthorizationAnswer(number, verdict))

    async def _authorize_contract(self, effect: AuthorizeContract, number: int) -> None:
        """Plug&Charge: the verdict on the contract goes to the ISO 15118 stack first (it
        answers the EV), then to the chart (Accepted authorizes the connector)."""
        try:
            result = await self.contracts.authorize(effect.emaid, effect.certificate, effect.ocsp)
        except Exception as e:
            # the contract is refused, the engine goes on (the transaction chart is Idle again)
            log.exception("connector %d: the contract could not be decided on", self.connector_id)
            result = ContractAuthorization(
                effect.emaid, "Invalid", source="station", reason=f"the engine failed: {e}"
            )
        log.info(
            "connector %d: contract %s: %s (certificate %s; %s)",
            self.connector_id,
            result.emaid,
            result.status,
            result.certificate_status,
            result.reason,
        )
        port = self.ctx.host.iso15118
        tell = getattr(port, "authorization_response", None)
        if tell is not None:
            self.ctx.host_later(
                "tell the ISO 15118 stack the contract's verdict",
                lambda: tell(self.connector_id, result),
            )
        verdict = AuthorizationAccepted() if result.accepted else AuthorizationRejected()
        await self.inbox.send(AuthorizationAnswer(number, verdict))

    # -- the transaction messages -----------------------------------------------------

    async def _queue(self, request: SendRequest) -> None:
        p = dict(request.payload)
        store = self.ctx.store
        c = self.connector_id
        if request.action == "StartTransaction":
            when = parse_datetime(p["timestamp"]) if p.get("timestamp") else self.ctx.clock.now()
            meter_start = self.meter.not_below(c, p["meter_start"], "meterStart")
            message = StartTransactionRequest(
                connector_id=c,
                id_tag=p["id_tag"],
                meter_start=meter_start,
                reservation_id=p.get("reservation_id"),
                timestamp=when,
            )
            begin = metering.energy_value(meter_start, "Transaction.Begin", when)
            # the actor's own record of the transaction changes once the store has it
            self.ref = store.begin_transaction(
                c,
                p["id_tag"],
                meter_start,
                when,
                p.get("reservation_id"),
                self.model.session_id,
                codec.encode(message),
                tx_data=self._for_stop(metering.wire(begin), sampled=True),
            )
        elif request.action == "StopTransaction":
            if self.ref is None:
                log.error("connector %d: a stop without a start", c)
                return
            when = parse_datetime(p["timestamp"]) if p.get("timestamp") else self.ctx.clock.now()
            meter_stop = self.meter.not_below(c, p["meter_stop"], "meterStop")
            end = self._for_stop(
                metering.wire(metering.energy_value(meter_stop, "Transaction.End", when)),
                sampled=True,
            )
            record = store.transaction(self.ref)
            tx_data = (record.tx_data if record is not None else []) + ([end] if end else [])
            message = StopTransactionRequest(
                meter_stop=meter_stop,
                timestamp=when,
                transaction_id=record.transaction_id if record and record.transaction_id else 0,
                reason=p.get("reason"),
                # the idTag the host named, else the one a user presented to stop it
                id_tag=p.get("stop_id_tag"),
            )
            payload = codec.encode(message)
            if tx_data:
                # the kept meter values are wire forms the codec made (and checked) as each
                # was sampled: put in as they are, rather than decoded and encoded again
                # (a day of samples is some 1,500); the outbox checks the whole message
                # against the schema again on its way out
                payload["transactionData"] = list(tx_data)
            payload = fit(payload, self.ctx.cfg.get("MaxMessageSize", 65000))
            if record is None or record.transaction_id is None:
                payload.pop("transactionId", None)  # filled in by the store once it is known
            store.end_transaction(
                self.ref, when, p.get("reason"), payload, meter_stop=meter_stop, tx_data=end
            )
        else:
            log.error("unexpected queued request %s", request.action)
            return
        # the outbox hears of it once the transition's other effects are done (the
        # connector's Finishing goes before the StopTransaction)
        self._outbox_to_hear = True

    async def _enqueued(self, *, last: bool = False) -> None:
        """Tell the outbox a message was stored (its chart keeps the queue within
        MessageQueueSizeThreshold as it takes the message in).

        `last`: the last thing the event's handling does, and nobody waits for the
        outbox to have taken the message in (a sample's MeterValues, not a host's
        Start/StopTransaction): queued with no task switch of its own when the outbox's
        inbox has room; the outbox's task starts once this one has finished the event.
        """
        assert self.group is not None
        if not (last and self.group.post(_OUTBOX, _ENQUEUED)):
            await self.group.deliver(_OUTBOX, _ENQUEUED)

    def _for_stop(self, meter_value: dict[str, Any], *, sampled: bool) -> dict[str, Any] | None:
        """What StopTransaction.transactionData keeps of a meter value (StopTxn*Data)."""
        key = "StopTxnSampledData" if sampled else "StopTxnAlignedData"
        return metering.filter_wire(meter_value, metering.selectors(self.ctx.cfg.get(key)))

    def _energy_now(self, now: Any = None) -> tuple[int, Any]:
        """The energy register (Wh) and the station time `now` (read now when not given)."""
        energy = self.meter.energy(self.connector_id)
        if energy is None and self.ref is not None:
            record = self.ctx.store.transaction(self.ref)
            energy = record.last_meter if record is not None else 0
        return (energy or 0), (self.ctx.clock.now() if now is None else now)

    async def sample(self, context: str, aligned: bool = False) -> None:
        """MeterValues of this connector now (sampled, clock-aligned or triggered).

        In a transaction, the StopTxn*Data measurands are read at the same moment,
        independently of MeterValues*Data (spec 3.16.1, 9.1.25, 9.1.27): a measurand may
        be kept for StopTransaction without being sent in MeterValues, and the reverse.
        """
        key = "MeterValuesAlignedData" if aligned else "MeterValuesSampledData"
        now = self.ctx.clock.now()
        # in a transaction the register these values carry is reported once they are
        # stored: the commit that keeps them raises it, so the store has nothing to add
        in_transaction = self.active and self.ref is not None
        sent = metering.selectors(self.ctx.cfg.get(key))
        value = self.meter.meter_value(
            self.connector_id, sent, context, now, report=not in_transaction
        )
        if in_transaction:
            assert self.ref is not None
            stop_key = "StopTxnAlignedData" if aligned else "StopTxnSampledData"
            stop = metering.selectors(self.ctx.cfg.get(stop_key))
            # what StopTxn*Data keeps is a part of the MeterValue when its list is a part of
            # MeterValues*Data's (as usual): taken from its wire form rather than built again
            from_value = metering.selects_part(stop, sent)
            kept = (
                None
                if from_value
                else self.meter.meter_value(self.connector_id, stop, context, now, report=False)
            )
            store = self.ctx.store
            kept_wire = metering.wire(kept) if kept is not None else None
            request = None
            try:
                if value is None:
                    if kept_wire is not None:
                        store.record_meter(self.ref, *self._energy_now(), kept_wire)
                    return
                request = MeterValuesRequest(
                    connector_id=self.connector_id,
                    transaction_id=store.transaction_id_of(self.ref),
                    meter_value=[value],
                )
                reading = self._energy_now(now)  # (read at the moment of the values)
                payload = codec.encode(request)
                if from_value:
                    kept_wire = metering.filter_wire(payload["meterValue"][0], stop)
                store.queue_meter_values(self.ref, payload, reading, kept_wire)
                self._sampled = reading
                if self._reading_written is not None:
                    self._reading_written.set()
            except StoreWriteError as e:
                if request is None:
                    log.warning("connector %d: %s", self.connector_id, e)
                    return
                # it cannot wait on disk: now, if the link is up, or not at all
                log.warning("connector %d: %s; sent without queuing", self.connector_id, e)
                self.ctx.spawn(self._send_direct, request, name="MeterValues")
                return
            finally:
                # both were read at the same moment: the register either carries is told once
                reported = [
                    *(value.sampled_value if value is not None else ()),
                    *(kept.sampled_value if kept is not None else ()),
                ]
                self.meter.report(self.connector_id, reported)
            await self._enqueued(last=True)
        elif value is None:
            return
        else:
            request = MeterValuesRequest(connector_id=self.connector_id, meter_value=[value])
            self.ctx.spawn(self._send_direct, request, name="MeterValues")

    async def _send_direct(self, request: MeterValuesRequest) -> None:
        from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Offline

        try:
            await self.ctx.endpoint.call(request)
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.info("MeterValues of connector %d not delivered: %s", self.connector_id, e)

    async def record_energy(self) -> None:
        """The host reported readings during a transaction: keep the last energy (PowerLoss).

        Written before the handle call returns (Options.meter_persist_interval 0, the
        default); a host that reports many readings a second may allow an interval to
        spare its flash, and after a power cut meterStop is then at most that old.

        A reading that comes at the very moment of a sample (MeterValueSampleInterval
        due, its MeterValues not yet queued) is written by that sample, with its
        MeterValues, in one synced commit instead of two: the call returns once that
        commit is done. If the sample does not come within a few scheduling steps,
        or writes another reading, the reading is written on its own as always.
        """
        if not self.active or self.ref is None:
            return
        energy = self.meter.energy(self.connector_id)
        now = trio.current_time()
        if energy is None or now - self._persisted_at < self.ctx.options.meter_persist_interval:
            return
        when = self.ctx.clock.now()
        if self._sample_due():
            self._reading_written = written = trio.Event()
            try:
                for _ in range(_SAMPLE_STEPS):
                    await trio.lowlevel.checkpoint()
                    if written.is_set():
                        break
            finally:
                self._reading_written = None
            if written.is_set() and self._sampled == (energy, when):
                self._persisted_at = now
                return
        try:
            self.ctx.store.record_meter(self.ref, energy, when, None)
        except StoreWriteError as e:
            # the reading is used all the same; only its copy for a power cut is missing
            log.debug("connector %d: %s", self.connector_id, e)
            return
        self._persisted_at = now

    def _sample_due(self) -> bool:
        """The MeterValueSampleInterval sample is due now and not yet taken."""
        timer = self._timers.get(SAMPLE)
        return timer is not None and timer.deadline <= trio.current_time()


def fit(payload: dict[str, Any], max_size: int) -> dict[str, Any]:
    """A StopTransaction payload within MaxMessageSize: transactionData thinned, oldest kept.

    Every other meter value goes (the first and the last stay) until the message
    fits; when even that is too big, transactionData goes entirely.
    """
    import orjson

    def size(p: dict[str, Any]) -> int:
        return len(orjson.dumps([2, "x" * 36, "StopTransaction", p]))

    data = payload.get("transactionData")
    while data and size(payload) > max_size:
        if len(data) <= 2:
            payload.pop("transactionData")
            break
        data = [data[0], *data[1:-1][1::2], data[-1]] if len(data) > 3 else [data[0], data[-1]]
        payload["transactionData"] = data
    return payload
